// Classifier targets ([N, C] logits) through the one attribution signature: the bad targets as one-line errors, every
// method on a GAP + bias-free linear classifier (SegLab.Weak.TagClassifier), zero attribution where the classifier
// provably does not look, Grad-CAM equal to the classifier's closed-form CAM, a superclass scored and attributed as
// the sum of its members, shares that sum to one, and the recognition side's crop window.
using SegLab.Attribution;
using SegLab.Attribution.Context;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Models;
using SegLab.Weak;

namespace SegLab.Tests.Attribution;

public sealed class ClassifierTargetTests
{
    public static TheoryData<string> Methods() => [.. AttributionTable.Names];

    private static AttributionOptions Fast => new() { Steps = 12, Samples = 5, BatchSize = 4, Seed = 3 };

    /// <summary>conv 3x3 (no bias) + LeakyReLU, then an optional 2x2 average pool; with <c>blind</c> the input's columns from W/2 on are multiplied by zero first.</summary>
    private sealed class Encoder : Module
    {
        private readonly Sequential _features;
        private readonly AvgPool2d? _pool;
        private readonly bool _blind;

        public Encoder(bool pool, bool blind, int kernel = 3, long seed = 7)
        {
            var rng = new Rng(seed);
            _features = RegisterModule("features", new Sequential(new Conv2d(3, 6, kernel, padding: kernel / 2, bias: false, rng: rng), Activation.LeakyReLU(0.1)));
            _pool = pool ? RegisterModule("pool", new AvgPool2d(2)) : null;
            _blind = blind;
        }

        protected override Tensor ForwardCore(Tensor x)
        {
            if (_blind)
            {
                int h = x.Size(2), w = x.Size(3);
                var keep = new float[h * w];
                for (int y = 0; y < h; y++) keep.AsSpan(y * w, w / 2).Fill(1f);
                x = Ops.Mul(x, Tensor.FromArray(keep, 1, 1, h, w));
            }
            var f = _features.Forward(x);
            return _pool is null ? f : _pool.Forward(f);
        }
    }

    private static (TagClassifier Net, SegmentationModel Model) Classifier(bool pool = true, bool blind = false, int kernel = 3, int classes = 3)
    {
        var net = new TagClassifier(new Encoder(pool, blind, kernel), 6, classes, Preprocessing.Identity, "test", new Rng(5));
        net.Eval();
        return (net, new SegmentationModel("tiny-classifier", net, Preprocessing.Identity, classes));
    }

    private static float[] Logits(SegmentationModel model, Tensor image)
    {
        using var _ = GradMode.NoGrad();
        return model.Forward(image.Reshape(1, 3, image.Size(1), image.Size(2))).ToArray();
    }

    [Fact]
    public void Empty_repeated_or_negative_class_sets_are_refused_in_one_line()
    {
        var empty = Assert.Throws<ArgumentException>(() => AttributionTarget.ForClasses([], "vehicle"));
        Assert.Contains("'vehicle' is empty", empty.Message);
        Assert.Contains("repeats a class", Assert.Throws<ArgumentException>(() => AttributionTarget.ForClasses([1, 2, 1])).Message);
        Assert.Contains("class -1 is negative", Assert.Throws<ArgumentException>(() => AttributionTarget.ForClass(-1)).Message);
        foreach (var e in new[] { empty })
            Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_class_the_classifier_does_not_have_and_a_target_of_the_wrong_kind_are_refused()
    {
        var (_, model) = Classifier();
        var image = AttributionModels.Image(12, 16);
        var missing = Assert.Throws<ArgumentException>(() => new Saliency().Attribute(model, image, AttributionTarget.ForClasses([0, 5], "vehicle"), Fast));
        Assert.Contains("class 5 is not a class of the classifier (it has 3 classes, 0 to 2)", missing.Message);
        var mask = Assert.Throws<ArgumentException>(() => new GradCam().Attribute(model, image, AttributionTarget.Box(0, 1, 1, 5, 5, 12, 16), Fast));
        Assert.Contains("is a classifier", mask.Message);
        var seg = new SegmentationModel("linear", new AttributionModels.LinearNet().Eval(), Preprocessing.Identity, 3);
        var cls = Assert.Throws<ArgumentException>(() => new Saliency().Attribute(seg, image, AttributionTarget.ForClass(1), Fast));
        Assert.Contains("segments", cls.Message);
        Assert.All(new[] { missing, mask, cls }, e => Assert.DoesNotContain('\n', e.Message));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_gives_a_classifier_map_of_the_input_size_whose_shares_sum_to_one(string method)
    {
        var (_, model) = Classifier();
        const int h = 12, w = 16;
        var image = AttributionModels.Image(h, w, seed: 2);
        var logits = Logits(model, image);
        var map = AttributionTable.Create(method).Attribute(model, image, AttributionTarget.ForClass(1), Fast);
        Assert.Equal((h, w, h * w), (map.Height, map.Width, map.Values.Length));
        Assert.All(map.Values, v => Assert.True(float.IsFinite(v)));
        Assert.True(map.Values.Any(v => v != 0), $"{method}: the map is zero everywhere");
        Assert.Equal(logits[1], map.TargetScore, 1e-4);
        Assert.Equal(AttributionTable.UsesLayer(method), map.Layer == "encoder");   // the classifier's default CAM layer: the map it pools
        var mask = new bool[h * w];
        for (int y = 3; y < 9; y++) mask.AsSpan((y * w) + 4, 7).Fill(true);
        var s = ContextShares.Compute(map.Values, mask);
        if (double.IsFinite(s.ObjectShare)) Assert.Equal(1, s.ObjectShare + s.ContextShare, 1e-9);
    }

    // The encoder zeroes every column from W/2 on before anything else. Gradient methods: exactly zero there. CAM methods
    // at the encoder's output (half resolution): the 3x3 convolution reaches one column into the blind half, the 2x2 pool
    // and the bilinear upsampling two more, so the map is exactly zero from column W/2 + 3 on.
    [Theory]
    [MemberData(nameof(Methods))]
    public void The_half_a_classifier_ignores_gets_zero_attribution(string method)
    {
        var (_, model) = Classifier(blind: true);
        const int h = 16, w = 20;
        var map = AttributionTable.Create(method).Attribute(model, AttributionModels.Image(h, w, seed: 5), AttributionTarget.ForClass(0), Fast);
        int from = AttributionTable.UsesLayer(method) ? (w / 2) + 3 : w / 2;
        double seen = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float v = map.Values[(y * w) + x];
                if (x >= from) Assert.True(v == 0, $"{method}: attribution {v} at ({x},{y}), in the half the classifier ignores");
                else seen += Math.Abs(v);
            }
        Assert.True(seen > 0, $"{method}: no attribution in the half the classifier sees either");
    }

    // logits_c = (1/hw) sum_p sum_k W_ck F_k(p), so dS/dF_k(p) = W_ck / hw, the Grad-CAM weight is W_ck / hw and the map
    // is ReLU(sum_k W_ck F_k) / hw = the classifier's own CAM (TagClassifier.Cam) / hw; at full resolution (no pool, a
    // 1x1 convolution) no upsampling enters. For a superclass the weights are the members' summed rows.
    [Theory]
    [InlineData(new[] { 2 })]
    [InlineData(new[] { 0, 2 })]
    public void Grad_cam_of_a_gap_and_bias_free_linear_classifier_is_its_cam_over_the_area(int[] classes)
    {
        var (net, model) = Classifier(pool: false, kernel: 1);
        const int h = 9, w = 13;
        var image = AttributionModels.Image(h, w, seed: 6);
        var map = new GradCam().Attribute(model, image, AttributionTarget.ForClasses(classes), Fast);
        float[] f;
        using (GradMode.NoGrad()) f = net.Features(image.Reshape(1, 3, h, w)).ToArray();
        var wt = net.Weight.ToArray();
        int n = h * w;
        for (int p = 0; p < n; p++)
        {
            double cam = 0;
            for (int k = 0; k < 6; k++)
                foreach (int c in classes) cam += wt[(c * 6) + k] * f[(k * n) + p];
            Assert.Equal(Math.Max(0, cam) / n, map.Values[p], 1e-6);
        }
        var logits = Logits(model, image);
        Assert.Equal(classes.Sum(c => (double)logits[c]), map.TargetScore, 1e-4);
    }

    [Fact]
    public void A_superclass_map_of_a_gradient_method_is_the_sum_of_its_members_maps()
    {
        var (_, model) = Classifier();
        var image = AttributionModels.Image(12, 16, seed: 8);
        var gxi = new GradientXInput();
        var both = gxi.Attribute(model, image, AttributionTarget.ForClasses([0, 1], "pair"), Fast);
        var a = gxi.Attribute(model, image, AttributionTarget.ForClass(0), Fast);
        var b = gxi.Attribute(model, image, AttributionTarget.ForClass(1), Fast);
        for (int i = 0; i < both.Values.Length; i++) Assert.Equal(a.Values[i] + b.Values[i], both.Values[i], 1e-5);
        Assert.Equal(a.TargetScore + b.TargetScore, both.TargetScore, 1e-4);
    }

    [Fact]
    public void The_recognition_crop_is_centred_on_the_object_and_shifted_inside_the_image()
    {
        var (net, _) = Classifier();
        var table = new ClassTable("t", [new ClassInfo(0, "Road", 0, 0, 0), new ClassInfo(1, "Car", 1, 1, 1), new ClassInfo(2, "Pole", 2, 2, 2)], ignoreIndex: 255);
        var side = new RecognitionSide("tiny", net, ["Road", "Car", "Pole"], table, cropHeight: 8, cropWidth: 10);
        const int h = 20, w = 30;
        ContextInstance Inst((int, int, int, int) box)
        {
            var mask = new bool[h * w];
            for (int y = box.Item2; y < box.Item4; y++) mask.AsSpan((y * w) + box.Item1, box.Item3 - box.Item1).Fill(true);
            return new ContextInstance("img#0", "img", 0, 1, mask, h, w, mask.Count(m => m), box, 0);
        }
        Assert.Equal((10, 6, 10, 8), side.Window(Inst((13, 8, 17, 12))));   // centre (15, 10): columns 10..19, rows 6..13
        Assert.Equal((0, 12, 10, 8), side.Window(Inst((0, 17, 2, 20))));    // at the bottom-left corner: shifted inside
        var view = side.View(Inst((13, 8, 17, 12)));
        Assert.Equal(16, view.Mask.Count(m => m));
        Assert.True(view.Mask[(2 * 10) + 3] && !view.Mask[(1 * 10) + 3]);      // (13, 8) is (3, 2) in the crop
        Assert.True(view.Target.IsClassifier);
        Assert.Equal(1, view.Target.Class);
        var small = new RecognitionSide("tiny", net, ["Road", "Car", "Pole"], table, cropHeight: 50, cropWidth: 50);
        Assert.Equal((0, 0, w, h), small.Window(Inst((13, 8, 17, 12))));   // an image smaller than the crop is cropped to itself
        var unknown = new RecognitionSide("tiny", net, ["Road", "Bus", "Pole"], table, 8, 10);
        Assert.Contains("'Car' is not a class of classifier tiny (its classes: Road, Bus, Pole)", Assert.Throws<ArgumentException>(() => unknown.CheckClass(1, "Car")).Message);
    }
}
