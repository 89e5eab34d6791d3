using SegLab.Contextrast;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Models;

namespace SegLab.Tests.Contextrast;

public class ContextrastLossTests
{
    private static Tensor UnitRows(Rng rng, int p, int d, DType dtype = DType.Float64)
    {
        var z = Tensor.Normal(rng, [p, d], 0, 1, dtype);
        return ProjectionHeads.Normalize(z, 1).Detach();
    }

    [Fact]
    public void Anchors_are_class_means_and_absent_classes_are_zero()
    {
        var z = UnitRows(new Rng(1), 6, 3);
        int[] y = [0, 2, 0, -1, 2, 2];
        var a = ContextrastLoss.ClassAnchors(z, y, 4, out var counts);
        Assert.Equal([2L, 0, 3, 0], counts);
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 3; j++)
            {
                var rows = Enumerable.Range(0, 6).Where(i => y[i] == c).ToArray();
                double mean = rows.Length == 0 ? 0 : rows.Average(i => z[i, j]);
                Assert.Equal(mean, a[c, j], 12);
            }
    }

    [Fact]
    public void Pixel_anchor_loss_matches_the_formula_in_float64()
    {
        var rng = new Rng(2);
        int p = 7, k = 3;
        var z = UnitRows(rng, p, 4);
        var anchors = Ops.Mul(UnitRows(rng, k, 4), 0.8).Detach();
        var neg = new double[p * k];
        var wts = new double[p * k];
        neg[0 * k + 1] = neg[3 * k + 1] = neg[5 * k + 0] = neg[6 * k + 2] = 1;
        wts[1 * k + 1] = wts[2 * k + 1] = 0.25;
        wts[4 * k + 0] = wts[6 * k + 0] = 0.25;
        double tau = 0.2;
        double Dot(int i, int n) => Enumerable.Range(0, 4).Sum(j => z[i, j] * anchors[n, j]) / tau;
        double expected = 0;
        for (int i = 0; i < p; i++)
            for (int n = 0; n < k; n++)
            {
                if (wts[i * k + n] == 0) continue;
                double negs = Enumerable.Range(0, p).Where(q => neg[q * k + n] > 0).Sum(q => Math.Exp(Dot(q, n)));
                expected += wts[i * k + n] * -Math.Log(Math.Exp(Dot(i, n)) / (Math.Exp(Dot(i, n)) + negs));
            }
        Assert.Equal(expected, ContextrastLoss.PixelAnchorLoss(z, anchors, neg, wts, tau).Item(), 10);
    }

    [Fact]
    public void Pixel_anchor_loss_gradients_match_central_differences()
    {
        var rng = new Rng(3);
        int p = 7, k = 2, d = 3;
        var z = UnitRows(rng, p, d).Clone().RequireGrad();
        var a = Ops.Mul(UnitRows(rng, k, d), 0.7).Detach().Clone().RequireGrad();
        var neg = new double[p * k];
        var wts = new double[p * k];
        neg[0] = neg[3] = neg[4 * k + 1] = neg[5 * k + 1] = 1;
        wts[1 * k + 0] = wts[2 * k + 1] = wts[3 * k + 1] = 0.3;
        Tensor Loss() => ContextrastLoss.PixelAnchorLoss(z, a, neg, wts, 0.1);
        var grads = Tape.Grad(Loss(), [z, a]);
        foreach (var (x, g) in new[] { (z, grads[0]), (a, grads[1]) })
        {
            var data = x.SpanF64;
            for (int i = 0; i < x.Numel; i++)
            {
                double saved = data[i];
                data[i] = saved + 1e-6;
                double up = Loss().Item();
                data[i] = saved - 1e-6;
                double down = Loss().Item();
                data[i] = saved;
                Assert.Equal((up - down) / 2e-6, g.SpanF64[i], 6);
            }
        }
        // With the anchors as inputs, pixel 6 (in no mask) gets exactly zero gradient.
        var g0 = grads[0];
        int unused = Enumerable.Range(0, p).First(i => Enumerable.Range(0, k).All(n => neg[i * k + n] == 0 && wts[i * k + n] == 0));
        for (int j = 0; j < d; j++) Assert.Equal(0, g0[unused, j]);
    }

    [Fact]
    public void Negatives_go_to_the_predicted_or_the_true_anchor()
    {
        long[] counts = [5, 5, 0];
        var samples = new[] { new BaneSample(0, 0, 1, 1), new BaneSample(1, 1, 2, 1) };
        var byPred = ContextrastLoss.NegativeMask(samples, counts, 2, NegativeAssignment.PredictedClass);
        Assert.Equal([0, 1, 0, 0, 0, 0], byPred);   // pixel 1 predicted as class 2, which has no anchor: dropped
        var byTrue = ContextrastLoss.NegativeMask(samples, counts, 2, NegativeAssignment.TrueClass);
        Assert.Equal([1, 0, 0, 0, 1, 0], byTrue);
    }

    [Fact]
    public void Bane_keeps_the_boundary_nearest_half_of_the_errors()
    {
        // One 8x8 image: class 1 is a 6x6 square, entirely predicted as 0; class 0 is predicted correctly.
        int h = 8, w = 8;
        var labels = new int[h * w];
        var pred = new int[h * w];
        for (int y = 1; y < 7; y++) for (int x = 1; x < 7; x++) labels[y * w + x] = 1;
        var s = Bane.Select(labels, pred, 1, h, w, 2, 0.5, 0);
        Assert.Equal(18, s.Count);
        Assert.All(s, b => Assert.Equal((1, 0), (b.TrueClass, b.PredictedClass)));
        var chosen = s.Select(b => b.Pixel).ToHashSet();
        // The outer ring of the square (20 pixels at distance 1) holds the nearest errors; the 16 inner ones are farther.
        Assert.All(s, b => Assert.Equal(1, b.SquaredDistance));
        foreach (int i in chosen) { int y = i / w, x = i % w; Assert.True(y == 1 || y == 6 || x == 1 || x == 6); }
        var capped = Bane.Select(labels, pred, 1, h, w, 2, 1.0, 5);
        Assert.Equal(5, capped.Count);
        Assert.Empty(Bane.Select(labels, labels, 1, h, w, 2, 0.5, 0));
    }

    [Fact]
    public void Loss_on_a_unet_is_finite_and_trains_heads_and_network()
    {
        var net = new UNet(3, [4, 8, 8, 8], rng: new Rng(4));
        var model = new SegmentationModel("t", net, Preprocessing.Identity, 3);
        var o = new ContextrastOptions { Enabled = true, Dim = 8 };
        var loss = ContextrastLoss.ForModel(o, model, net.StageNames, 255, new Rng(5));
        Assert.Equal(4, loss.Heads.Count);
        var x = Tensor.Uniform(new Rng(6), [2, 3, 16, 16]);
        var labels = new int[2 * 16 * 16];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 16 < 5 ? 0 : i % 16 < 11 ? 1 : i % 7 == 0 ? 255 : 2;
        Tensor pa;
        using (var cap = FeatureCapture.Start(net, [.. net.StageNames]))
        {
            var logits = model.Forward(x);
            pa = loss.Compute(net.StageNames.Select(s => cap[s]).ToArray(), logits, labels, new Rng(7));
        }
        Assert.True(double.IsFinite(pa.Item()) && pa.Item() > 0, $"L_PA = {pa.Item()}");
        pa.Backward();
        Assert.All(loss.Heads.Parameters(), p => Assert.NotNull(p.Grad));
        Assert.NotNull(net.Encoder.NamedParameters().First().Value.Grad);
    }

    [Fact]
    public void Fusion_weight_zero_and_detached_anchors_are_honoured()
    {
        var net = new UNet(3, [4, 8], rng: new Rng(4));
        var model = new SegmentationModel("t", net, Preprocessing.Identity, 3);
        var labels = Enumerable.Range(0, 2 * 8 * 8).Select(i => i % 3).ToArray();
        var x = Tensor.Uniform(new Rng(6), [2, 3, 8, 8]);
        double Run(ContextrastOptions o)
        {
            var l = ContextrastLoss.ForModel(o with { StageWeights = [1.0, 0.5] }, model, net.StageNames, 255, new Rng(5));
            using var cap = FeatureCapture.Start(net, [.. net.StageNames]);
            var logits = model.Forward(x);
            return l.Compute(net.StageNames.Select(s => cap[s]).ToArray(), logits, labels, new Rng(7)).Item();
        }
        var baseOpt = new ContextrastOptions { Dim = 4 };
        Assert.NotEqual(Run(baseOpt), Run(baseOpt with { FusionDeepWeight = 0 }));
        Assert.Equal(Run(baseOpt), Run(baseOpt with { DetachAnchors = true }), 6);
    }
}
