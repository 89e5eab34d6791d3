// Grad-CAM, Grad-CAM++ and Integrated Gradients on CGNet against PyTorch computations of the same definitions
// (tools/attribution_reference.py: CamVid val 0016E5_07959 at 120x160, class Car over the predicted Car pixels,
// layer bn_prelu_3, IG with a black baseline and 32 midpoint steps): correlation above 0.99 and the maximum at the
// same pixel. Runs on the sample CGNet weights shipped in samples/models, so it needs no ../shared.
using SegLab.Attribution;
using SegLab.Engine;
using SegLab.Engine.Serialization;
using SegLab.Models;

namespace SegLab.Tests.Attribution;

public sealed class CGNetReferenceTests
{
    private static readonly Lazy<(SegmentationModel Model, Dictionary<string, Tensor> Ref)> s_setup = new(() =>
        (ModelTable.Load("cgnet-camvid"),
         SafeTensors.Load(Path.Combine(TestPaths.SourceDir(), "Fixtures", "attribution", "cgnet_attribution_reference.safetensors")).ToTensors()));

    public static TheoryData<string, string> Cases() => new() { { "gradcam", "gradcam" }, { "gradcam++", "gradcampp" }, { "ig", "ig" } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Map_agrees_with_pytorch(string method, string tensor)
    {
        var (model, r) = s_setup.Value;
        const int h = 120, w = 160;
        var mask = r["mask"].ToArray().Select(v => v != 0).ToArray();
        var target = AttributionTarget.FromMask(8, mask, h, w, TargetRegion.Predicted);
        var map = AttributionTable.Create(method).Attribute(model, r["image"], target,
            new AttributionOptions { Layer = "bn_prelu_3", Steps = 32, BatchSize = 8, Baseline = IgBaseline.Black });
        var expected = r[tensor].ToArray();
        Assert.Equal(r["score"].ToArray()[0], map.TargetScore, 1e-3 * Math.Abs(map.TargetScore));
        double corr = Correlation(map.Values, expected);
        Assert.True(corr > 0.99, $"{method}: correlation {corr:F5} with PyTorch");
        int a = ArgMax(map.Values), b = ArgMax(expected);
        Assert.True(a == b, $"{method}: maximum at ({a % w},{a / w}), PyTorch's at ({b % w},{b / w})");
        if (method == "ig") Assert.Equal(r["ig_baseline_score"].ToArray()[0], map.BaselineScore!.Value, 1e-3 * Math.Abs(map.BaselineScore.Value));
    }

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double Correlation(float[] a, float[] b)
    {
        double ma = a.Average(v => (double)v), mb = b.Average(v => (double)v), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double da = a[i] - ma, db = b[i] - mb;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }
        return sab / Math.Sqrt(saa * sbb);
    }
}
