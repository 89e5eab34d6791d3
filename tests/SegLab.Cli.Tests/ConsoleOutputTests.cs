using System.Text.RegularExpressions;

namespace SegLab.Cli.Tests;

/// <summary>What a user reads: help that names seglab, and output to a log or a pipe that can be copied from.</summary>
public sealed class ConsoleOutputTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-console-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Theory]
    [InlineData(new string[] { "--help" }, "seglab [command] [options]")]
    [InlineData(new string[] { "eval", "--help" }, "seglab eval [options]")]
    [InlineData(new string[] { "bench", "model", "--help" }, "seglab bench model [options]")]
    public void Help_names_the_seglab_command(string[] args, string usage)
    {
        var r = CliTests.Run(args);
        Assert.Equal(0, r.Code);
        Assert.Contains(usage, r.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("SegLab.Cli", r.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("testhost", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void No_command_is_a_usage_error_that_lists_the_commands()
    {
        var r = CliTests.Run();
        Assert.Equal(2, r.Code);
        Assert.Contains("eval", r.Err, StringComparison.Ordinal);
        Assert.Contains("seglab --help", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_to_a_pipe_is_not_padded_or_wrapped_and_progress_ends_at_100_percent()
    {
        // A folder name long enough that an 80-column console would wrap the paths.
        string outDir = Path.Combine(_tmp, "a-rather-long-output-folder-name-that-would-wrap-in-eighty-columns", "eval");
        string samples = SegLab.Demo.Samples.Root();
        var r = CliProcess.Run(null, "eval", "--model", "cgnet-camvid", "--weights", Path.Combine(samples, "models", "cgnet_m3n21_camvid.safetensors"),
            "--data", Path.Combine(samples, "camvid"), "--limit", "3", "--worst", "0", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        var lines = r.Out.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.DoesNotContain(lines, l => l.EndsWith(' '));
        Assert.DoesNotContain("\u001b[", r.Out, StringComparison.Ordinal);
        var report = Assert.Single(lines, l => l.StartsWith("Report: ", StringComparison.Ordinal));
        Assert.Contains(Path.Combine(outDir, "report.html"), report, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(outDir, "metrics.json"), report, StringComparison.Ordinal);
        var progress = lines.Where(l => Regex.IsMatch(l, @"\(\d+/3, \d+%\)$")).ToArray();
        Assert.True(progress.Length >= 2, r.Out);
        Assert.EndsWith("(3/3, 100%)", progress[^1], StringComparison.Ordinal);
        Assert.Equal(progress.Length, progress.Distinct().Count());
    }

    [Fact]
    public void Models_lists_every_table_model_with_its_card_and_reports_carry_it()
    {
        var r = CliTests.Run("models", "--json");
        Assert.Equal(0, r.Code);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        var names = doc.RootElement.EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToArray();
        Assert.Equal(SegLab.Models.ModelTable.All.Select(m => m.Name), names);
        foreach (var m in doc.RootElement.EnumerateArray().Where(m => m.GetProperty("weights").ValueKind != System.Text.Json.JsonValueKind.Null))
        {
            foreach (var key in new[] { "source", "licence", "trainedOn", "published", "input" })
                Assert.False(string.IsNullOrWhiteSpace(m.GetProperty(key).GetString()), $"{m.GetProperty("name")}: no {key}");
        }
        string outDir = Path.Combine(_tmp, "eval");
        string samples = SegLab.Demo.Samples.Root();
        var ev = CliTests.Run("eval", "--model", "cgnet-camvid", "--data", Path.Combine(samples, "camvid"), "--limit", "1", "--worst", "0", "--out", outDir);
        Assert.True(ev.Code == 0, ev.Err);
        Assert.Contains("not held-out", ev.Console, StringComparison.Ordinal);
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("wutianyiRosun/CGNet", html, StringComparison.Ordinal);
        Assert.Contains("not held-out", html, StringComparison.Ordinal);
    }
}

/// <summary>One name and one default for the foreground option: --exclude, none excluded unless asked.</summary>
public sealed class ForegroundOptionTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-exclude-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private System.Text.Json.JsonElement Attack(string name, params string[] extra)
    {
        string samples = SegLab.Demo.Samples.Root(), outDir = Path.Combine(_tmp, name);
        var r = CliTests.Run(["attack", "--model", "cgnet-camvid", "--weights", Path.Combine(samples, "models", "cgnet_m3n21_camvid.safetensors"),
            "--data", Path.Combine(samples, "camvid"), "--attack", "fgsm", "--eps", "1/255", "--limit", "1", "--out", outDir, .. extra]);
        Assert.True(r.Code == 0, r.Err);
        Assert.DoesNotContain("-0.00", r.Console, StringComparison.Ordinal);
        return System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "robustness.json"))).RootElement;
    }

    [Fact]
    public void Attack_takes_eval_s_exclude_and_excludes_nothing_by_default()
    {
        var plain = Attack("plain");
        Assert.Empty(plain.GetProperty("excludedClasses").EnumerateArray());
        var clean = plain.GetProperty("eps")[0].GetProperty("clean");
        Assert.Equal(clean.GetProperty("mIoU").GetDouble(), clean.GetProperty("foregroundMIoU").GetDouble(), 9);

        var sky = Attack("sky", "--exclude", "Sky");
        Assert.Equal([0], sky.GetProperty("excludedClasses").EnumerateArray().Select(e => e.GetInt32()));
        var c2 = sky.GetProperty("eps")[0].GetProperty("clean");
        Assert.NotEqual(c2.GetProperty("mIoU").GetDouble(), c2.GetProperty("foregroundMIoU").GetDouble());
        Assert.Equal(clean.GetProperty("mIoU").GetDouble(), c2.GetProperty("mIoU").GetDouble(), 9);

        var bad = CliTests.Run("attack", "--model", "cgnet-camvid", "--data", Path.Combine(SegLab.Demo.Samples.Root(), "camvid"), "--background-class", "0", "--out", Path.Combine(_tmp, "x"));
        Assert.Equal(2, bad.Code);
    }
}
