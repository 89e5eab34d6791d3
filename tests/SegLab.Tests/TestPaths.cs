using System.Runtime.CompilerServices;

namespace SegLab.Tests;

/// <summary>Paths of test inputs: committed fixtures beside the sources, and the shared data folder.</summary>
internal static class TestPaths
{
    /// <summary>This test project's source folder (fixtures live under it).</summary>
    public static string SourceDir() => Path.GetDirectoryName(Here())!;

    /// <summary>The shared data folder, or null (then data tests return early with a message).</summary>
    public static string? Shared { get; } = SharedData.Root ?? FromSources();

    /// <summary>../shared beside the repository that holds these sources (for builds whose output lies elsewhere).</summary>
    private static string? FromSources()
    {
        for (var dir = new DirectoryInfo(SourceDir()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared");
            if (File.Exists(Path.Combine(dir.FullName, "SegLab.slnx")) && Directory.Exists(Path.Combine(candidate, "models")))
                return Path.GetFullPath(candidate);
        }
        return null;
    }

    private static string Here([CallerFilePath] string file = "") => file;
}
