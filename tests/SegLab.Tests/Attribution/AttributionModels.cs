// Small models with known structure for the attribution tests: the tiny parity net (native twin and its PyTorch
// ONNX export, the same weights), a model that provably ignores the right half of its input, and a linear model
// whose Grad-CAM has a closed form.
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Engine.Serialization;
using SegLab.Models;
using SegLab.Onnx;
using SegLab.Tests.Models;

namespace SegLab.Tests.Attribution;

internal static class AttributionModels
{
    private static string Fixture(params string[] parts) => Path.Combine([TestPaths.SourceDir(), "Fixtures", .. parts]);

    /// <summary>The native tiny net (4 classes; its "pw" block is a half-resolution feature map) with the fixture's weights.</summary>
    public static SegmentationModel TinyNative()
    {
        var net = new TinyNetParityTests.TinyNet();
        net.LoadStateDict(SafeTensors.Load(Fixture("tinynet", "tiny_net.safetensors")).ToTensors(), strict: true);
        net.Eval();
        return new SegmentationModel("tiny-native", net, Preprocessing.Identity, 4);
    }

    /// <summary>PyTorch's opset-17 export of the same net and weights.</summary>
    public static SegmentationModel TinyOnnx() =>
        new("tiny-onnx", OnnxGraph.Load(Fixture("onnx", "tiny_net_opset17.onnx")), Preprocessing.Identity, 4);

    /// <summary>A seeded image [3, H, W] in [0, 1].</summary>
    public static Tensor Image(int h, int w, long seed = 1)
    {
        var rng = new Rng(seed);
        var x = new float[3 * h * w];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        return Tensor.FromArray(x, 3, h, w);
    }

    /// <summary>
    /// Multiplies its input by zero at every column from W/2 on, then conv 3x3 (no bias) + ReLU ("features", full
    /// resolution), 2x2 average pool ("pool"), 1x1 head and bilinear upsampling: the logits provably do not depend on
    /// the right half of the image.
    /// </summary>
    internal sealed class HalfBlindNet : Module
    {
        private readonly Sequential _features;
        private readonly AvgPool2d _pool;
        private readonly Conv2d _head;

        public HalfBlindNet(int classes = 3, long seed = 7)
        {
            var rng = new Rng(seed);
            _features = RegisterModule("features", new Sequential(new Conv2d(3, 6, 3, padding: 1, bias: false, rng: rng), Activation.LeakyReLU(0.1)));
            _pool = RegisterModule("pool", new AvgPool2d(2));
            _head = RegisterModule("head", new Conv2d(6, classes, 1, rng: rng));
        }

        protected override Tensor ForwardCore(Tensor x)
        {
            int h = x.Size(2), w = x.Size(3);
            var keep = new float[h * w];
            for (int y = 0; y < h; y++) keep.AsSpan(y * w, w / 2).Fill(1f);
            var seen = Ops.Mul(x, Tensor.FromArray(keep, 1, 1, h, w));
            var logits = _head.Forward(_pool.Forward(_features.Forward(seen)));
            return Ops.Interpolate(logits, h, w, InterpolationMode.Bilinear);
        }
    }

    /// <summary>logits = head(feat(x)), both 1x1 convolutions with bias: linear in the image.</summary>
    internal sealed class LinearNet : Module
    {
        public LinearNet(int classes = 3, long seed = 11)
        {
            var rng = new Rng(seed);
            Feat = RegisterModule("feat", new Conv2d(3, 5, 1, rng: rng));
            Head = RegisterModule("head", new Conv2d(5, classes, 1, rng: rng));
        }

        public Conv2d Feat { get; }

        public Conv2d Head { get; }

        protected override Tensor ForwardCore(Tensor x) => Head.Forward(Feat.Forward(x));
    }
}
