using System.Text.Json;

namespace SegLab.Cli.Tests;

/// <summary>seglab train and seglab bench train as a user runs them, on the embedded samples (no ../shared needed).</summary>
public sealed class TrainCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-train-cli-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Console, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    // A tiny UNet on the five sample images (their val split serves as train and val split).
    private string Config()
    {
        string path = Path.Combine(_tmp, "tiny.yaml");
        File.WriteAllText(path, $"""
            seed: 3
            threads: 1
            model: {"{"}family: unet, widths: [4, 8]{"}"}
            data: {"{"}dir: '{Path.Combine(SegLab.Demo.Samples.Root(), "camvid")}', train_split: val, val_split: val, crop: [32, 32], scale: [0.25, 0.25], batch: 2, val_scale: 0.125{"}"}
            schedule: {"{"}lr: 0.01, iterations: 3, validate_every: 1{"}"}
            """);
        return path;
    }

    [Fact]
    public void Print_config_applies_overrides_and_exits_without_training()
    {
        string outDir = Path.Combine(_tmp, "never");
        var r = Run("train", "--config", Config(), "--set", "schedule.lr=0.02", "--set", "contextrast.enabled=true", "--print-config", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("lr: 0.02", r.Out, StringComparison.Ordinal);
        Assert.Matches(@"contextrast:\s+enabled: true", r.Out);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Bad_configs_name_the_file_and_the_key_in_one_line()
    {
        string unknown = Path.Combine(_tmp, "unknown.yaml"), type = Path.Combine(_tmp, "type.yaml");
        File.WriteAllText(unknown, "model: {family: unet, widthz: [4, 8]}\n");
        File.WriteAllText(type, "schedule: {lr: fast}\n");
        var a = Run("train", "--config", unknown, "--out", Path.Combine(_tmp, "a"));
        Assert.Equal(1, a.Code);
        Assert.Contains("model.widthz", a.Err, StringComparison.Ordinal);
        Assert.Contains("unknown.yaml", a.Err, StringComparison.Ordinal);
        var b = Run("train", "--config", type, "--out", Path.Combine(_tmp, "b"));
        Assert.Equal(1, b.Code);
        Assert.Contains("schedule.lr", b.Err, StringComparison.Ordinal);
        var c = Run("train", "--config", Config(), "--set", "schedule.nope=1", "--out", Path.Combine(_tmp, "c"));
        Assert.Equal(1, c.Code);
        Assert.Contains("schedule.nope", c.Err, StringComparison.Ordinal);
        foreach (var e in new[] { a.Err, b.Err, c.Err }) Assert.DoesNotContain("   at ", e, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_writes_weights_summary_and_metrics_and_a_resume_of_a_finished_run_changes_nothing()
    {
        string outDir = Path.Combine(_tmp, "run");
        var r = Run("train", "--config", Config(), "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        foreach (var f in new[] { "model.safetensors", "best.safetensors", "config.yaml", "last.json", "summary.json", "val-metrics.json", "best-metrics.json" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal(3, summary.RootElement.GetProperty("steps").GetInt64());
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "val-metrics.json")));
        Assert.Equal(11, metrics.RootElement.GetProperty("perClassIoU").EnumerateObject().Count());

        byte[] before = File.ReadAllBytes(Path.Combine(outDir, "model.safetensors"));
        byte[] summaryBefore = File.ReadAllBytes(Path.Combine(outDir, "summary.json"));
        var again = Run("train", "--out", outDir, "--resume");
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(outDir, "model.safetensors")));
        Assert.Equal(summaryBefore, File.ReadAllBytes(Path.Combine(outDir, "summary.json")));
        Assert.Contains("is a finished run (3 steps)", again.Console, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", again.Console, StringComparison.Ordinal);

        // The run folder stands in for a model-table name: eval and predict load its network and final weights.
        string samples = Path.Combine(SegLab.Demo.Samples.Root(), "camvid");
        string evalDir = Path.Combine(_tmp, "eval");
        var ev = Run("eval", "--model", outDir, "--data", samples, "--limit", "2", "--worst", "0", "--out", evalDir);
        Assert.True(ev.Code == 0, ev.Err);
        using var evm = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalDir, "metrics.json")));
        Assert.Equal(2, evm.RootElement.GetProperty("images").GetInt32());
        string image = Directory.GetFiles(Path.Combine(samples, "val")).Order(StringComparer.Ordinal).First();
        var pr = Run("predict", "--model", outDir, "--input", image, "--out", Path.Combine(_tmp, "pred"));
        Assert.True(pr.Code == 0, pr.Err);
        Assert.True(File.Exists(Path.Combine(_tmp, "pred", Path.GetFileNameWithoutExtension(image) + ".png")));

        string unfinished = Path.Combine(_tmp, "unfinished");
        Directory.CreateDirectory(unfinished);
        File.Copy(Path.Combine(outDir, "config.yaml"), Path.Combine(unfinished, "config.yaml"));
        var none = Run("eval", "--model", unfinished, "--data", samples, "--out", Path.Combine(_tmp, "e2"));
        Assert.Equal(1, none.Code);
        Assert.Contains("model.safetensors", none.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_train_json_has_the_step_times()
    {
        var r = Run("bench", "train", "--size", "16", "--batch", "1", "--widths", "4,8", "--repeats", "2", "--json", "--threads", "1");
        Assert.True(r.Code == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("stepsMs").GetArrayLength());
        Assert.True(root.GetProperty("medianMs").GetDouble() > 0);
        Assert.True(root.GetProperty("peakMemoryMB").GetDouble() > 0);
        Assert.Equal(2, Run("train", "bench").Code);
    }
}
