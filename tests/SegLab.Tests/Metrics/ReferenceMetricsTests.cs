// The PyTorch reference metrics of the pretrained CamVid models (../shared/reference/*_val_metrics.json): the
// summed 11x12 confusion matrices (the twelfth column: predictions of void) rebuilt as records must give the stored
// dataset mIoU, pixel accuracy, class accuracy and per-class IoU. Returns early with a message where ../shared is absent.
using System.Text.Json;
using SegLab.Metrics;
using Xunit.Abstractions;

namespace SegLab.Tests.Metrics;

public sealed class ReferenceMetricsTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, double> Cases => new()
    {
        { "cgnet-camvid", "argmax_all", 85.68 },
        { "espnet-camvid", "argmax_first11", 69.35 },
        { "espnet-camvid", "argmax_all", 70.10 },
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void SummedConfusion_GivesPyTorchFigures(string model, string variant, double headlineMIoU)
    {
        var shared = TestPaths.RequireShared("the PyTorch reference metrics");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(shared, "reference", $"{model}_val_metrics.json")));
        var v = doc.RootElement.GetProperty("variants").GetProperty(variant);
        var rows = v.GetProperty("confusion_11x12").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        const int k = 11;
        Assert.Equal(k, rows.Length);
        var acc = new MetricAccumulator(k);
        acc.Add(ImageConfusion.FromMatrix("val", rows.SelectMany(r => r).ToArray(), k, rows[0].Length));
        var s = acc.Summarize();

        var strict = v.GetProperty("strict");
        Assert.Equal(doc.RootElement.GetProperty("non_void_pixels").GetInt64(), s.ValidPixels);
        Assert.Equal(100 * strict.GetProperty("miou").GetDouble(), s.MIoU, 1e-6);
        Assert.Equal(100 * strict.GetProperty("pixel_acc").GetDouble(), s.PixelAccuracy, 1e-6);
        Assert.Equal(100 * strict.GetProperty("class_acc").GetDouble(), s.MeanClassAccuracy, 1e-6);
        var iou = strict.GetProperty("iou").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        for (int c = 0; c < k; c++) Assert.Equal(100 * iou[c], s.PerClassIoU[c], 1e-6);
        Assert.Equal(headlineMIoU, Math.Round(s.MIoU, 2), 1e-9);

        // Image-wise mIoU needs per-image counts; use them where the reference stores them.
        var perImage = v.GetProperty("per_image");
        if (!perImage[0].TryGetProperty("confusion", out _))
        {
            output.WriteLine($"{model}/{variant}: the reference has no per-image confusion matrices; image mIoU is checked by evaluating the model.");
            return;
        }
        var images = new MetricAccumulator(k);
        foreach (var img in perImage.EnumerateArray())
        {
            var m = img.GetProperty("confusion").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetInt64())).ToArray();
            images.Add(ImageConfusion.FromMatrix(img.GetProperty("image").GetString()!, m, k, m.Length / k));
        }
        Assert.Equal(100 * v.GetProperty("image_miou").GetDouble(), images.Summarize().ImageMIoU, 1e-6);
    }
}
