// The folders and completion rules of `seglab weak run` (WeakConfig): every stage writes into its own folder under
// the pipeline folder and counts as finished only when its last file says so, so that a rerun skips finished stages
// and resumes the unfinished one (each stage resumes itself: the classifier from its checkpoint, CAMs and
// refinement per image, the segmenter from its checkpoint).
using System.Text.Json;

namespace SegLab.Weak;

/// <summary>Folders and completion checks of the weak pipeline.</summary>
public static class WeakPipeline
{
    /// <summary>The folder (or file, for tags) a stage writes under <paramref name="root"/>.</summary>
    public static string PathOf(string root, string stage) => stage == "tags" ? Path.Combine(root, "tags.json") : Path.Combine(root, stage);

    /// <summary>Whether <paramref name="stage"/> finished for a training set of <paramref name="images"/> images.</summary>
    public static bool IsDone(string root, string stage, int images)
    {
        string p = PathOf(root, stage);
        return stage switch
        {
            "tags" => File.Exists(p),
            "classifier" => File.Exists(Path.Combine(p, TagTrainer.SummaryFile)) && File.Exists(Path.Combine(p, "model.safetensors")),
            "cam" => Count(Path.Combine(p, CamRunResult.FileName)) == images,
            "affinity" => File.Exists(Path.Combine(p, AffinityTrainer.SummaryFile)) && File.Exists(Path.Combine(p, "model.safetensors")),
            "refine" => Count(Path.Combine(p, RefineResult.FileName)) == images,
            "pseudo" => File.Exists(Path.Combine(p, "classes.json")),
            "train" => File.Exists(Path.Combine(p, "summary.json")),
            _ => throw new ArgumentException($"unknown weak stage '{stage}'."),
        };
    }

    /// <summary>
    /// The stage whose output the first listed stage reads, when that output is missing: a message naming the folder,
    /// or null when the chain can start. <paramref name="file"/> names the config in the message.
    /// </summary>
    public static string? MissingInput(WeakConfig config, string root, int images, string file)
    {
        if (config.Refine.LearnedAffinity && config.Stages.Contains("refine") && !config.Stages.Contains("affinity") && !IsDone(root, "affinity", images))
            return $"{file}: weak.refine.affinity is learned, but the affinity stage has not finished in {PathOf(root, "affinity")}; add 'affinity' to weak.stages";
        var first = config.Stages[0];
        int i = Array.IndexOf(WeakConfig.Order, first);
        if (i <= 1) return null; // the classifier takes its own tags: tags.json is a report, not an input
        // refine is optional: pseudo reads refine's masks when refine ran (or is listed), else the CAM masks.
        string need = first == "pseudo" && !IsDone(root, "refine", images) ? "cam" : first is "refine" or "affinity" ? "cam" : WeakConfig.Order[i - 1];
        if (first == "train") need = "pseudo";
        if (IsDone(root, need, images)) return null;
        return $"{file}: weak.stages starts at '{first}', but its input stage '{need}' has not finished in {PathOf(root, need)}; add '{need}' to weak.stages";
    }

    private static int Count(string json)
    {
        if (!File.Exists(json)) return -1;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        return doc.RootElement.TryGetProperty("images", out var v) ? v.GetInt32() : -1;
    }
}
