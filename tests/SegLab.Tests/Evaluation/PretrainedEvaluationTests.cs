using System.Text.Json;
using SegLab.Data;
using SegLab.Evaluation;
using SegLab.Models;
using Xunit.Abstractions;

namespace SegLab.Tests.Evaluation;

/// <summary>
/// Issue 4's acceptance: the pretrained CamVid models evaluated on the whole val split reproduce PyTorch's figures
/// (../shared/reference/*_val_metrics.json) within 0.1 point, dataset-wise, image-wise and per class.
/// </summary>
public sealed class PretrainedEvaluationTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData("cgnet-camvid", "argmax_all")]
    [InlineData("espnet-camvid", "argmax_first11")]
    public void Val_split_metrics_match_pytorch(string model, string variant)
    {
        var shared = TestPaths.RequireShared("the pretrained evaluation on CamVid val");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "reference", $"{model}_val_metrics.json")));
        var reference = doc.RootElement.GetProperty("variants").GetProperty(variant);
        var data = Datasets.Open(Path.Combine(shared, "data", "camvid"), "val");
        var result = Evaluator.Run(ModelTable.Load(model), data, new EvaluationOptions { WorstImages = 0 });
        var s = result.Summary;
        double refMiou = 100 * reference.GetProperty("strict").GetProperty("miou").GetDouble();
        double refImage = 100 * reference.GetProperty("image_miou").GetDouble();
        output.WriteLine($"{model}: mIoU {s.MIoU:F3} (PyTorch {refMiou:F3}), image mIoU {s.ImageMIoU:F3} (PyTorch {refImage:F3}), {result.ImagesPerSecond:F2} images/s");
        Assert.Equal(101, s.Images);
        Assert.InRange(s.MIoU, refMiou - 0.1, refMiou + 0.1);
        Assert.InRange(s.ImageMIoU, refImage - 0.1, refImage + 0.1);
        var perClass = reference.GetProperty("strict").GetProperty("iou").EnumerateArray().Select(x => 100 * x.GetDouble()).ToArray();
        for (int c = 0; c < 11; c++)
            Assert.True(Math.Abs(s.PerClassIoU[c] - perClass[c]) < 0.1, $"{data.Classes.Names[c]}: IoU {s.PerClassIoU[c]:F3}, PyTorch {perClass[c]:F3}");
    }
}
