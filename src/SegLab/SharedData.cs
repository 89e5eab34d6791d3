// Where the shared, read-only data lives (../shared beside the repository): datasets, pretrained models,
// references. Never copied into the repository; found by walking up, or named by SEGLAB_SHARED.
namespace SegLab;

/// <summary>Locates the shared data folder.</summary>
public static class SharedData
{
    /// <summary>The shared folder, or null when it cannot be found.</summary>
    public static string? Root { get; } = Find();

    /// <summary>Full path of <paramref name="relative"/> inside the shared folder, or an error saying how to provide it.</summary>
    /// <param name="relative">Path inside the shared folder, e.g. "models/cgnet-camvid/x.safetensors".</param>
    public static string Resolve(string relative)
    {
        if (Root is null)
            throw new FileNotFoundException($"The shared data folder (../shared beside the repository) was not found, so '{relative}' is unavailable. Set SEGLAB_SHARED to its path.");
        var path = Path.Combine(Root, relative);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"'{relative}' is not in the shared data folder '{Root}'.", path);
        return path;
    }

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("SEGLAB_SHARED");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared"), Path.Combine(dir.FullName, "..", "shared") })
                    if (Directory.Exists(Path.Combine(candidate, "models")) || Directory.Exists(Path.Combine(candidate, "data")))
                        return Path.GetFullPath(candidate);
            }
        }
        return null;
    }
}
