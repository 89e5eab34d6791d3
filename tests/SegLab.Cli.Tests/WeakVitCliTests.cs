using System.Text.Json;

namespace SegLab.Cli.Tests;

/// <summary>seglab weak train-vit | vit-iseg as a user runs them, on the embedded samples (no ../shared needed).</summary>
public sealed class WeakVitCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-weak-vit-cli-").FullName;
    private static readonly string Samples = Path.Combine(SegLab.Demo.Samples.Root(), "camvid");

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Fact]
    public void Train_vit_writes_a_summary_with_epoch_times_and_vit_iseg_scores_each_variant()
    {
        string run = Path.Combine(_tmp, "vit"), eval = Path.Combine(_tmp, "eval");
        var t = CliTests.Run("weak", "train-vit", "--data", Samples, "--split", "val", "--val-split", "val", "--crop", "96x128", "--min-pixels", "50",
            "--dim", "16", "--depth", "2", "--heads", "2", "--epochs", "1", "--batch", "8", "--out", run, "--threads", "1");
        Assert.True(t.Code == 0, t.Err);
        using (var s = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))))
        {
            Assert.Equal(1, s.RootElement.GetProperty("epochSeconds").GetArrayLength());
            Assert.Equal(5 * 9, s.RootElement.GetProperty("val").GetProperty("crops").GetInt32()); // 360x480 in 96x128 crops: 3 x 3
        }
        var r = CliTests.Run("weak", "vit-iseg", "--vit", run, "--data", Samples, "--split", "val", "--limit", "1", "--gamma", "1,1.6", "--iterations", "1,10", "--out", eval, "--threads", "1");
        Assert.True(r.Code == 0, r.Err);
        using var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(eval, "vit-iseg.json")));
        Assert.Equal(9, j.RootElement.GetProperty("crops").GetInt32());
        Assert.Equal(2 * 4, j.RootElement.GetProperty("rows").GetArrayLength());

        // The same run as iSeg's attention source (a) in `seglab iseg`, with a gamma sweep.
        string iseg = Path.Combine(_tmp, "iseg");
        var i = CliTests.Run("iseg", "--source", "vit", "--vit", run, "--data", Samples, "--split", "val", "--limit", "1", "--iterations", "3",
            "--sweep", "gamma=1", "--show", "1", "--out", iseg, "--threads", "1");
        Assert.True(i.Code == 0, i.Err);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(iseg, "iseg.json")));
        Assert.Equal(9, summary.RootElement.GetProperty("items").GetInt32());
        Assert.Equal(9, summary.RootElement.GetProperty("scored").GetInt32());
        Assert.All(summary.RootElement.GetProperty("main").EnumerateArray(), m => Assert.Equal(1.6, m.GetProperty("gamma").GetDouble(), 9)); // the default
        var gammas = summary.RootElement.GetProperty("sweep").EnumerateArray().Select(m => Math.Round(m.GetProperty("gamma").GetDouble(), 9)).Distinct().Order().ToArray();
        Assert.Equal([1.0, 1.6], gammas); // the primary gamma and the sweep's
        Assert.Equal(9, Directory.GetFiles(Path.Combine(iseg, "items"), "*.safetensors").Length);
        Assert.Contains("class-token ViT", summary.RootElement.GetProperty("source").GetString(), StringComparison.Ordinal);

        var bad = CliTests.Run("iseg", "--source", "vit", "--data", Samples, "--split", "val", "--out", Path.Combine(_tmp, "bad"));
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--source vit needs --vit RUN", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_crop_that_is_not_a_multiple_of_the_patch_is_a_one_line_error()
    {
        var r = CliTests.Run("weak", "train-vit", "--data", Samples, "--split", "val", "--crop", "90x120", "--out", Path.Combine(_tmp, "x"));
        Assert.NotEqual(0, r.Code);
        Assert.Contains("multiple of the patch size 8", r.Err);
    }
}
