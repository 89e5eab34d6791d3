// The algorithm x invariant matrix of STYLE.md for attributions: every method of the table against map size,
// zero attribution where the model provably does not look, batched = one by one, imported ONNX = native twin;
// then Integrated Gradients completeness at 64 steps for every baseline and Grad-CAM's closed form on a linear model.
using SegLab.Attribution;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Models;

namespace SegLab.Tests.Attribution;

public sealed class AttributionMethodTests
{
    public static TheoryData<string> Methods() => [.. AttributionTable.Names];

    private static AttributionOptions Fast(string layer) => new() { Steps = 12, Samples = 5, BatchSize = 4, Layer = layer, Seed = 3 };

    private static float MaxAbs(float[] v) => v.Select(Math.Abs).DefaultIfEmpty(0f).Max();

    [Theory]
    [MemberData(nameof(Methods))]
    public void Map_has_the_input_size_and_is_finite_and_not_all_zero(string method)
    {
        var model = AttributionModels.TinyNative();
        const int h = 18, w = 22;
        var image = AttributionModels.Image(h, w);
        // The predicted region of the most predicted class: where the model has positive evidence, so CAMs are not all zero.
        int[] pred;
        using (GradMode.NoGrad()) pred = [.. model.Predict(model.Forward(image.Reshape(1, 3, h, w))).ToArray().Select(v => (int)v)];
        int cls = pred.GroupBy(v => v).OrderByDescending(g => g.Count()).First().Key;
        var target = AttributionTarget.FromLabels(cls, pred, h, w, TargetRegion.Predicted);
        var map = AttributionTable.Create(method).Attribute(model, image, target, Fast("pw"));
        Assert.Equal(method, map.Method);
        Assert.Equal((h, w, h * w), (map.Height, map.Width, map.Values.Length));
        Assert.All(map.Values, v => Assert.True(float.IsFinite(v)));
        Assert.True(MaxAbs(map.Values) > 0, "the map is zero everywhere");
        Assert.True(double.IsFinite(map.TargetScore));
        Assert.Equal(AttributionTable.UsesLayer(method), map.Layer == "pw");
    }

    // HalfBlindNet zeroes every column from W/2 on before anything else. Gradient methods: exactly zero there.
    // CAM methods at layer "pool" (half resolution): the 3x3 convolution reaches one column into the blind half, the
    // 2x2 pool and the bilinear upsampling two more, so the map is exactly zero from column W/2 + 3 on.
    [Theory]
    [MemberData(nameof(Methods))]
    public void The_half_a_model_ignores_gets_zero_attribution(string method)
    {
        var model = new SegmentationModel("half-blind", new AttributionModels.HalfBlindNet().Eval(), Preprocessing.Identity, 3);
        const int h = 16, w = 20;
        var target = AttributionTarget.Box(0, 2, 2, 9, 14, h, w);
        var map = AttributionTable.Create(method).Attribute(model, AttributionModels.Image(h, w, seed: 5), target, Fast("pool"));
        int from = AttributionTable.UsesLayer(method) ? (w / 2) + 3 : w / 2;
        double seen = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float v = map.Values[(y * w) + x];
                if (x >= from) Assert.True(v == 0, $"{method}: attribution {v} at ({x},{y}), in the half the model ignores");
                else seen += Math.Abs(v);
            }
        Assert.True(seen > 0, $"{method}: no attribution in the half the model sees either");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Batched_and_one_by_one_give_the_same_map(string method)
    {
        var model = AttributionModels.TinyNative();
        const int h = 16, w = 16;
        var image = AttributionModels.Image(h, w, seed: 9);
        var target = AttributionTarget.Box(2, 0, 0, 10, 16, h, w);
        var m = AttributionTable.Create(method);
        var one = m.Attribute(model, image, target, Fast("pw") with { BatchSize = 1 });
        var many = m.Attribute(model, image, target, Fast("pw") with { BatchSize = 7 });
        float scale = MaxAbs(one.Values);
        for (int i = 0; i < one.Values.Length; i++)
            Assert.True(Math.Abs(one.Values[i] - many.Values[i]) <= 1e-5 * scale, $"{method}: pixel {i}: {one.Values[i]} one by one, {many.Values[i]} batched");
        Assert.Equal(one.Forwards, many.Forwards);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void An_imported_onnx_model_gives_the_map_of_its_native_twin(string method)
    {
        const int h = 20, w = 14;
        var image = AttributionModels.Image(h, w, seed: 4);
        var target = AttributionTarget.Box(3, 2, 5, 12, 17, h, w);
        var m = AttributionTable.Create(method);
        var native = m.Attribute(AttributionModels.TinyNative(), image, target, Fast("pw"));
        var onnx = m.Attribute(AttributionModels.TinyOnnx(), image, target, Fast("pw"));
        Assert.Equal(native.TargetScore, onnx.TargetScore, 1e-4 * Math.Max(1, Math.Abs(native.TargetScore)));
        float scale = MaxAbs(native.Values);
        Assert.True(scale > 0);
        for (int i = 0; i < native.Values.Length; i++)
            Assert.True(Math.Abs(native.Values[i] - onnx.Values[i]) <= 1e-4 * scale, $"{method}: pixel {i}: native {native.Values[i]}, ONNX {onnx.Values[i]}");
    }

    // Completeness: the map sums to F(x) - F(baseline). With 64 midpoint steps on the tiny net (PReLU kinks, a
    // sigmoid gate) the stated tolerance is 0.5% of the map's total absolute attribution sum |a_i| (measured: at most
    // 0.05%). |F(x) - F(x')| is not the scale: on the tiny net a mean-colour or blurred baseline scores within 1% of
    // the image while the map's parts are 30-50 times larger, and they cancel.
    [Theory]
    [InlineData(IgBaseline.Black)]
    [InlineData(IgBaseline.Blurred)]
    [InlineData(IgBaseline.MeanColour)]
    [InlineData(IgBaseline.UniformNoise)]
    public void Integrated_gradients_is_complete_within_half_a_percent_at_64_steps(IgBaseline baseline)
    {
        var model = AttributionModels.TinyNative();
        const int h = 24, w = 24;
        var target = AttributionTarget.Box(1, 3, 3, 20, 18, h, w);
        var map = new IntegratedGradients().Attribute(model, AttributionModels.Image(h, w, seed: 2), target,
            new AttributionOptions { Steps = 64, BatchSize = 16, Baseline = baseline, BlurSigma = 3, Seed = 8 });
        double delta = map.TargetScore - map.BaselineScore!.Value;
        Assert.True(Math.Abs(delta) > 1e-3, $"the baseline scores like the image ({delta}): completeness would say nothing");
        Assert.Equal(map.Values.Sum(v => (double)v) - delta, map.CompletenessError!.Value, 1e-3 * Math.Abs(delta));
        double size = map.Values.Sum(v => Math.Abs((double)v));
        Assert.True(Math.Abs(map.CompletenessError.Value) < 0.005 * size, $"{baseline}: completeness error {map.CompletenessError} against a map of total |a| {size} (F(x) - F(x') = {delta})");
        Assert.Equal(64 + 2, map.Forwards);
    }

    // For logits = W2 (W1 x + b1) + b2 and layer feat: A_k = W1_k x + b1_k, dS/dA_k(p) = W2[c, k] M(p), so the Grad-CAM
    // weight is W2[c, k] |M| / HW and the map is ReLU(sum_k W2[c, k] |M| / HW * A_k), computed here from the weights alone.
    [Fact]
    public void Grad_cam_of_a_linear_model_equals_its_closed_form()
    {
        var net = new AttributionModels.LinearNet();
        net.Eval();
        var model = new SegmentationModel("linear", net, Preprocessing.Identity, 3);
        const int h = 9, w = 13, cls = 2;
        var image = AttributionModels.Image(h, w, seed: 6);
        var target = AttributionTarget.Box(cls, 1, 2, 8, 7, h, w);
        var map = new GradCam().Attribute(model, image, target, new AttributionOptions { Layer = "feat" });
        var x = image.ToArray();
        var w1 = net.Feat.Weight.ToArray();
        var b1 = net.Feat.Bias!.ToArray();
        var w2 = net.Head.Weight.ToArray();
        int n = h * w;
        double area = target.Pixels / (double)n;
        for (int p = 0; p < n; p++)
        {
            double cam = 0;
            for (int k = 0; k < 5; k++)
            {
                double a = b1[k];
                for (int c = 0; c < 3; c++) a += w1[(k * 3) + c] * x[(c * n) + p];
                cam += w2[(cls * 5) + k] * area * a;
            }
            Assert.Equal(Math.Max(0, cam), map.Values[p], 1e-5);
        }
    }

    [Fact]
    public void Gradient_x_input_of_a_linear_model_sums_to_the_score_less_the_black_image_score()
    {
        var model = new SegmentationModel("linear", new AttributionModels.LinearNet().Eval(), Preprocessing.Identity, 3);
        const int h = 7, w = 8;
        var target = AttributionTarget.Box(0, 0, 0, 5, 7, h, w);
        var image = AttributionModels.Image(h, w, seed: 12);
        var gxi = new GradientXInput().Attribute(model, image, target);
        var ig = new IntegratedGradients().Attribute(model, image, target, new AttributionOptions { Steps = 3 });
        // Linear: IG is exact at any step count and equals gradient x input.
        Assert.True(Math.Abs(ig.CompletenessError!.Value) < 1e-4 * Math.Max(1, Math.Abs(ig.TargetScore)));
        for (int i = 0; i < gxi.Values.Length; i++) Assert.Equal(ig.Values[i], gxi.Values[i], 1e-5);
    }

    [Fact]
    public void Signed_saliency_sums_channels_and_absolute_saliency_takes_the_largest_magnitude()
    {
        var model = AttributionModels.TinyNative();
        const int h = 12, w = 12;
        var image = AttributionModels.Image(h, w, seed: 13);
        var target = AttributionTarget.Pixel(0, 5, 6, h, w);
        var abs = new Saliency().Attribute(model, image, target);
        var signed = new Saliency().Attribute(model, image, target, new AttributionOptions { Signed = true });
        Assert.All(abs.Values, v => Assert.True(v >= 0));
        Assert.Contains(signed.Values, v => v < 0);
        for (int i = 0; i < abs.Values.Length; i++) Assert.True(Math.Abs(signed.Values[i]) <= 3 * abs.Values[i] + 1e-7f);
    }

    [Fact]
    public void An_unknown_method_or_layer_lists_the_valid_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => AttributionTable.Create("occlusion"));
        Assert.Contains("gradcam", e.Message, StringComparison.Ordinal);
        Assert.Contains("ig", e.Message, StringComparison.Ordinal);
        var model = AttributionModels.TinyNative();
        var image = AttributionModels.Image(8, 8);
        var target = AttributionTarget.Pixel(0, 1, 1, 8, 8);
        var l = Assert.Throws<ArgumentException>(() => new GradCam().Attribute(model, image, target, new AttributionOptions { Layer = "pw.nope" }));
        Assert.Contains("'pw.nope'", l.Message, StringComparison.Ordinal);
        Assert.Contains("stem", l.Message, StringComparison.Ordinal);
        Assert.Contains("pw.conv", l.Message, StringComparison.Ordinal);
        var none = Assert.Throws<ArgumentException>(() => new GradCam().Attribute(model, image, target));
        Assert.Contains("no default CAM layer", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_target_class_the_model_does_not_have_is_refused()
    {
        var model = AttributionModels.TinyNative();
        var target = AttributionTarget.Pixel(4, 1, 1, 8, 8);
        var e = Assert.Throws<ArgumentException>(() => new Saliency().Attribute(model, AttributionModels.Image(8, 8), target));
        Assert.Contains("class 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("4 output channels", e.Message, StringComparison.Ordinal);
        var other = AttributionTarget.Pixel(1, 1, 1, 8, 9);
        var s = Assert.Throws<ArgumentException>(() => new Saliency().Attribute(model, AttributionModels.Image(8, 8), other));
        Assert.Contains("9x8", s.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_onnx_graph_offers_a_module_output_as_its_native_twin_does()
    {
        var x = AttributionModels.Image(10, 12).ToArray();
        float[] Capture(SegmentationModel m, string layer)
        {
            using var _ = GradMode.NoGrad();
            using var cap = FeatureCapture.Start(m.Network, layer);
            m.Forward(Tensor.FromArray((float[])x.Clone(), 1, 3, 10, 12));
            return cap[layer].ToArray();
        }
        foreach (var layer in new[] { "stem", "pw", "pw.conv", "head" })
        {
            var a = Capture(AttributionModels.TinyNative(), layer);
            var b = Capture(AttributionModels.TinyOnnx(), layer);
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-4);
        }
    }
}
