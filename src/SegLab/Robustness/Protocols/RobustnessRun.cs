// A protocol over a list of images of a dataset, image by image: each result is appended to a resume state
// written atomically after every image (AutoAttack's state.py idea), and the first few images keep their strongest
// adversarial example (at the largest radius) for the report. Used by `seglab attack` and `seglab demo`.
using SegLab.Data;

namespace SegLab.Robustness.Protocols;

/// <summary>Progress of a run: images done, the image under attack and, within it, the attack's progress.</summary>
/// <param name="ImagesDone">Images finished (resumed ones included).</param>
/// <param name="ImagesTotal">Images in the run.</param>
/// <param name="Id">The image under attack, or null when the run is over.</param>
/// <param name="Attack">Progress inside the current image, or null between images.</param>
public sealed record RobustnessRunProgress(int ImagesDone, int ImagesTotal, string? Id, ProtocolProgress? Attack);

/// <summary>Runs a protocol over dataset images with a resume state.</summary>
public static class RobustnessRun
{
    /// <summary>
    /// Attacks every image of <paramref name="ids"/> not already in <paramref name="done"/>, appending results to it
    /// and saving the state after each image; returns the examples kept for the report.
    /// </summary>
    /// <param name="dataset">Where the images are.</param>
    /// <param name="ids">The images, in order.</param>
    /// <param name="evaluator">The protocol and model.</param>
    /// <param name="done">Results so far (from a resumed state); new results are appended.</param>
    /// <param name="statePath">The resume state file, or null for none.</param>
    /// <param name="fingerprint">Identifies the settings in the state file.</param>
    /// <param name="exampleImages">How many of the attacked images keep an example.</param>
    /// <param name="progress">Progress, or null.</param>
    public static List<RobustnessExample> Run(ISegmentationDataset dataset, IReadOnlyList<string> ids, RobustnessEvaluator evaluator,
        List<ImageRobustness> done, string? statePath, string fingerprint, int exampleImages = 3, IProgress<RobustnessRunProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(done);
        var index = Enumerable.Range(0, dataset.Count).ToDictionary(dataset.Id, i => i, StringComparer.Ordinal);
        var finished = done.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var examples = new List<RobustnessExample>();
        double maxEps = evaluator.Eps.Max();
        int count = finished.Count(ids.Contains);
        foreach (var id in ids.Where(id => !finished.Contains(id)))
        {
            if (!index.TryGetValue(id, out int i)) throw new ArgumentException($"robustness: no image named {id} in {dataset.Root} split {dataset.Split}.");
            var sample = dataset.Load(i);
            var label = sample.Label ?? throw new DatasetException($"{sample.ImagePath}: image {id} has no label; attacks need labels.", sample.ImagePath);
            progress?.Report(new RobustnessRunProgress(count, ids.Count, id, null));
            var adversarial = new Dictionary<string, float[]>();
            bool keep = examples.Count < exampleImages;
            var sink = progress is null ? null : new Relay<ProtocolProgress>(p => progress.Report(new RobustnessRunProgress(count, ids.Count, id, p)));
            var result = evaluator.Evaluate(id, sample.Image, label, sample.Height, sample.Width, sink,
                (e, name, adv) => { if (keep && e == maxEps) adversarial[name] = adv; });
            done.Add(result);
            if (keep) examples.Add(Example(evaluator, sample, label, result, maxEps, adversarial));
            if (statePath is not null) RobustnessJson.SaveState(statePath, new RobustnessState(fingerprint, done));
            count++;
        }
        progress?.Report(new RobustnessRunProgress(count, ids.Count, null, null));
        return examples;
    }

    // The strongest attack on one image at the largest radius (an attack even when the clean image is the worst case), with predictions.
    private static RobustnessExample Example(RobustnessEvaluator ev, SegmentationSample sample, int[] label, ImageRobustness result, double eps, Dictionary<string, float[]> adversarial)
    {
        var attacks = result.At(eps).Attacks;
        int best = WorstCase.Strongest(attacks.Select(a => a.Counts).ToArray(), ev.Protocol.Selection);
        var adv = adversarial[attacks[best].Attack];
        int h = sample.Height, w = sample.Width;
        var cleanPred = ev.Model.Predict(ev.Model.Logits(sample.Image, 1, h, w), 1, h * w);
        var advPred = ev.Model.Predict(ev.Model.Logits(adv, 1, h, w), 1, h * w);
        return new RobustnessExample(sample.Id, w, h, eps, attacks[best].Attack, sample.Image, adv, label, cleanPred, advPred);
    }

    private sealed class Relay<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
