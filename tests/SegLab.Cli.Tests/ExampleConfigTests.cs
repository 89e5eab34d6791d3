namespace SegLab.Cli.Tests;

/// <summary>Every example config under configs/ trains for a few steps as written (on the samples instead of CamVid), and points at CamVid where ../shared is present.</summary>
public sealed class ExampleConfigTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-configs-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Repository()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SegLab.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("the repository (SegLab.slnx) is not above the test binary");
    }

    private static string[] Names() =>
        [.. Directory.GetFiles(Path.Combine(Repository(), "configs"), "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Configs() => [.. Names()];

    [Fact]
    public void The_eight_examples_are_there()
    {
        Assert.Equal(["camvid-adversarial.yaml", "camvid-contextrast.yaml", "camvid-deeplabv3-resnet18-pretrained.yaml", "camvid-deeplabv3-resnet18-scratch.yaml",
            "camvid-deeplabv3.yaml", "camvid-finetune-cgnet.yaml", "camvid-unet.yaml", "camvid-weak.yaml"], Names());
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Example_config_trains_a_few_steps(string name)
    {
        string config = Path.Combine(Repository(), "configs", name), outDir = Path.Combine(_tmp, name);
        string samples = Path.Combine(SegLab.Demo.Samples.Root(), "camvid");
        var r = CliTests.Run("train", "--config", config, "--out", outDir, "--threads", "1",
            "--set", $"data.dir={samples}", "--set", "data.train_split=val", "--set", "data.val_split=val", "--set", "data.crop=[32, 48]",
            "--set", "data.batch=2", "--set", "data.val_scale=0.125", "--set", "schedule.epochs=0", "--set", "schedule.iterations=2",
            "--set", "schedule.warmup_steps=0");
        Assert.True(r.Code == 0, r.Err);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        string written = File.ReadAllText(Path.Combine(outDir, "config.yaml"));
        Assert.Contains($"dir: {samples}", written, StringComparison.Ordinal);
        if (name.Contains("finetune", StringComparison.Ordinal)) Assert.DoesNotContain("family:", written, StringComparison.Ordinal);
        if (name.Contains("contextrast", StringComparison.Ordinal)) Assert.Contains("Contextrast", r.Console, StringComparison.Ordinal);
        if (name.Contains("adversarial", StringComparison.Ordinal))
        {
            Assert.Contains("adversarial:\n  enabled: true\n  attack: pgd\n", written, StringComparison.Ordinal);
            Assert.Contains("PGD-AT", r.Console, StringComparison.Ordinal);
            Assert.Contains("in the attack", r.Console, StringComparison.Ordinal);
            using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "summary.json")));
            var adv = summary.RootElement.GetProperty("adversarial");
            Assert.Equal("4/255", adv.GetProperty("eps").GetString());
            Assert.Equal(2, adv.GetProperty("adversarialSamples").GetInt64()); // 2 steps of batch 2 at 50%
            Assert.Equal("pretrained cgnet-camvid", summary.RootElement.GetProperty("initialisation").GetString());
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Configs))]
    public void Example_config_reads_camvid_from_the_shared_folder_beside_the_repository(string name)
    {
        Skip.If(SegLab.SharedData.Root is null, "needs the shared data folder");
        var cfg = SegLab.Training.ConfigLoader.Load(Path.Combine(Repository(), "configs", name));
        Assert.Equal(Path.GetFullPath(Path.Combine(SegLab.SharedData.Root!, "data", "camvid")), cfg.Data.Dir);
        Assert.True(Directory.Exists(Path.Combine(cfg.Data.Dir, "train")));
    }
}
