namespace SegLab.Cli.Tests;

/// <summary>Usage errors: checked before any model or data is loaded, one line in the user's words, exit code 2.</summary>
public sealed class UsageErrorTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-usage-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Console, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    // A data folder that does not exist: a usage error must be reported before the data (or the weights) are looked at.
    private string Nowhere => Path.Combine(_tmp, "no-such-data");

    public static TheoryData<string[], string> BadOptions => new()
    {
        { ["attack", "--model", "cgnet-camvid", "--shard", "0/2"], "--shard" },
        { ["attack", "--model", "cgnet-camvid", "--eps", "0"], "--eps" },
        { ["attack", "--model", "cgnet-camvid", "--eps", "8/255,abc"], "abc" },
        { ["attack", "--model", "cgnet-camvid", "--steps", "0", "--attack", "pgd"], "--steps" },
        { ["attack", "--model", "cgnet-camvid", "--limit", "0"], "--limit" },
        { ["attack", "--model", "cgnet-camvid", "--attack", "nope"], "nope" },
        { ["attack", "--model", "cgnet-camvid", "--protocol", "nope"], "nope" },
        { ["attack", "--model", "cgnet-camvid", "--loss-logits", "some"], "--loss-logits" },
        { ["eval", "--model", "cgnet-camvid", "--shard", "3/2"], "--shard" },
        { ["eval", "--model", "cgnet-camvid", "--limit", "-1"], "--limit" },
        { ["eval", "--model", "cgnet-camvid", "--best", "-1"], "--best" },
        { ["eval", "--model", "cgnet-camvid", "--min-frame-distance", "-5"], "--min-frame-distance" },
        { ["eval", "--model", "cgnet-camvid", "--best", "two"], "'two' is not a whole number" },
        { ["eval", "--model", "no-such-model"], "no-such-model" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_option_values_are_reported_before_anything_is_loaded(string[] args, string named)
    {
        string outDir = Path.Combine(_tmp, "out");
        var r = Run([.. args, "--data", Nowhere, "--out", outDir]);
        Assert.Equal(2, r.Code);
        Assert.StartsWith("error: ", r.Err, StringComparison.Ordinal);
        Assert.Contains(named, r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("no-such-data", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(outDir, "robustness.json")) || File.Exists(Path.Combine(outDir, "metrics.json")));
    }

    [Fact]
    public void Values_of_the_wrong_type_are_named_in_words_not_dotnet_types()
    {
        var r = Run("--threads", "abc", "info");
        Assert.Equal(2, r.Code);
        Assert.Contains("abc", r.Err, StringComparison.Ordinal);
        Assert.StartsWith("error: --threads: 'abc' is not a whole number.", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", r.Err, StringComparison.Ordinal);
        Assert.Contains("seglab info --help", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_option_names_it_and_the_verb_help()
    {
        var r = Run("eval", "--data", Nowhere);
        Assert.Equal(2, r.Code);
        Assert.Contains("--model", r.Err, StringComparison.Ordinal);
        Assert.Contains("seglab eval --help", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_errors_exit_with_1()
    {
        var r = Run("eval", "--model", "cgnet-camvid", "--data", Nowhere, "--out", Path.Combine(_tmp, "o"));
        Assert.Equal(1, r.Code);
        Assert.Contains("no-such-data", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_says_which_shared_folder_is_used_and_why()
    {
        var r = Run("info", "--json");
        Assert.Equal(0, r.Code);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        var rule = doc.RootElement.GetProperty("sharedFolderRule").GetString()!;
        var folder = doc.RootElement.GetProperty("sharedFolder");
        Assert.Equal(SegLab.SharedData.Root, folder.ValueKind == System.Text.Json.JsonValueKind.Null ? null : folder.GetString());
        Assert.Contains(SegLab.SharedData.Root is null ? "not" : "shared", rule, StringComparison.Ordinal);
    }
}

/// <summary>Bad weight files are data errors: one line naming the file, exit code 1, never an abort.</summary>
public sealed class BadWeightsTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-weights-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    public static TheoryData<string> Damages => new() { "truncated", "header-only", "empty", "garbage", "wrong-model" };

    private string Damaged(string kind)
    {
        byte[] good = File.ReadAllBytes(Path.Combine(SegLab.Demo.Samples.Root(), "models", "cgnet_m3n21_camvid.safetensors"));
        string path = Path.Combine(_tmp, kind + ".safetensors");
        byte[] bytes = kind switch
        {
            "truncated" => good[..(good.Length / 2)],
            "header-only" => good[..100],
            "empty" => [],
            "garbage" => [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 31 % 251))],
            _ => SafeTensorsOf(new SegLab.Engine.Nn.Linear(3, 2)),
        };
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] SafeTensorsOf(SegLab.Engine.Nn.Module m)
    {
        string f = Path.GetTempFileName();
        try
        {
            SegLab.Engine.Serialization.SafeTensors.Save(f, m.StateDict());
            return File.ReadAllBytes(f);
        }
        finally
        {
            File.Delete(f);
        }
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void Eval_with_damaged_weights_names_the_file_in_one_line_and_exits_1(string kind)
    {
        string weights = Damaged(kind), outDir = Path.Combine(_tmp, "out");
        var r = CliTests.Run("eval", "--model", "cgnet-camvid", "--weights", weights, "--data", Path.Combine(SegLab.Demo.Samples.Root(), "camvid"), "--out", outDir);
        Assert.Equal(1, r.Code);
        Assert.StartsWith("error: ", r.Err, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(weights), r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
        Assert.False(File.Exists(Path.Combine(outDir, "metrics.json")));
    }
}
