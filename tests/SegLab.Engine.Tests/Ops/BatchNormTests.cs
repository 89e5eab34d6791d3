// Batch norm behaviour beyond the gradient table: the running-statistics update (PyTorch's momentum and unbiased
// variance), eval against train, buffers staying off the tape, float64 accumulation, and the error messages.
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests;

public class BatchNormTests
{
    [Fact]
    public void Training_updates_running_stats_with_momentum_and_unbiased_variance()
    {
        // channel 0 holds 1, 2, 10, 20; channel 1 holds 3, 4, 30, 40 (two images, 2x1 planes)
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 10, 20, 30, 40 }, 2, 2, 2, 1);
        var rm = Tensor.FromArray(new float[] { 0.5f, -1 }, 2);
        var rv = Tensor.FromArray(new float[] { 2, 1 }, 2);
        var y = Ops.BatchNorm2d(x, null, null, rm, rv, training: true, momentum: 0.25, eps: 0);
        double[][] ch = [[1, 2, 10, 20], [3, 4, 30, 40]];
        double[] rm0 = [0.5, -1], rv0 = [2, 1];
        for (int c = 0; c < 2; c++)
        {
            double mean = ch[c].Average();
            double ss = ch[c].Sum(v => (v - mean) * (v - mean));
            Assert.Equal(0.75 * rm0[c] + 0.25 * mean, rm.Span[c], 5);
            Assert.Equal(0.75 * rv0[c] + 0.25 * ss / 3, rv.Span[c], 4); // unbiased: / (M - 1)
            Assert.Equal((ch[c][0] - mean) / Math.Sqrt(ss / 4), y[0, c, 0, 0], 5); // normalised with the biased variance
        }
    }

    [Fact]
    public void Eval_uses_running_stats_and_leaves_them_alone()
    {
        var x = Tensor.Uniform(new Rng(3), [3, 2, 4, 5], -2, 3);
        var rm = Tensor.FromArray(new float[] { 0.3f, -0.7f }, 2);
        var rv = Tensor.FromArray(new float[] { 1.7f, 0.4f }, 2);
        var w = Tensor.FromArray(new float[] { 1.5f, -0.5f }, 2);
        var b = Tensor.FromArray(new float[] { 0.1f, 2 }, 2);
        var ye = Ops.BatchNorm2d(x, w, b, rm, rv, training: false, eps: 1e-3);
        Assert.Equal(new[] { 0.3f, -0.7f }, rm.ToArray());
        Assert.Equal(new[] { 1.7f, 0.4f }, rv.ToArray());
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 2; c++)
                for (int k = 0; k < 20; k++)
                {
                    double expected = (x[i, c, k / 5, k % 5] - rm.Span[c]) / Math.Sqrt(rv.Span[c] + 1e-3) * w.Span[c] + b.Span[c];
                    Assert.Equal(expected, ye[i, c, k / 5, k % 5], 5);
                }
        // training on the same input normalises with the batch statistics instead: a different result
        var yt = Ops.BatchNorm2d(x, w, b, rm.Clone(), rv.Clone(), training: true, eps: 1e-3);
        Assert.True(ye.ToArray().Zip(yt.ToArray()).Max(p => Math.Abs(p.First - p.Second)) > 0.1);
        // and each training channel has mean b and std |w| (biased)
        for (int c = 0; c < 2; c++)
        {
            var vals = Enumerable.Range(0, 60).Select(j => yt[j / 20, c, j % 20 / 5, j % 5]).ToArray();
            Assert.Equal(b.Span[c], vals.Average(), 4);
            double sd = Math.Sqrt(vals.Sum(v => (v - vals.Average()) * (v - vals.Average())) / 60);
            Assert.Equal(Math.Abs(w.Span[c]) * Math.Sqrt(Variance(x, c) / (Variance(x, c) + 1e-3)), sd, 4);
        }
    }

    private static double Variance(Tensor x, int c)
    {
        var v = Enumerable.Range(0, 60).Select(j => x[j / 20, c, j % 20 / 5, j % 5]).ToArray();
        double m = v.Average();
        return v.Sum(t => (t - m) * (t - m)) / v.Length;
    }

    [Fact]
    public void Running_stats_stay_off_the_tape_and_later_updates_do_not_change_the_gradient()
    {
        var x = Tensor.Uniform(new Rng(4), [2, 3, 2, 2], -1, 1, DType.Float64).RequireGrad();
        var rm = Tensor.Zeros(DType.Float64, 3);
        var rv = Tensor.Ones(DType.Float64, 3);
        var y = Ops.BatchNorm2d(x, null, null, rm, rv, training: false);
        var g1 = Tape.Grad(Ops.Sum(Ops.Mul(y, y)), [x])[0].ToArrayF64();
        Assert.False(rm.RequiresGrad);
        Assert.False(rv.RequiresGrad);
        // an eval-mode output's gradient uses the statistics of its own forward, not the buffers' later values
        var y2 = Ops.BatchNorm2d(x, null, null, rm, rv, training: false);
        Ops.BatchNorm2d(x.Detach(), null, null, rm, rv, training: true, momentum: 0.9);
        var g2 = Tape.Grad(Ops.Sum(Ops.Mul(y2, y2)), [x])[0].ToArrayF64();
        Assert.Equal(g1, g2);
    }

    [Fact]
    public void Float32_statistics_accumulate_in_float64()
    {
        // a large offset and a large plane: float32 running sums would lose the small spread
        int hw = 300 * 300;
        var data = new float[2 * hw];
        var rng = new Rng(9);
        for (int i = 0; i < data.Length; i++) data[i] = 1000f + (float)rng.NextNormal() * 0.01f;
        var x = Tensor.FromArray(data, 2, 1, 300, 300);
        var rm = Tensor.Zeros(1);
        var rv = Tensor.Zeros(1);
        var y = Ops.BatchNorm2d(x, null, null, rm, rv, training: true, momentum: 1, eps: 0);
        double mean = data.Select(v => (double)v).Average();
        double var = data.Select(v => ((double)v - mean) * ((double)v - mean)).Sum() / (data.Length - 1);
        Assert.Equal(mean, rm.Span[0], 3);
        Assert.True(Math.Abs(var - rv.Span[0]) < 1e-3 * var, $"running var {rv.Span[0]} vs {var}");
        var yv = y.ToArray();
        double ym = yv.Average(v => (double)v);
        // y = x * s + t in float32 (as PyTorch) rounds x * s ~ 1e5 to 0.008: the output mean is only that good
        Assert.True(Math.Abs(ym) < 1e-2, $"normalised mean {ym}");
    }

    [Fact]
    public void Errors_name_the_op_and_the_shapes()
    {
        var x = Tensor.Zeros(2, 3, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => Ops.BatchNorm2d(x, Tensor.Ones(2), null, Tensor.Zeros(3), Tensor.Ones(3), true));
        Assert.Contains("batch_norm", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3, 4, 4]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.BatchNorm2d(Tensor.Zeros(1, 3), null, null, Tensor.Zeros(3), Tensor.Ones(3), training: true));
        Assert.Contains("more than one value per channel", e.Message, StringComparison.Ordinal);
        // one value per channel is fine in eval mode
        Ops.BatchNorm2d(Tensor.Zeros(1, 3), null, null, Tensor.Zeros(3), Tensor.Ones(3), training: false);
        Assert.Throws<ArgumentException>(() => Ops.BatchNorm2d(Tensor.Zeros(3), null, null, Tensor.Zeros(3), Tensor.Ones(3), true));
    }
}
