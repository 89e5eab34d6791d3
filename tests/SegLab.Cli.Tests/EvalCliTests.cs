using System.Text.Json;
using System.Xml.Linq;

namespace SegLab.Cli.Tests;

/// <summary>seglab demo, eval, merge and predict as a user runs them, on the embedded samples (no ../shared needed).</summary>
public sealed class EvalCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-cli-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Console, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private static string Samples => SegLab.Demo.Samples.Root();

    private static JsonElement Metrics(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json"))).RootElement;

    [Fact]
    public void Demo_evaluates_the_samples_and_writes_a_report_that_parses()
    {
        string outDir = Path.Combine(_tmp, "demo");
        var r = Run("demo", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("report.html", r.Console, StringComparison.Ordinal);
        var m = Metrics(outDir);
        Assert.Equal(5, m.GetProperty("images").GetInt32());
        double miou = m.GetProperty("mIoU").GetDouble();
        Assert.InRange(miou, 50, 100); // CGNet was trained on these images (train+val): a broken pipeline lands far below
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        var doc = XDocument.Parse(html[html.IndexOf("<html", StringComparison.Ordinal)..]);
        Assert.Contains(doc.Descendants(), e => e.Name.LocalName == "svg");
        Assert.Equal(5, doc.Descendants().Count(e => e.Name.LocalName == "img" && ((string?)e.Attribute("alt") ?? "").StartsWith("prediction", StringComparison.Ordinal)));
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);

        // One attribution map (issue 18): Grad-CAM for Car over its predicted region, drawn over the image, with its shares.
        Assert.Contains(doc.Descendants(), e => e.Name.LocalName == "h2" && e.Value.StartsWith("Attribution", StringComparison.Ordinal));
        var heat = doc.Descendants().Where(e => e.Name.LocalName == "img" && (string?)e.Attribute("alt") == "Grad-CAM over the image").ToList();
        Assert.Single(heat);
        Assert.StartsWith("data:image/png;base64,", (string?)heat[0].Attribute("src"), StringComparison.Ordinal);
        var png = SegLab.Imaging.Png.Decode(Convert.FromBase64String(((string)heat[0].Attribute("src")!)["data:image/png;base64,".Length..]));
        Assert.Equal((480, 360), (png.Width, png.Height)); // embedded at full size (zoomable)
        var pixels = png.Pixels;
        Assert.True(Enumerable.Range(0, pixels.Length).Any(i => pixels[i] != pixels[i % 3]), "the heat map is one flat colour");
        Assert.Matches(@"Grad-CAM of cgnet-camvid at layer bn_prelu_3 for Car over the pixels it predicts as Car on \S+ \(\d+ pixels, [\d.]+% of the image\): [\d.]+% of the map's mass", html);
        Assert.Contains("Attribution: Grad-CAM for Car", r.Console, StringComparison.Ordinal);

        // The quick attack keeps every attack's trace and the clean-to-worst counts, and its report draws both.
        string attack = Path.Combine(outDir, "attack");
        using var trace = JsonDocument.Parse(File.ReadAllText(Path.Combine(attack, "trace.json")));
        Assert.Equal(3, trace.RootElement.GetArrayLength());
        foreach (var img in trace.RootElement.EnumerateArray())
        {
            Assert.Equal(2, img.GetProperty("runs").GetArrayLength()); // PGD and APGD
            Assert.All(img.GetProperty("runs").EnumerateArray(), run => Assert.True(run.GetProperty("steps").GetArrayLength() >= 5));
        }
        using var rob = JsonDocument.Parse(File.ReadAllText(Path.Combine(attack, "robustness.json")));
        var c2w = rob.RootElement.GetProperty("eps")[0].GetProperty("cleanToWorst");
        Assert.Equal(11, c2w.GetArrayLength());
        long kept = c2w.EnumerateArray().Select((row, c) => row[c].GetInt64()).Sum(), all = c2w.EnumerateArray().Sum(row => row.EnumerateArray().Sum(v => v.GetInt64()));
        Assert.True(kept < all, "no clean-correct pixel changed class under the attack");
        string attackHtml = File.ReadAllText(Path.Combine(attack, "report.html"));
        Assert.Contains("Clean versus adversarial", attackHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("Not recorded", attackHtml, StringComparison.Ordinal);
    }

    [Fact]
    public void Shards_merge_into_exactly_the_whole_split()
    {
        string data = Path.Combine(Samples, "camvid");
        string whole = Path.Combine(_tmp, "whole"), a = Path.Combine(_tmp, "a"), b = Path.Combine(_tmp, "b"), merged = Path.Combine(_tmp, "merged");
        Assert.Equal(0, Run("eval", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"), "--data", data, "--out", whole, "--limit", "3").Code);
        foreach (var (shard, dir) in new[] { ("1/2", a), ("2/2", b) })
        {
            var r = Run("eval", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"), "--data", data, "--out", dir, "--limit", "3", "--shard", shard);
            Assert.True(r.Code == 0, r.Err);
        }
        Assert.NotEqual(3, Metrics(a).GetProperty("images").GetInt32());
        var m = Run("merge", a, b, "--out", merged);
        Assert.True(m.Code == 0, m.Err);
        var w = Metrics(whole);
        var g = Metrics(merged);
        Assert.Equal(3, g.GetProperty("images").GetInt32());
        foreach (var key in new[] { "mIoU", "imageMIoU", "pixelAccuracy", "meanClassAccuracy" })
            Assert.Equal(w.GetProperty(key).GetDouble(), g.GetProperty(key).GetDouble(), 9);
        Assert.True(File.Exists(Path.Combine(merged, "report.html")));
    }

    [Fact]
    public void Bad_inputs_name_the_file_and_skip_bad_goes_on()
    {
        // A copy of the samples with one truncated image and one label of the wrong size.
        string data = Path.Combine(_tmp, "bad");
        foreach (var sub in new[] { "val", "valannot" })
        {
            Directory.CreateDirectory(Path.Combine(data, sub));
            foreach (var f in Directory.GetFiles(Path.Combine(Samples, "camvid", sub)))
                File.Copy(f, Path.Combine(data, sub, Path.GetFileName(f)));
        }
        var images = Directory.GetFiles(Path.Combine(data, "val")).Order(StringComparer.Ordinal).ToArray();
        var bytes = File.ReadAllBytes(images[1]);
        File.WriteAllBytes(images[1], bytes[..(bytes.Length / 2)]);
        var small = new SegLab.Imaging.Image(4, 3, 1, new byte[12]);
        SegLab.Imaging.Png.Save(Path.Combine(data, "valannot", Path.GetFileName(images[2])), small);
        string weights = Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors");

        var strict = Run("eval", "--model", "cgnet-camvid", "--weights", weights, "--data", data, "--out", Path.Combine(_tmp, "o1"));
        Assert.Equal(1, strict.Code);
        Assert.Contains(Path.GetFileName(images[1]), strict.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", strict.Err, StringComparison.Ordinal);

        string outDir = Path.Combine(_tmp, "o2");
        var lenient = Run("eval", "--model", "cgnet-camvid", "--weights", weights, "--data", data, "--out", outDir, "--skip-bad");
        Assert.True(lenient.Code == 0, lenient.Err);
        var m = Metrics(outDir);
        Assert.Equal(3, m.GetProperty("images").GetInt32());
        var skipped = m.GetProperty("skipped").EnumerateArray().Select(s => s.GetProperty("id").GetString()).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { Path.GetFileNameWithoutExtension(images[1]), Path.GetFileNameWithoutExtension(images[2]) }, skipped);
        Assert.Contains(Path.GetFileNameWithoutExtension(images[2]), File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);

        var missing = Run("eval", "--model", "cgnet-camvid", "--weights", weights, "--data", Path.Combine(_tmp, "nowhere"), "--out", Path.Combine(_tmp, "o3"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("nowhere", missing.Err, StringComparison.Ordinal);
        Assert.Equal(2, Run("eval", "--model", "cgnet-camvid", "--weights", weights, "--data", data, "--out", outDir, "--shard", "3/2").Code);
    }

    [Fact]
    public void Attack_writes_robustness_json_whose_worst_case_is_not_above_clean_and_a_report()
    {
        string outDir = Path.Combine(_tmp, "attack");
        var r = Run("attack", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"),
            "--data", Path.Combine(Samples, "camvid"), "--attack", "pgd", "--loss", "ce", "--steps", "2", "--eps", "1/255", "--limit", "1", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "robustness.json")));
        var atEps = doc.RootElement.GetProperty("eps")[0];
        double clean = atEps.GetProperty("clean").GetProperty("pixelAccuracy").GetDouble();
        double worst = atEps.GetProperty("worstCase").GetProperty("pixelAccuracy").GetDouble();
        Assert.InRange(clean, 50, 100);
        Assert.True(worst <= clean, $"worst case {worst} above clean {clean}");
        Assert.True(File.Exists(Path.Combine(outDir, "report.html")));
        var bad = Run("attack", "--model", "cgnet-camvid", "--data", Path.Combine(Samples, "camvid"), "--shard", "0/2", "--out", outDir);
        Assert.Equal(2, bad.Code);
        Assert.Contains("--shard", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_writes_label_maps_of_the_image_size_and_overlays()
    {
        string image = Directory.GetFiles(Path.Combine(Samples, "camvid", "val")).Order(StringComparer.Ordinal).First();
        string outDir = Path.Combine(_tmp, "pred");
        var r = Run("predict", "--model", "cgnet-camvid", "--weights", Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors"), "--input", image, "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        string id = Path.GetFileNameWithoutExtension(image);
        var labels = SegLab.Imaging.Png.Load(Path.Combine(outDir, id + ".png"));
        var truth = SegLab.Imaging.Png.Load(Path.Combine(Samples, "camvid", "valannot", id + ".png"));
        Assert.Equal((480, 360, 1), (labels.Width, labels.Height, labels.Channels));
        Assert.All(labels.Pixels, v => Assert.InRange(v, 0, 10));
        int agree = 0, valid = 0;
        for (int i = 0; i < labels.Pixels.Length; i++)
        {
            if (truth.Pixels[i] == 11) continue;
            valid++;
            if (truth.Pixels[i] == labels.Pixels[i]) agree++;
        }
        Assert.True(agree > 0.8 * valid, $"prediction agrees with the label on {agree} of {valid} pixels");
        var overlay = SegLab.Imaging.Png.Load(Path.Combine(outDir, id + "_overlay.png"));
        Assert.Equal((480, 360, 3), (overlay.Width, overlay.Height, overlay.Channels));
    }

    [Fact]
    public void Best_and_min_frame_distance_choose_the_shown_images_and_are_recorded()
    {
        // The five samples are frames 07959 ... 08159 of one sequence, 50 apart.
        string data = Path.Combine(Samples, "camvid");
        string spread = Path.Combine(_tmp, "spread"), plain = Path.Combine(_tmp, "plain");
        var r = Run("eval", "--model", "cgnet-camvid", "--data", data, "--worst", "2", "--best", "1", "--min-frame-distance", "60", "--out", spread);
        Assert.True(r.Code == 0, r.Err);
        var m = Metrics(spread).GetProperty("examples");
        Assert.Equal(2, m.GetProperty("worst").GetInt32());
        Assert.Equal(1, m.GetProperty("best").GetInt32());
        Assert.Equal(60, m.GetProperty("minFrameDistance").GetInt32());
        var frames = Shown(spread);
        Assert.InRange(frames.Count, 2, 3);
        foreach (var a in frames)
            foreach (var b in frames.Where(b => b != a)) Assert.True(Math.Abs(a - b) >= 60, $"frames {a} and {b} shown together");

        r = Run("eval", "--model", "cgnet-camvid", "--data", data, "--worst", "2", "--out", plain);
        Assert.True(r.Code == 0, r.Err);
        m = Metrics(plain).GetProperty("examples");
        Assert.Equal(2, m.GetProperty("best").GetInt32()); // as many as --worst
        Assert.Equal(SegLab.Evaluation.ExampleSelection.DefaultMinFrameDistance, m.GetProperty("minFrameDistance").GetInt32());
        Assert.Equal(4, Shown(plain).Count); // 50 frames apart is far enough for 30

        static List<long> Shown(string dir) => Directory.GetFiles(Path.Combine(dir, "examples"), "*.png")
            .Select(f => SegLab.Evaluation.ExampleSelection.Frame(Path.GetFileNameWithoutExtension(f))!.Value.Frame).ToList();
    }

    [Fact]
    public void A_table_model_runs_without_weights_where_its_pretrained_file_is_in_the_shared_folder_or_the_samples()
    {
        // Without ../shared (CI runs the suite that way too) CGNet's weights come from samples/models/.
        string outDir = Path.Combine(_tmp, "fallback");
        var r = Run("eval", "--model", "cgnet-camvid", "--data", Path.Combine(Samples, "camvid"), "--limit", "1", "--worst", "0", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        Assert.InRange(Metrics(outDir).GetProperty("mIoU").GetDouble(), 50, 100);
        string expected = SegLab.SharedData.Root is { } root && File.Exists(Path.Combine(root, SegLab.Models.ModelTable.Get("cgnet-camvid").WeightsFile!))
            ? Path.Combine(root, SegLab.Models.ModelTable.Get("cgnet-camvid").WeightsFile!)
            : Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors");
        Assert.Equal(Path.GetFullPath(expected), Path.GetFullPath(SegLab.Models.ModelTable.PretrainedWeights(SegLab.Models.ModelTable.Get("cgnet-camvid"))));
    }
}
