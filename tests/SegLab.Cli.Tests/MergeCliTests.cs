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

    // The CLI tests run one at a time (AssemblyInfo.cs), so a test may set the scheduler's variables for a while.
    internal static T WithEnvironment<T>(IReadOnlyDictionary<string, string?> vars, Func<T> body)
    {
        var saved = vars.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var (k, v) in vars) Environment.SetEnvironmentVariable(k, v);
            return body();
        }
        finally
        {
            foreach (var (k, v) in saved) Environment.SetEnvironmentVariable(k, v);
        }
    }

    private static Dictionary<string, string?> SlurmTask(int id, int min, int max) => new()
    {
        ["SLURM_ARRAY_TASK_ID"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SLURM_ARRAY_TASK_MIN"] = min.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SLURM_ARRAY_TASK_MAX"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SLURM_ARRAY_TASK_COUNT"] = (max - min + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SLURM_ARRAY_JOB_ID"] = "4242",
        ["JOB_COMPLETION_INDEX"] = null,
    };

    [Fact]
    public void Slurm_array_shards_with_auto_merge_over_a_glob_into_exactly_the_whole_split_and_record_their_source()
    {
        // An array --array=3-5 (first id 3): tasks 3, 4, 5 are shards 1/3, 2/3, 3/3.
        foreach (int id in new[] { 3, 4, 5 })
            WithEnvironment(SlurmTask(id, 3, 5), () => Shard("auto", $"eval-shard-{id}"));
        string whole = Path.Combine(_tmp, "whole");
        var w = Run("eval", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"),
            "--data", Path.Combine(Samples, "camvid"), "--limit", "3", "--out", whole);
        Assert.True(w.Code == 0, w.Err);
        using (var s1 = JsonDocument.Parse(File.ReadAllText(Path.Combine(_tmp, "eval-shard-4", "metrics.json"))))
        {
            Assert.Equal("2/3", s1.RootElement.GetProperty("shard").GetString());
            Assert.Equal("slurm", s1.RootElement.GetProperty("shardSource").GetString());
            Assert.Contains("SLURM_ARRAY_TASK_ID=4 of 3-5, job 4242", s1.RootElement.GetProperty("shardTask").GetString(), StringComparison.Ordinal);
            Assert.Equal(1, s1.RootElement.GetProperty("images").GetInt32());
        }
        string merged = Path.Combine(_tmp, "merged");
        var m = Run("merge", Path.Combine(_tmp, "eval-shard-*"), "--out", merged);
        Assert.True(m.Code == 0, m.Err);
        Assert.Contains("Merged 3 shard(s), 3 images", m.Console, StringComparison.Ordinal);
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(merged, "metrics.json")));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(whole, "metrics.json")));
        foreach (var key in new[] { "mIoU", "imageMIoU", "pixelAccuracy", "meanClassAccuracy", "perClassIoU", "images", "worstImages" })
            Assert.Equal(b.RootElement.GetProperty(key).GetRawText(), a.RootElement.GetProperty(key).GetRawText());
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "metrics-state.json")), File.ReadAllText(Path.Combine(merged, "metrics-state.json")));
    }

    [Fact]
    public void Auto_without_a_scheduler_and_a_glob_matching_nothing_are_one_line_errors()
    {
        var none = new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = null, ["JOB_COMPLETION_INDEX"] = null, ["SLURM_JOB_ID"] = null };
        var r = WithEnvironment(none, () => Run("eval", "--model", "cgnet-camvid", "--data", Path.Combine(Samples, "camvid"), "--shard", "auto", "--out", Path.Combine(_tmp, "x")));
        Assert.Equal(2, r.Code); // a usage error
        Assert.StartsWith("error: --shard auto: no scheduler task found", r.Err, StringComparison.Ordinal);
        var k = WithEnvironment(new Dictionary<string, string?>(none) { ["JOB_COMPLETION_INDEX"] = "0", [SegLab.Evaluation.ShardSpec.CountVariable] = null },
            () => Run("attack", "--model", "cgnet-camvid", "--data", Path.Combine(Samples, "camvid"), "--shard", "auto", "--out", Path.Combine(_tmp, "y")));
        Assert.Equal(2, k.Code);
        Assert.Contains("give --shard-count N or set SEGLAB_SHARD_COUNT", k.Err, StringComparison.Ordinal);
        var g = Run("merge", Path.Combine(_tmp, "nothing-*"), "--out", Path.Combine(_tmp, "z"));
        Assert.Equal(1, g.Code);
        Assert.Contains("matches no folder", g.Err, StringComparison.Ordinal);
        foreach (var e in new[] { r.Err, k.Err, g.Err }) Assert.Single(e.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Kubernetes_attack_shards_merge_into_exactly_the_unsharded_attack()
    {
        string[] Attack(string outDir, params string[] extra) =>
        [
            "attack", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"), "--data", Path.Combine(Samples, "camvid"),
            "--attack", "pgd", "--steps", "2", "--out", outDir, .. extra,
        ];
        foreach (int index in new[] { 0, 1 })
        {
            var env = new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = null, ["JOB_COMPLETION_INDEX"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            var s = WithEnvironment(env, () => Run(Attack(Path.Combine(_tmp, $"sea-shard-{index}"), "--shard", "auto", "--shard-count", "2")));
            Assert.True(s.Code == 0, s.Err);
        }
        var w = Run(Attack(Path.Combine(_tmp, "attack-whole")));
        Assert.True(w.Code == 0, w.Err);
        string merged = Path.Combine(_tmp, "sea");
        var m = Run("merge", Path.Combine(_tmp, "sea-shard-*"), "--out", merged);
        Assert.True(m.Code == 0, m.Err);
        Assert.Contains("Merged 2 attack shard(s), 5 images", m.Console, StringComparison.Ordinal);
        using var shard = JsonDocument.Parse(File.ReadAllText(Path.Combine(_tmp, "sea-shard-1", "robustness.json")));
        Assert.Equal("2/2", shard.RootElement.GetProperty("run").GetProperty("shard").GetString());
        Assert.Equal("kubernetes", shard.RootElement.GetProperty("run").GetProperty("shardSource").GetString());
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(merged, "robustness.json")));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(_tmp, "attack-whole", "robustness.json")));
        Assert.Equal(2, a.RootElement.GetProperty("run").GetProperty("mergedShards").GetInt32());
        Assert.Equal(b.RootElement.GetProperty("images").GetInt32(), a.RootElement.GetProperty("images").GetInt32());
        Assert.Equal(b.RootElement.GetProperty("perImage").GetRawText(), a.RootElement.GetProperty("perImage").GetRawText());
        foreach (var (ea, eb) in a.RootElement.GetProperty("eps").EnumerateArray().Zip(b.RootElement.GetProperty("eps").EnumerateArray()))
            foreach (var key in new[] { "clean", "worstCase", "greedyWorstMIoU", "sizeBias", "perClassIoUWorst", "cleanToWorst" })
                Assert.Equal(eb.GetProperty(key).GetRawText(), ea.GetProperty(key).GetRawText());
        Assert.True(File.Exists(Path.Combine(merged, "report.html")));

        // A shard of another run (other radii) is refused.
        var other = WithEnvironment(new Dictionary<string, string?> { ["JOB_COMPLETION_INDEX"] = "1", ["SLURM_ARRAY_TASK_ID"] = null },
            () => Run(Attack(Path.Combine(_tmp, "odd-1"), "--shard", "auto", "--shard-count", "2", "--eps", "4/255")));
        Assert.True(other.Code == 0, other.Err);
        var refused = Run("merge", Path.Combine(_tmp, "sea-shard-0"), Path.Combine(_tmp, "odd-1"), "--out", Path.Combine(_tmp, "bad"));
        Assert.Equal(1, refused.Code);
        Assert.Contains("shards of different runs", refused.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Shards_of_different_runs_are_refused()
    {
        string a = Shard("1/2", "ra"), b = Shard("2/2", "rb", "--exclude", "Sky");
        var excluded = Run("merge", a, b, "--out", Path.Combine(_tmp, "r1"));
        Assert.Equal(1, excluded.Code);
        Assert.Contains("different --layout, --classes or --exclude", excluded.Err, StringComparison.Ordinal);
        string c = Path.Combine(_tmp, "rc");
        var limited = Run("eval", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"),
            "--data", Path.Combine(Samples, "camvid"), "--limit", "4", "--shard", "2/2", "--out", c);
        Assert.True(limited.Code == 0, limited.Err);
        var limits = Run("merge", a, c, "--out", Path.Combine(_tmp, "r2"));
        Assert.Equal(1, limits.Code);
        Assert.Contains("--limit 4, but", limits.Err, StringComparison.Ordinal);
    }
}
