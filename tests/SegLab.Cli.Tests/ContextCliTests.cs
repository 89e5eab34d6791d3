// seglab context on a sample CamVid image with the sample CGNet weights: context.json, records.jsonl and report.html,
// a second run with --resume that finds every object done, and seglab context merge of the run equal to it; and the
// bad inputs (unknown method, variant, class, corruption, severity; missing --model) as one-line usage errors that
// name the valid values and write nothing. The recognition side: a `seglab weak train-classifier` run folder (an
// untrained scratch classifier written here) as --model runs the classifier on crops, with the class probability;
// `seglab bench attribution` takes the same folder (class target).
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

    // A classifier run folder as `seglab weak train-classifier` leaves it: config.json (tag options with the crop, the
    // encoder, the classes) and model.safetensors; the weights are the seeded initialisation (no training needed here).
    private string ClassifierRun() => WriteClassifierRun(_dir);

    // The same folder under parent/cls, for the other CLI tests that take a classifier (seglab explain).
    internal static string WriteClassifierRun(string parent)
    {
        string run = Path.Combine(parent, "cls");
        Directory.CreateDirectory(run);
        string[] classes = [.. SegLab.Data.ClassTable.CamVid.Names];
        File.WriteAllText(Path.Combine(run, "config.json"), JsonSerializer.Serialize(new
        {
            options = new
            {
                encoder = SegLab.Weak.WeakEncoders.Scratch,
                tags = new { cropHeight = 90, cropWidth = 120, strideY = 90, strideX = 120, minPixels = 50, whole = false },
                epochs = 1, batch = 8, lr = 0.01, classifierLrFactor = 10, momentum = 0.9, weightDecay = 0.0001, flip = true, seed = 0, checkpointEvery = 100,
            },
            data = Samples, split = "val", classes,
        }));
        var net = SegLab.Weak.WeakEncoders.CreateClassifier(SegLab.Weak.WeakEncoders.Scratch, classes.Length, 0, pretrained: false);
        SegLab.Engine.Serialization.SafeTensors.Save(Path.Combine(run, "model.safetensors"), net.StateDict());
        return run;
    }

    [Fact]
    public void A_classifier_run_is_the_recognition_side_on_crops_with_the_class_probability()
    {
        string run = ClassifierRun(), outDir = Path.Combine(_dir, "rec");
        string[] args = ["context", "--model", run, "--data", Samples, "--limit", "1", "--classes", "Car", "--max-per-class", "1",
            "--methods", "gradcam,saliency", "--variants", "original,only_fg,ctx:gaussian_noise:2", "--examples", "1", "--threads", "1", "--out", outDir];
        var r = CliTests.Run(args);
        Assert.True(r.Code == 0, r.Err + r.Console);
        Assert.Contains("recognition side: classifier on 120x90 crops", r.Console);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "context.json"))))
        {
            var root = doc.RootElement;
            Assert.Equal("recognition", root.GetProperty("side").GetString());
            Assert.Contains("crops 120x90", root.GetProperty("sideDetail").GetString());
            Assert.Equal(1, root.GetProperty("objects").GetInt32());
            Assert.Equal("cls", root.GetProperty("model").GetString());
            foreach (var g in root.GetProperty("aggregates").GetProperty("groups").EnumerateArray().Where(g => g.GetProperty("class").GetString() == "all" && g.GetProperty("split").GetString() == "all"))
            {
                var p = g.GetProperty("probability");
                Assert.Equal(1, p.GetProperty("n").GetInt32());
                Assert.InRange(p.GetProperty("mean").GetDouble(), 0, 1);
                Assert.Equal(0, g.GetProperty("recall").GetProperty("n").GetInt32());   // no segmentation quality on this side
                double share = g.GetProperty("objectShare").GetProperty("mean").GetDouble();
                if (g.GetProperty("variant").GetString() == "only_fg" && g.GetProperty("method").GetString() == "saliency")
                    Assert.InRange(share, 0, 1);
            }
        }
        string records = File.ReadAllText(Path.Combine(outDir, "records.jsonl"));
        Assert.Contains("\"probability\":", records);
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("recognition side", html);
        Assert.Contains("p(class)", html);
        // the examples are crops of the classifier's size (the report scales them, the files keep it)
        string example = Directory.GetFiles(Path.Combine(outDir, "examples"), "original__image.png", SearchOption.AllDirectories).Single();
        var png = SegLab.Imaging.Png.Load(example);
        Assert.Equal((120, 90), (png.Width, png.Height));

        var again = CliTests.Run([.. args, "--resume"]);
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("1 of 1 objects already done", again.Console);
        var m = CliTests.Run("context", "merge", outDir, "--out", Path.Combine(_dir, "rec-merged"));
        Assert.True(m.Code == 0, m.Err);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "rec-merged", "context.json"))))
            Assert.Equal("recognition", doc.RootElement.GetProperty("side").GetString());
    }

    [Fact]
    public void Bench_attribution_takes_a_classifier_run_with_a_class_target()
    {
        string run = ClassifierRun();
        var r = CliTests.Run("bench", "attribution", "--model", run, "--method", "gradcam", "--size", "90x120", "--repeats", "1", "--threads", "1", "--json");
        Assert.True(r.Code == 0, r.Err + r.Console);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal("cls", root.GetProperty("model").GetString());
        Assert.Equal((90, 120), (root.GetProperty("height").GetInt32(), root.GetProperty("width").GetInt32()));
        Assert.Equal(1, root.GetProperty("forwards").GetInt32());
        Assert.Equal(1, root.GetProperty("backwards").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("layer").GetString()));   // the classifier's default CAM layer
    }

    [Fact]
    public void A_classifier_run_refuses_weights()
    {
        string run = ClassifierRun();
        var w = CliTests.Run("context", "--model", run, "--weights", "x.safetensors", "--data", Samples, "--out", Path.Combine(_dir, "w"));
        Assert.Equal(2, w.Code);
        Assert.Contains("--weights does not apply to the classifier run", Assert.Single(w.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }
}
