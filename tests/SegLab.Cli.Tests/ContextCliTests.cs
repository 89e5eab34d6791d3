// seglab context on a sample CamVid image with the sample CGNet weights: context.json, records.jsonl and report.html,
// a second run with --resume that finds every object done, and seglab context merge of the run equal to it; and the
// bad inputs (unknown method, variant, class, corruption, severity; missing --model) as one-line usage errors that
// name the valid values and write nothing.
using System.Text.Json;

namespace SegLab.Cli.Tests;

public sealed class ContextCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seglab-context-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Samples => Path.Combine(SegLab.Demo.Samples.Root(), "camvid");

    [Fact]
    public void A_small_run_writes_its_files_resumes_without_work_and_merges_to_itself()
    {
        string outDir = Path.Combine(_dir, "run");
        string[] args = ["context", "--model", "cgnet-camvid", "--data", Samples, "--limit", "1", "--classes", "Car", "--max-per-class", "1",
            "--methods", "gradcam", "--variants", "original,only_fg,mixed_rand,ctx:gaussian_noise:2", "--examples", "1", "--out", outDir];
        var r = CliTests.Run(args);
        Assert.True(r.Code == 0, r.Err + r.Console);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "context.json"))))
        {
            var root = doc.RootElement;
            Assert.Equal(1, root.GetProperty("objects").GetInt32());
            Assert.Equal("cgnet-camvid", root.GetProperty("model").GetString());
            Assert.Equal(4, root.GetProperty("variants").GetArrayLength());
            var original = root.GetProperty("aggregates").GetProperty("groups").EnumerateArray()
                .Single(g => g.GetProperty("variant").GetString() == "original" && g.GetProperty("class").GetString() == "all" && g.GetProperty("split").GetString() == "all");
            double share = original.GetProperty("objectShare").GetProperty("mean").GetDouble();
            Assert.InRange(share, 0, 1);
            Assert.True(share > original.GetProperty("areaFraction").GetProperty("mean").GetDouble());   // Grad-CAM of a car is on the car more than a uniform map
        }
        Assert.True(new FileInfo(Path.Combine(outDir, "report.html")).Length > 1000);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, "records.jsonl")).Length);
        string before = File.ReadAllText(Path.Combine(outDir, "records.jsonl"));

        var again = CliTests.Run([.. args, "--resume"]);
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("1 of 1 objects already done", again.Console);
        Assert.Equal(before, File.ReadAllText(Path.Combine(outDir, "records.jsonl")));

        string merged = Path.Combine(_dir, "merged");
        var m = CliTests.Run("context", "merge", outDir, "--out", merged);
        Assert.True(m.Code == 0, m.Err);
        Assert.Equal(before, File.ReadAllText(Path.Combine(merged, "records.jsonl")));
    }

    [Theory]
    [InlineData("--methods", "gradcam,shap", "unknown attribution method 'shap'", "saliency, gxi, ig")]
    [InlineData("--variants", "original,mixed", "unknown variant 'mixed'", "mixed_rand")]
    [InlineData("--variants", "ctx:fog9:1", "unknown variant 'ctx:fog9:1'", "gaussian_noise")]
    [InlineData("--corruptions", "fog9", "unknown corruption 'fog9'", "gaussian_noise")]
    [InlineData("--severities", "0,6", "'0' is not a severity", "1 to 5")]
    [InlineData("--classes", "Car,Truck", "'Truck' is not a class of camvid", "Pedestrian")]
    [InlineData("--shard", "3/2", "--shard must be i/n", "1/4")]
    public void Bad_input_is_one_line_that_names_the_valid_values(string option, string value, string problem, string valid)
    {
        string outDir = Path.Combine(_dir, "bad");
        var r = CliTests.Run("context", "--model", "cgnet-camvid", "--data", Samples, option, value, "--out", outDir);
        Assert.Equal(2, r.Code);
        string line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(problem, line);
        Assert.Contains(valid, line);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Missing_model_is_a_usage_error()
    {
        var r = CliTests.Run("context", "--data", Samples, "--out", Path.Combine(_dir, "x"));
        Assert.Equal(2, r.Code);
        Assert.Contains("--model is required", r.Err);
    }

    [Fact]
    public void Merge_of_a_folder_without_a_run_says_what_is_missing()
    {
        var r = CliTests.Run("context", "merge", _dir, "--out", Path.Combine(_dir, "m"));
        Assert.Equal(1, r.Code);
        Assert.Contains("context.json does not exist", r.Err);
    }
}
