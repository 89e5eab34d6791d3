// Tests of the weak-supervision building blocks: crop tags against hand counts, the multi-label soft-margin loss
// against its closed form and central differences, the classifier's pooled logits against its CAM (pooling commutes
// with the 1x1 classifier), and CAM test-time augmentation (flip equivariance, tags, normalisation, batching).
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Models;
using SegLab.Weak;

namespace SegLab.Tests.Weak;

public sealed class ImageTagsTests
{
    // 4x6 map: classes 0 and 1 left, 2 right, 9 = void
    private static readonly int[] Label =
    [
        0, 0, 0, 2, 2, 2,
        0, 1, 0, 2, 2, 9,
        1, 1, 1, 2, 9, 9,
        1, 1, 1, 2, 9, 9,
    ];

    [Fact]
    public void Whole_image_tags_list_every_class_above_the_threshold_and_ignore_void()
    {
        var t = ImageTags.Of(0, "a", Label, 4, 6, 3, TagOptions.WholeImage());
        Assert.Single(t);
        Assert.Equal([0, 1, 2], t[0].Tags);
        // 5 zeros, 7 ones, 7 twos
        Assert.Equal([0, 1, 2], ImageTags.Of(0, "a", Label, 4, 6, 3, TagOptions.WholeImage(5))[0].Tags);
        Assert.Equal([1, 2], ImageTags.Of(0, "a", Label, 4, 6, 3, TagOptions.WholeImage(6))[0].Tags);
        Assert.Empty(ImageTags.Of(0, "a", Label, 4, 6, 3, TagOptions.WholeImage(8))[0].Tags);
    }

    [Fact]
    public void Crops_tile_the_image_with_their_own_tags()
    {
        var crops = ImageTags.Of(3, "a", Label, 4, 6, 3, new TagOptions(2, 3, 2, 3, 2));
        Assert.Equal(4, crops.Count);
        Assert.Equal([(0, 0), (0, 3), (2, 0), (2, 3)], crops.Select(c => (c.Y, c.X)).ToArray());
        Assert.Equal([0], crops[0].Tags);      // 5 zeros, 1 one (below 2)
        Assert.Equal([2], crops[1].Tags);      // 5 twos, void ignored
        Assert.Equal([1], crops[2].Tags);
        Assert.Equal([2], crops[3].Tags);      // 2 twos, 4 void
        Assert.All(crops, c => Assert.Equal(3, c.Index));
        Assert.Equal([0f, 0f, 1f], crops[1].Target(3));
        var stats = ImageTags.Statistics(crops, 3);
        Assert.Equal([1, 1, 2], stats.PerClass);
        Assert.Equal(1.0, stats.MeanTags);
        Assert.Equal(0, stats.Empty);
    }

    [Fact]
    public void Overlapping_strides_and_bad_settings()
    {
        Assert.Equal(2 * 4, ImageTags.Of(0, "a", Label, 4, 6, 3, new TagOptions(3, 3, 1, 1, 1)).Count);
        Assert.Contains("larger than image a", Assert.Throws<ArgumentException>(() => ImageTags.Of(0, "a", Label, 4, 6, 3, new TagOptions(5, 3, 1, 1, 1))).Message);
        Assert.Contains("stride", Assert.Throws<ArgumentException>(() => new TagOptions(2, 2, 0, 1, 1).Validate()).Message);
        Assert.Contains("exceeds", Assert.Throws<ArgumentException>(() => new TagOptions(2, 2, 1, 1, 5).Validate()).Message);
    }
}

public sealed class MultiLabelLossTests
{
    [Fact]
    public void Equals_the_closed_form_including_large_logits()
    {
        double[] x = [2.0, -1.5, 0.0, 40.0, -40.0, 0.3];
        double[] y = [1, 0, 1, 0, 0, 1];
        var loss = MultiLabelLoss.SoftMargin(Tensor.FromArray(x, 2, 3), Tensor.FromArray(y, 2, 3)).Item();
        double expected = 0;
        for (int i = 0; i < 6; i++)
        {
            double sp = Math.Log(1 + Math.Exp(-Math.Abs(x[i]))) + Math.Max(-x[i], 0); // -log sigma(x)
            double spn = sp + x[i];                                                   // -log sigma(-x)
            expected += y[i] * sp + (1 - y[i]) * spn;
        }
        Assert.Equal(expected / 6, loss, 10);
    }

    [Fact]
    public void Gradient_matches_central_differences()
    {
        double[] x = [0.7, -2.0, 1.1, 3.0, -0.2, 0.05];
        double[] y = [1, 0, 0, 1, 1, 0];
        var t = Tensor.FromArray((double[])x.Clone(), 2, 3);
        t.RequiresGrad = true;
        MultiLabelLoss.SoftMargin(t, Tensor.FromArray(y, 2, 3)).Backward();
        var g = t.Grad!.ToArrayF64();
        for (int i = 0; i < 6; i++)
        {
            double L(double d) { var a = (double[])x.Clone(); a[i] += d; return MultiLabelLoss.SoftMargin(Tensor.FromArray(a, 2, 3), Tensor.FromArray(y, 2, 3)).Item(); }
            Assert.Equal((L(1e-6) - L(-1e-6)) / 2e-6, g[i], 7);
            // and the analytic form (sigma(x) - y) / n
            Assert.Equal((1 / (1 + Math.Exp(-x[i])) - y[i]) / 6, g[i], 9);
        }
    }

    [Fact]
    public void Mismatched_shapes_are_an_error() =>
        Assert.Contains("[B, C]", Assert.Throws<ArgumentException>(() => MultiLabelLoss.SoftMargin(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2))).Message);
}

public sealed class CamTests
{
    private static TagClassifier Model(int classes = 3, long seed = 1)
    {
        var rng = new Rng(seed);
        var encoder = new Sequential(new Conv2d(3, 8, 3, stride: 2, padding: 1, rng: rng), Activation.ReLU(), new Conv2d(8, 6, 3, padding: 1, rng: rng));
        return new TagClassifier(encoder, 6, classes, Preprocessing.Identity, "test", rng);
    }

    [Fact]
    public void Pooled_logits_equal_the_mean_of_the_unrectified_cam()
    {
        var m = Model();
        m.Eval();
        var x = Tensor.Uniform([2, 3, 8, 10], 0, 1, 2);
        var logits = m.Forward(x).ToArray();
        var pre = m.Project(m.Features(x));
        int plane = pre.Size(2) * pre.Size(3);
        var a = pre.ToArray();
        for (int i = 0; i < 2 * 3; i++)
            Assert.Equal(logits[i], a.AsSpan(i * plane, plane).ToArray().Average(), 4);
    }

    [Fact]
    public void Flip_tta_cams_are_mirror_equivariant_normalised_and_zero_outside_the_tags()
    {
        var m = Model();
        var x = Tensor.Uniform([1, 3, 12, 16], 0, 1, 3);
        var opt = new CamOptions { Scales = [1.0, 0.5] };
        var cam = Cams.Compute(m, x, [[0, 2]], opt);
        var camMirror = Cams.Compute(m, Cams.FlipW(x), [[0, 2]], opt);
        var a = cam.ToArray();
        var b = Cams.FlipW(camMirror).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
        int plane = 12 * 16;
        Assert.All(a.AsSpan(plane, plane).ToArray(), v => Assert.Equal(0f, v));
        foreach (var k in new[] { 0, 2 })
        {
            var p = a.AsSpan(k * plane, plane).ToArray();
            Assert.True(p.Min() >= 0);
            Assert.InRange(p.Max(), 0.99f, 1f); // max / (max + 1e-5)
        }
        // without flip the same model is not mirror equivariant (so the test above can fail)
        var nf = Cams.Compute(m, x, [[0, 2]], opt with { Flip = false }).ToArray();
        var nfm = Cams.FlipW(Cams.Compute(m, Cams.FlipW(x), [[0, 2]], opt with { Flip = false })).ToArray();
        Assert.Contains(Enumerable.Range(0, nf.Length), i => Math.Abs(nf[i] - nfm[i]) > 1e-3);
    }

    [Fact]
    public void Batched_cams_equal_one_by_one()
    {
        var m = Model();
        var x = Tensor.Uniform([2, 3, 8, 8], 0, 1, 4);
        var both = Cams.Compute(m, x, [[0], [1, 2]]).ToArray();
        var x0 = Tensor.FromArray(x.ToArray()[..(3 * 64)], 1, 3, 8, 8);
        var x1 = Tensor.FromArray(x.ToArray()[(3 * 64)..], 1, 3, 8, 8);
        var one = Cams.Compute(m, x0, [[0]]).ToArray().Concat(Cams.Compute(m, x1, [[1, 2]]).ToArray()).ToArray();
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], both[i], 5);
        Assert.True(m.Training); // the mode is restored
    }

    [Fact]
    public void Bad_tags_and_scales_are_errors()
    {
        var m = Model();
        var x = Tensor.Uniform([1, 3, 8, 8], 0, 1, 4);
        Assert.Contains("tag 7", Assert.Throws<ArgumentException>(() => Cams.Compute(m, x, [[7]])).Message);
        Assert.Contains("scale", Assert.Throws<ArgumentException>(() => Cams.Compute(m, x, null, new CamOptions { Scales = [0] })).Message);
        Assert.Contains("2 tag lists", Assert.Throws<ArgumentException>(() => Cams.Compute(m, x, [[0], [1]])).Message);
    }
}

public sealed class FixedNormTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fixed_norm_keeps_the_encoder_statistics_while_training(bool fixedNorm)
    {
        var rng = new Rng(2);
        var bn = new BatchNorm2d(4);
        var encoder = new Sequential(new Conv2d(3, 4, 3, padding: 1, rng: rng), bn);
        var m = new TagClassifier(encoder, 4, 2, Preprocessing.Identity, "test", rng) { FixedNorm = fixedNorm };
        var before = bn.NamedBuffers().First(b => b.Key == "running_mean").Value.ToArray();
        m.TrainMode();
        m.Forward(Tensor.Uniform([2, 3, 6, 6], 0, 1, 3));
        var after = bn.NamedBuffers().First(b => b.Key == "running_mean").Value.ToArray();
        Assert.Equal(fixedNorm, before.SequenceEqual(after));
        Assert.True(m.Training);
        Assert.Equal(!fixedNorm, bn.Training);
    }
}
