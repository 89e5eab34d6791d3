using System.Text.Json;

namespace SegLab.Cli.Tests;

/// <summary>seglab merge refuses what is not the whole split: missing, repeated or foreign shards.</summary>
public sealed class MergeCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-merge-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Console, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private static string Samples => SegLab.Demo.Samples.Root();

    private string Shard(string shard, string name, params string[] extra)
    {
        string dir = Path.Combine(_tmp, name);
        var r = Run([ "eval", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"),
            "--data", Path.Combine(Samples, "camvid"), "--limit", "3", "--shard", shard, "--out", dir, .. extra]);
        Assert.True(r.Code == 0, r.Err);
        return dir;
    }

    [Fact]
    public void Shards_run_with_excluded_classes_merge_and_keep_them()
    {
        string a = Shard("1/2", "xa", "--exclude", "Sky"), b = Shard("2/2", "xb", "--exclude", "Sky");
        string outDir = Path.Combine(_tmp, "xmerged");
        var merged = Run("merge", a, b, "--out", outDir);
        Assert.True(merged.Code == 0, merged.Err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")));
        Assert.Equal(["Sky"], doc.RootElement.GetProperty("excludedClasses").EnumerateArray().Select(e => e.GetString()!));
    }

    [Fact]
    public void An_incomplete_shard_set_is_refused_unless_partial_is_asked_for_and_then_says_so()
    {
        string a = Shard("1/3", "a"), c = Shard("3/3", "c");
        string outDir = Path.Combine(_tmp, "merged");
        var refused = Run("merge", a, c, "--out", outDir);
        Assert.Equal(1, refused.Code);
        Assert.StartsWith("error: merge: the shard set is incomplete: 2/3 missing", refused.Err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any(), "a refused merge wrote output");

        var partial = Run("merge", a, c, "--out", outDir, "--partial");
        Assert.True(partial.Code == 0, partial.Err);
        Assert.Contains("Partial", partial.Console, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")));
        Assert.True(doc.RootElement.GetProperty("partial").GetBoolean());
        Assert.Equal(["2/3"], doc.RootElement.GetProperty("missingShards").EnumerateArray().Select(e => e.GetString()!));
        Assert.Contains("Partial result", File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_shard_given_twice_or_shards_of_other_counts_are_one_line_errors()
    {
        string a = Shard("1/2", "a"), b = Shard("1/3", "b");
        var twice = Run("merge", a, a, "--out", Path.Combine(_tmp, "m1"));
        Assert.Equal(1, twice.Code);
        Assert.Contains("given twice", twice.Err, StringComparison.Ordinal);
        var counts = Run("merge", a, b, "--out", Path.Combine(_tmp, "m2"));
        Assert.Equal(1, counts.Code);
        Assert.Contains("different counts", counts.Err, StringComparison.Ordinal);
        foreach (var e in new[] { twice.Err, counts.Err })
        {
            Assert.Single(e.TrimEnd().Split('\n'));
            Assert.DoesNotContain("   at ", e, StringComparison.Ordinal);
        }
    }
}
