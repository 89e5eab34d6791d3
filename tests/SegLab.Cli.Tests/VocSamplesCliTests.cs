// seglab eval and seglab attack on the PASCAL VOC samples with ESPNetv2 (Mehta et al., CVPR 2019), a model that
// runs at a fixed size: a folder dataset without classes.json takes --classes voc. Skipped where ../shared is absent.
using System.Text.Json;

namespace SegLab.Cli.Tests;

public sealed class VocSamplesCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-voc-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [SkippableFact]
    public void Eval_and_attack_agree_on_the_clean_score_of_espnetv2()
    {
        Skip.If(SharedData.Root is null, "../shared not found: no VOC samples or ESPNetv2 weights here.");
        string data = Path.Combine(SharedData.Root!, "data", "voc-samples");
        string evalDir = Path.Combine(_tmp, "eval"), attackDir = Path.Combine(_tmp, "attack");
        var e = CliTests.Run("eval", "--model", "espnetv2-s0.5-voc", "--data", data, "--classes", "voc", "--limit", "2", "--out", evalDir);
        Assert.True(e.Code == 0, e.Err);
        var a = CliTests.Run("attack", "--model", "espnetv2-s0.5-voc", "--data", data, "--classes", "voc", "--limit", "2",
            "--attack", "fgsm", "--eps", "1/255", "--out", attackDir);
        Assert.True(a.Code == 0, a.Err);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalDir, "metrics.json")));
        using var robust = JsonDocument.Parse(File.ReadAllText(Path.Combine(attackDir, "robustness.json")));
        Assert.Equal(2, metrics.RootElement.GetProperty("images").GetInt32());
        var eps = robust.RootElement.GetProperty("eps")[0];
        double clean = eps.GetProperty("clean").GetProperty("mIoU").GetDouble();
        Assert.Equal(metrics.RootElement.GetProperty("mIoU").GetDouble(), clean, 9);
        Assert.True(eps.GetProperty("worstCase").GetProperty("mIoU").GetDouble() <= clean);
        Assert.Equal(0, robust.RootElement.GetProperty("sanity").GetProperty("nonFiniteGradients").GetInt32());
    }
}
