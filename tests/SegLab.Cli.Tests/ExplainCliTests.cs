// seglab explain on a sample CamVid image with the sample CGNet weights: the three files (the map as float32 [H, W],
// the overlay at the image size, explain.json with target, score and shares that agree with the map), and the bad
// inputs of issue 18 as one-line usage errors (exit 2) that write nothing. A classifier run folder (an untrained
// scratch classifier written by ContextCliTests) as --model: a class or a superclass A+B, whose gradient x input map
// and score are the sums of its members' (the target is the sum of their logits).
using System.Text.Json;
using SegLab.Attribution;
using SegLab.Engine.Serialization;
using SegLab.Imaging;

namespace SegLab.Cli.Tests;

public sealed class ExplainCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seglab-explain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string ImagePath => Directory.GetFiles(Path.Combine(SegLab.Demo.Samples.Root(), "camvid", "val")).Order(StringComparer.Ordinal).First();

    private string MaskPng(string name, int w, int h, (int X0, int Y0, int X1, int Y1)? box)
    {
        var px = new byte[w * h];
        if (box is { } b)
            for (int y = b.Y0; y < b.Y1; y++)
                for (int x = b.X0; x < b.X1; x++) px[(y * w) + x] = 255;
        string path = Path.Combine(_dir, name);
        Png.Save(path, new Image(w, h, 1, px));
        return path;
    }

    [Fact]
    public void Grad_cam_over_a_mask_writes_the_map_the_overlay_and_shares_that_agree_with_the_map()
    {
        string mask = MaskPng("car.png", 480, 360, (330, 170, 440, 250));
        string outDir = Path.Combine(_dir, "gc");
        var r = CliTests.Run("explain", "--model", "cgnet-camvid", "--image", ImagePath, "--class", "Car", "--mask", mask, "--method", "gradcam", "--out", outDir);
        Assert.True(r.Code == 0, r.Err + r.Console);
        var file = SafeTensors.Load(Path.Combine(outDir, "attribution.safetensors"));
        var t = file.ToTensors()["attribution"];
        Assert.Equal([360, 480], t.ShapeArray());
        Assert.True(file.TryGet("attribution", out var entry));
        Assert.Equal(SafeTensorDType.F32, entry.DType);
        Assert.Single(file.Names);
        var overlay = Png.Load(Path.Combine(outDir, "overlay.png"));
        Assert.Equal((480, 360), (overlay.Width, overlay.Height));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "explain.json")));
        var root = doc.RootElement;
        Assert.Equal("gradcam", root.GetProperty("method").GetString());
        Assert.Equal("bn_prelu_3", root.GetProperty("layer").GetString());
        Assert.Equal(8, root.GetProperty("target").GetProperty("class").GetInt32());
        Assert.Equal(110 * 80, root.GetProperty("target").GetProperty("pixels").GetInt32());
        var shares = root.GetProperty("contextShares");
        var mapMask = new bool[360 * 480];
        for (int y = 170; y < 250; y++) mapMask.AsSpan((y * 480) + 330, 110).Fill(true);
        var expected = ContextShares.Compute(t.ToArray(), mapMask);
        Assert.Equal(expected.ObjectShare, shares.GetProperty("objectShare").GetDouble(), 1e-9);
        Assert.Equal(1.0, shares.GetProperty("objectShare").GetDouble() + shares.GetProperty("contextShare").GetDouble(), 1e-9);
        Assert.Equal(110 * 80 / (360.0 * 480), shares.GetProperty("areaFraction").GetDouble(), 1e-12);
        Assert.False(root.TryGetProperty("integratedGradients", out _));
    }

    [Fact]
    public void Integrated_gradients_reports_its_completeness_error()
    {
        string outDir = Path.Combine(_dir, "ig");
        var r = CliTests.Run("explain", "--model", "cgnet-camvid", "--image", ImagePath, "--class", "8", "--pixel", "380,210", "--method", "ig", "--steps", "4", "--batch", "4", "--out", outDir);
        Assert.True(r.Code == 0, r.Err + r.Console);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "explain.json")));
        var ig = doc.RootElement.GetProperty("integratedGradients");
        double score = doc.RootElement.GetProperty("targetScore").GetDouble();
        double sum = ig.GetProperty("mapSum").GetDouble();
        Assert.Equal(sum - (score - ig.GetProperty("baselineScore").GetDouble()), ig.GetProperty("completenessError").GetDouble(), 1e-6 * Math.Max(1, Math.Abs(sum)));
        Assert.Equal(4, ig.GetProperty("steps").GetInt32());
        Assert.False(doc.RootElement.TryGetProperty("contextShares", out _)); // one pixel: no object/context split
    }

    [Theory]
    [InlineData("guided", null, 1)]
    [InlineData("guided-gradcam", "bn_prelu_3", 2)]
    public void Guided_methods_write_a_signed_map_and_say_which_passes_they_used(string method, string? layer, int backwards)
    {
        string outDir = Path.Combine(_dir, method);
        var r = CliTests.Run("explain", "--model", "cgnet-camvid", "--image", ImagePath, "--class", "Car", "--box", "330,170,440,250", "--method", method, "--out", outDir);
        Assert.True(r.Code == 0, r.Err + r.Console);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "explain.json")));
        var root = doc.RootElement;
        Assert.Equal(method, root.GetProperty("method").GetString());
        Assert.Equal(layer, root.GetProperty("layer").GetString());
        Assert.Equal((1, backwards), (root.GetProperty("forwards").GetInt32(), root.GetProperty("backwards").GetInt32()));
        var map = SafeTensors.Load(Path.Combine(outDir, "attribution.safetensors")).ToTensors()["attribution"].ToArray();
        Assert.Contains(map, v => v > 0);
        Assert.Contains(map, v => v < 0); // a gradient: signed, drawn with the signed ramp
        Assert.True(root.TryGetProperty("contextShares", out _));
    }

    private static (float[] Map, JsonElement Root) Explain(string[] args)
    {
        var r = CliTests.Run(["explain", "--image", ImagePath, "--threads", "1", .. args]);
        Assert.True(r.Code == 0, r.Err + r.Console);
        string outDir = args[Array.IndexOf(args, "--out") + 1];
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "explain.json")));
        return (SafeTensors.Load(Path.Combine(outDir, "attribution.safetensors")).ToTensors()["attribution"].ToArray(), doc.RootElement.Clone());
    }

    [Fact]
    public void A_classifier_explains_a_superclass_as_the_sum_of_its_classes()
    {
        string run = ContextCliTests.WriteClassifierRun(_dir);
        var (car, carJson) = Explain(["--model", run, "--class", "Car", "--method", "gxi", "--out", Path.Combine(_dir, "car")]);
        var (ped, pedJson) = Explain(["--model", run, "--class", "pedestrian", "--method", "gxi", "--out", Path.Combine(_dir, "ped")]);
        var (both, bothJson) = Explain(["--model", run, "--class", "Car+Pedestrian", "--method", "gxi", "--out", Path.Combine(_dir, "both")]);
        var t = bothJson.GetProperty("target");
        Assert.Equal([8, 9], t.GetProperty("classes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("Car+Pedestrian", t.GetProperty("className").GetString());
        Assert.Equal("Classes", t.GetProperty("region").GetString());
        Assert.Equal([8], carJson.GetProperty("target").GetProperty("classes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.False(bothJson.TryGetProperty("contextShares", out _)); // a whole-image target: no object/context split
        double sa = carJson.GetProperty("targetScore").GetDouble(), sb = pedJson.GetProperty("targetScore").GetDouble();
        Assert.Equal(sa + sb, bothJson.GetProperty("targetScore").GetDouble(), 1e-4 * Math.Max(1, Math.Abs(sa) + Math.Abs(sb)));
        Assert.Equal(360 * 480, both.Length);
        double scale = car.Concat(ped).Max(v => Math.Abs(v));
        Assert.True(scale > 0);
        for (int i = 0; i < both.Length; i++)
            Assert.True(Math.Abs(both[i] - (car[i] + ped[i])) <= 1e-4 * scale, $"pixel {i}: {both[i]} vs {car[i]} + {ped[i]}");
        // Grad-CAM takes the classifier's CAM layer
        var (_, cam) = Explain(["--model", run, "--class", "Car+Pedestrian", "--out", Path.Combine(_dir, "cam")]);
        Assert.Equal("encoder", cam.GetProperty("layer").GetString());
    }

    [Theory]
    [InlineData("Car+Plane", null, "cls has no class 'Plane' (in 'Car+Plane'). Its classes: 0 Sky")]
    [InlineData("Car+8", null, "'Car+8' names a class twice")]
    [InlineData("Car", "--box", "--mask, --pixel and --box do not apply to the classifier run")]
    public void A_classifier_target_refuses_bad_input_in_one_line(string cls, string? extra, string expected)
    {
        string run = ContextCliTests.WriteClassifierRun(_dir), outDir = Path.Combine(_dir, "bad");
        string[] more = extra is null ? [] : [extra, "330,170,440,250"];
        var r = CliTests.Run(["explain", "--model", run, "--image", ImagePath, "--class", cls, .. more, "--out", outDir]);
        Assert.Equal(2, r.Code);
        Assert.Contains(expected, Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    public static TheoryData<string[], string> BadInputs() => new()
    {
        { ["--class", "Car", "--method", "occlusion"], "Known methods: saliency, gxi, ig" },
        { ["--class", "Car", "--method", "gradcam", "--layer", "level3.99"], "Valid layers: level1_0" },
        { ["--class", "Plane"], "no class 'Plane'" },
        { ["--class", "Car+Pedestrian"], "a set of classes ('Car+Pedestrian') is a classifier target; cgnet-camvid is a segmentation model" },
        { ["--class", "11"], "no class '11'. Its classes: 0 Sky" },
        { ["--class", "-1"], "no class '-1'" },
        { ["--class", "Car", "--mask", "EMPTY"], "is empty" },
        { ["--class", "Car", "--mask", "SMALL"], "is 48x36 but the image is 480x360" },
        { ["--class", "Car", "--box", "10,10,10,20"], "is empty" },
        { ["--class", "Car", "--pixel", "480,0"], "outside the 480x360 image" },
        { ["--class", "Car", "--method", "saliency", "--layer", "bn_prelu_3"], "--layer applies to the CAM methods" },
        { ["--class", "Car", "--method", "guided", "--layer", "bn_prelu_3"], "(gradcam, gradcam++, layercam, scorecam, guided-gradcam), not to guided" },
        { ["--class", "Car", "--method", "guided-gradcam", "--layer", "nope"], "Unknown layer 'nope' of model cgnet-camvid. Valid layers: level1_0" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_is_a_one_line_usage_error_that_writes_nothing(string[] args, string expected)
    {
        string outDir = Path.Combine(_dir, "bad");
        var a = args.Select(v => v switch
        {
            "EMPTY" => MaskPng("empty.png", 480, 360, null),
            "SMALL" => MaskPng("small.png", 48, 36, (1, 1, 5, 5)),
            _ => v,
        });
        var r = CliTests.Run(["explain", "--model", "cgnet-camvid", "--image", ImagePath, .. a, "--out", outDir]);
        Assert.Equal(2, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }
}
