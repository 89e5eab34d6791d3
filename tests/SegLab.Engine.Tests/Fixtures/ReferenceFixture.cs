// Committed PyTorch golden fixtures (tools/*_reference.py): JSON files under Fixtures/<family>/, read from the
// source tree (the folder holding SegLab.slnx, or this file's folder when the build output lives elsewhere).
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace SegLab.Engine.Tests;

internal static class ReferenceFixture
{
    /// <summary>The "cases" array of Fixtures/<paramref name="family"/>/<paramref name="family"/>_reference.json.</summary>
    public static JsonElement[] Cases(string family)
    {
        string rel = Path.Combine("tests", "SegLab.Engine.Tests", "Fixtures", family, family + "_reference.json");
        string root = FindRoot(AppContext.BaseDirectory) ?? FindRoot(SourceDirectory())
            ?? throw new DirectoryNotFoundException($"{family} fixture: no folder containing SegLab.slnx above {AppContext.BaseDirectory}");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, rel)));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    public static float[] Floats(JsonElement c, string key) => c.GetProperty(key).EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();

    public static int[] Ints(JsonElement c, string key) => c.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static string? FindRoot(string? start)
    {
        for (var d = start is null ? null : new DirectoryInfo(start); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SegLab.slnx"))) return d.FullName;
        return null;
    }

    private static string? SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(Path.GetDirectoryName(path));
}
