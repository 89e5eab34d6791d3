using System.Runtime.CompilerServices;

namespace SegLab.Tests;

/// <summary>Paths of test inputs: committed fixtures beside the sources, and the shared data folder.</summary>
internal static class TestPaths
{
    /// <summary>This test project's source folder (fixtures live under it).</summary>
    public static string SourceDir() => Path.GetDirectoryName(Here())!;

    /// <summary>The shared data folder as SegLab finds it (SEGLAB_SHARED, else ../shared beside the repository), or null: then data tests report as skipped.</summary>
    public static string? Shared => SharedData.Root;

    /// <summary>Skips the calling test (it shows as skipped, not passed) where the shared folder is absent; else its path.</summary>
    /// <param name="what">What the test needs from it, for the skip message.</param>
    public static string RequireShared(string what)
    {
        Skip.If(Shared is null, $"needs the shared data folder ({SharedData.Location.Explanation}) for {what}");
        return Shared!;
    }

    private static string Here([CallerFilePath] string file = "") => file;
}
