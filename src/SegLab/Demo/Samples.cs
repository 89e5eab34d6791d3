// The demo's embedded default: five CamVid val images with labels and CGNet's weights (samples/README.md), copied
// beside the seglab binary at build time; found there, or in the repository's samples/ folder when run from sources.
namespace SegLab.Demo;

/// <summary>Locates the demo samples.</summary>
public static class Samples
{
    /// <summary>The model the samples carry weights for.</summary>
    public const string Model = "cgnet-camvid";

    /// <summary>The samples folder, or an error saying where it was looked for.</summary>
    public static string Root() => TryRoot(out var candidates)
        ?? throw new DirectoryNotFoundException($"The demo samples were not found (looked in samples/ above the current folder and in {candidates[^1]}); rebuild seglab from a complete checkout.");

    /// <summary>The shipped weights file named <paramref name="fileName"/> (samples/models/), or null.</summary>
    /// <param name="fileName">File name of a model table entry's pretrained weights.</param>
    public static string? TryWeights(string fileName)
    {
        if (TryRoot(out _) is not { } root) return null;
        var path = Path.Combine(root, "models", Path.GetFileName(fileName));
        return File.Exists(path) ? path : null;
    }

    private static string? TryRoot(out List<string> candidates)
    {
        // The repository's samples/ above the current folder first (the path a user recognises), then the copy beside the binary.
        candidates = [];
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            candidates.Add(Path.Combine(dir.FullName, "samples"));
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "samples"));
        foreach (var c in candidates)
            if (File.Exists(Path.Combine(c, "models", WeightsFileName)) && Directory.Exists(Path.Combine(c, "camvid", "val")))
                return c;
        return null;
    }

    /// <summary>The CamVid-layout folder of the sample images.</summary>
    public static string CamVid() => Path.Combine(Root(), "camvid");

    /// <summary>The sample model's weights.</summary>
    public static string Weights() => Path.Combine(Root(), "models", WeightsFileName);

    private const string WeightsFileName = "cgnet_m3n21_camvid.safetensors";
}
