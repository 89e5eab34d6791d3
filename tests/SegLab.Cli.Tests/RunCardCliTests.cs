using System.Text.Json;

namespace SegLab.Cli.Tests;

/// <summary>A trained run folder records the robustness `seglab attack` measured on it in its model card and in `seglab models --runs`.</summary>
public sealed class RunCardCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-runcard-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Repository()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SegLab.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("the repository (SegLab.slnx) is not above the test binary");
    }

    [Fact]
    public void Attack_on_a_run_folder_adds_its_figures_to_the_card_and_the_runs_listing()
    {
        string samples = Path.Combine(SegLab.Demo.Samples.Root(), "camvid"), run = Path.Combine(_tmp, "runs", "at50");
        var train = CliTests.Run("train", "--config", Path.Combine(Repository(), "configs", "camvid-adversarial.yaml"), "--out", run, "--threads", "1",
            "--set", $"data.dir={samples}", "--set", "data.train_split=val", "--set", "data.val_split=val", "--set", "data.crop=[32, 48]",
            "--set", "data.batch=2", "--set", "data.val_scale=0.125", "--set", "schedule.epochs=0", "--set", "schedule.iterations=2",
            "--set", "schedule.warmup_steps=0");
        Assert.True(train.Code == 0, train.Err);
        string cardPath = Path.Combine(run, "model-card.md");
        Assert.Contains("## Robustness\n\nNot measured yet", File.ReadAllText(cardPath), StringComparison.Ordinal);

        string[] Attack(string eps, string outName) => ["attack", "--model", run, "--data", samples, "--attack", "pgd", "--loss", "ce", "--steps", "2",
            "--eps", eps, "--limit", "1", "--threads", "1", "--out", Path.Combine(_tmp, outName)];
        var a = CliTests.Run(Attack("2/255,4/255", "pgd"));
        Assert.True(a.Code == 0, a.Err);
        string card = File.ReadAllText(cardPath);
        Assert.DoesNotContain("Not measured yet", card, StringComparison.Ordinal);
        Assert.Contains("- training: PGD-AT", card, StringComparison.Ordinal); // the training part is kept
        Assert.Contains("| pgd-ce | 2/255 | 1 (--limit 1) |", card, StringComparison.Ordinal);
        Assert.Contains("| pgd-ce | 4/255 | 1 (--limit 1) |", card, StringComparison.Ordinal);

        // The card's numbers are robustness.json's (pixel accuracy / mIoU / image mIoU of the worst case).
        using (var rob = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_tmp, "pgd", "robustness.json"))))
        {
            var worst = rob.RootElement.GetProperty("eps")[1].GetProperty("worstCase");
            string expected = string.Join(" / ", new[] { "pixelAccuracy", "mIoU", "imageMIoU" }
                .Select(k => worst.GetProperty(k).GetDouble().ToString("F2", System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Contains($"| {expected} |\n", card, StringComparison.Ordinal);
        }

        // The same attack, radius and selection again replaces its record; another radius adds one.
        Assert.Equal(0, CliTests.Run(Attack("4/255", "pgd-again")).Code);
        Assert.Equal(0, CliTests.Run(Attack("1/255", "pgd-1")).Code);
        using (var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run, "robustness-index.json"))))
        {
            var eps = index.RootElement.EnumerateArray().Select(e => e.GetProperty("eps").GetString()!).ToArray();
            Assert.Equal(["1/255", "2/255", "4/255"], eps);
            Assert.EndsWith(Path.Combine("pgd-again", "robustness.json"), index.RootElement[2].GetProperty("result").GetString(), StringComparison.Ordinal);
        }

        var list = CliTests.Run("models", "--runs", Path.Combine(_tmp, "runs"), "--json");
        Assert.True(list.Code == 0, list.Err);
        using var rows = JsonDocument.Parse(list.Out);
        var row = Assert.Single(rows.RootElement.EnumerateArray());
        Assert.Equal(Path.GetFullPath(run), row.GetProperty("run").GetString());
        Assert.StartsWith("PGD-AT", row.GetProperty("training").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, row.GetProperty("robustness").GetArrayLength());

        var missing = CliTests.Run("models", "--runs", Path.Combine(_tmp, "nowhere"));
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("nowhere", missing.Err, StringComparison.Ordinal);
    }
}
