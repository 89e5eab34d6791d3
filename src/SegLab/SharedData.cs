// Where the shared, read-only data lives: datasets, pretrained models, references. Never copied into the
// repository. Found exactly as the README says and nowhere else: SEGLAB_SHARED when it is set, otherwise
// ../shared beside the repository (the folder holding SegLab.slnx) that this build of SegLab comes from.
namespace SegLab;

/// <summary>Locates the shared data folder.</summary>
public static class SharedData
{
    /// <summary>The environment variable that names the shared folder.</summary>
    public const string Variable = "SEGLAB_SHARED";

    private static readonly Lazy<SharedDataLocation> Located = new(() => Locate(
        Environment.GetEnvironmentVariable(Variable), AppContext.BaseDirectory));

    /// <summary>The shared folder, or null when it cannot be found.</summary>
    public static string? Root => Located.Value.Root;

    /// <summary>Where the shared folder was looked for and what was found (for `seglab info` and error messages).</summary>
    public static SharedDataLocation Location => Located.Value;

    /// <summary>Full path of <paramref name="relative"/> inside the shared folder, or an error saying how to provide it.</summary>
    /// <param name="relative">Path inside the shared folder, e.g. "models/cgnet-camvid/x.safetensors".</param>
    public static string Resolve(string relative)
    {
        var root = Root ?? throw new FileNotFoundException($"The shared data folder was not found ({Location.Explanation}), so '{relative}' is unavailable. Set {Variable} to its path.");
        var path = Path.Combine(root, relative);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"'{relative}' is not in the shared data folder '{root}'.", path);
        return path;
    }

    /// <summary>
    /// The documented rule: <paramref name="variable"/> when set (null if that folder does not exist), else
    /// ../shared beside the nearest folder above <paramref name="binaryDir"/> that holds SegLab.slnx.
    /// </summary>
    /// <param name="variable">Value of SEGLAB_SHARED, or null.</param>
    /// <param name="binaryDir">Folder of the running binary.</param>
    public static SharedDataLocation Locate(string? variable, string binaryDir)
    {
        if (!string.IsNullOrEmpty(variable))
        {
            var full = Path.GetFullPath(variable);
            return Directory.Exists(full)
                ? new SharedDataLocation(full, $"{Variable}={variable}")
                : new SharedDataLocation(null, $"{Variable}={variable} does not exist");
        }
        for (var dir = new DirectoryInfo(binaryDir); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "SegLab.slnx"))) continue;
            var candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
            return Directory.Exists(candidate)
                ? new SharedDataLocation(candidate, $"../shared beside the repository {dir.FullName}")
                : new SharedDataLocation(null, $"no ../shared beside the repository {dir.FullName}, and {Variable} is not set");
        }
        return new SharedDataLocation(null, $"{Variable} is not set and this build ({binaryDir}) is not inside a SegLab repository");
    }
}

/// <summary>The outcome of looking for the shared folder.</summary>
/// <param name="Root">The folder, or null.</param>
/// <param name="Explanation">Which rule found it, or why nothing was found.</param>
public sealed record SharedDataLocation(string? Root, string Explanation);
