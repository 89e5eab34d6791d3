// Committed PyTorch golden fixtures (tools/*_reference.py): JSON files under Fixtures/<family>/, read from the
// source tree (the folder holding SegLab.slnx, or this file's folder when the build output lives elsewhere).
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace SegLab.Engine.Tests;

internal static class ReferenceFixture
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, JsonElement[]> s_cache = new(StringComparer.Ordinal);

    /// <summary>The "cases" array of Fixtures/<paramref name="family"/>/<paramref name="family"/>_reference.json, read once.</summary>
    public static JsonElement[] Cases(string family) => s_cache.GetOrAdd(family, Read);

    /// <summary>The case names of a family, as theory data.</summary>
    public static TheoryData<string> Names(string family)
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases(family)) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    /// <summary>The case called <paramref name="name"/>.</summary>
    public static JsonElement Case(string family, string name) => Cases(family).Single(c => c.GetProperty("name").GetString() == name);

    private static JsonElement[] Read(string family)
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
