// Guided backpropagation and Guided Grad-CAM beyond the method x invariant matrix: without rectifiers the guided map
// is the plain gradient's channel mean; with them (the tiny net's PReLUs and ReLU) it differs and equals the engine's
// guided input gradient; Guided Grad-CAM is Grad-CAM times guided backpropagation; SmoothGrad batches guided copies.
using SegLab.Attribution;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Models;

namespace SegLab.Tests.Attribution;

public sealed class GuidedMethodTests
{
    private static float[] InputGrad(SegmentationModel model, Tensor image, AttributionTarget target, bool guided)
    {
        int h = image.Size(1), w = image.Size(2);
        Tensor logits;
        var x = Tensor.FromArray(image.ToArray(), 1, 3, h, w);
        using (GradMode.EnableGrad())
        {
            x.RequiresGrad = true;
            logits = model.Forward(x);
        }
        var seed = new float[logits.Numel];
        target.Seed(seed);
        using (guided ? BackwardRules.Guided() : default)
            return Tape.Grad(logits, [x], Tensor.FromArray(seed, logits.ShapeArray()))[0].ToArray();
    }

    private static float[] ChannelMean(float[] g, int pixels) =>
        [.. Enumerable.Range(0, pixels).Select(i => (g[i] + g[pixels + i] + g[(2 * pixels) + i]) / 3f)];

    [Fact]
    public void Without_rectifiers_guided_backprop_is_the_plain_gradient_averaged_over_channels()
    {
        var model = new SegmentationModel("linear", new AttributionModels.LinearNet().Eval(), Preprocessing.Identity, 3);
        const int h = 7, w = 9;
        var image = AttributionModels.Image(h, w, seed: 2);
        var target = AttributionTarget.Box(1, 1, 1, 6, 5, h, w);
        var map = new GuidedBackprop().Attribute(model, image, target);
        var expected = ChannelMean(InputGrad(model, image, target, guided: false), h * w);
        Assert.Equal(expected, map.Values);
    }

    [Fact]
    public void On_a_net_with_rectifiers_it_is_the_guided_input_gradient_and_not_the_plain_one()
    {
        var model = AttributionModels.TinyNative();
        const int h = 16, w = 18;
        var image = AttributionModels.Image(h, w, seed: 7);
        var target = AttributionTarget.Box(2, 3, 2, 14, 12, h, w);
        var map = new GuidedBackprop().Attribute(model, image, target);
        var guided = ChannelMean(InputGrad(model, image, target, guided: true), h * w);
        var plain = ChannelMean(InputGrad(model, image, target, guided: false), h * w);
        float scale = guided.Max(Math.Abs);
        for (int i = 0; i < guided.Length; i++) Assert.True(Math.Abs(guided[i] - map.Values[i]) <= 1e-6 * scale, $"pixel {i}: {map.Values[i]} vs {guided[i]}");
        double diff = guided.Zip(plain, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff > 1e-3 * scale, $"the guided map equals the plain gradient (largest difference {diff})");
        Assert.Equal((1, 1), (map.Forwards, map.Backwards));
    }

    [Fact]
    public void Guided_grad_cam_is_grad_cam_times_guided_backprop()
    {
        var model = AttributionModels.TinyNative();
        const int h = 14, w = 20;
        var image = AttributionModels.Image(h, w, seed: 3);
        // The predicted region of the most predicted class, where Grad-CAM has positive evidence (not all zero).
        int[] pred;
        using (GradMode.NoGrad()) pred = [.. model.Predict(model.Forward(image.Reshape(1, 3, h, w))).ToArray().Select(v => (int)v)];
        int cls = pred.GroupBy(v => v).OrderByDescending(g => g.Count()).First().Key;
        var target = AttributionTarget.FromLabels(cls, pred, h, w, TargetRegion.Predicted);
        var options = new AttributionOptions { Layer = "pw" };
        var ggc = new GuidedGradCam().Attribute(model, image, target, options);
        var cam = new GradCam().Attribute(model, image, target, options).Values;
        var gb = new GuidedBackprop().Attribute(model, image, target).Values;
        float scale = ggc.Values.Max(Math.Abs);
        Assert.True(scale > 0);
        for (int i = 0; i < cam.Length; i++)
            Assert.True(Math.Abs((cam[i] * gb[i]) - ggc.Values[i]) <= 1e-5 * scale, $"pixel {i}: {ggc.Values[i]} vs {cam[i]} x {gb[i]}");
        Assert.Equal(("pw", 1, 2), (ggc.Layer, ggc.Forwards, ggc.Backwards));
    }

    [Fact]
    public void Smoothgrad_of_guided_backprop_batches_its_copies_and_keeps_the_guided_rule()
    {
        var model = AttributionModels.TinyNative();
        const int h = 12, w = 12;
        var image = AttributionModels.Image(h, w, seed: 5);
        var target = AttributionTarget.Box(0, 2, 2, 10, 10, h, w);
        var sg = new SmoothGrad(new GuidedBackprop());
        var one = sg.Attribute(model, image, target, new AttributionOptions { Samples = 6, BatchSize = 1, Seed = 4 });
        var many = sg.Attribute(model, image, target, new AttributionOptions { Samples = 6, BatchSize = 4, Seed = 4 });
        var noNoise = sg.Attribute(model, image, target, new AttributionOptions { Samples = 2, NoiseLevel = 0 });
        var gb = new GuidedBackprop().Attribute(model, image, target);
        Assert.Equal("smoothgrad-guided", one.Method);
        float scale = one.Values.Max(Math.Abs);
        for (int i = 0; i < one.Values.Length; i++)
        {
            Assert.True(Math.Abs(one.Values[i] - many.Values[i]) <= 1e-5 * scale, $"pixel {i}: batch 1 {one.Values[i]}, batch 4 {many.Values[i]}");
            Assert.Equal(gb.Values[i], noNoise.Values[i], 1e-6 * gb.Values.Max(Math.Abs));
        }
    }
}
