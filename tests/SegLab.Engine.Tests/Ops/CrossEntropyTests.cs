// Cross-entropy behaviour beyond the gradient table: the definition, the reductions' relations, ignored pixels
// (all ignored -> NaN with Mean, as PyTorch, and a zero gradient), bad targets, and float32 accuracy of the fused
// kernels (fast exponential, vector body and tail) on wide logits.
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests;

public class CrossEntropyTests
{
    private static double Reference(double[] logits, int n, int c, int s, int img, int pix, int y)
    {
        double m = double.NegativeInfinity;
        for (int k = 0; k < c; k++) m = Math.Max(m, logits[(img * c + k) * s + pix]);
        double sum = 0;
        for (int k = 0; k < c; k++) sum += Math.Exp(logits[(img * c + k) * s + pix] - m);
        return m + Math.Log(sum) - logits[(img * c + y) * s + pix];
    }

    [Fact]
    public void Matches_the_definition_with_weights_and_ignored_pixels()
    {
        var logits = Tensor.Uniform(new Rng(1), [2, 4, 3, 5], -4, 4, DType.Float64);
        var t = new double[2 * 15];
        for (int i = 0; i < t.Length; i++) t[i] = i % 7 == 2 ? 255 : (i * 5) % 4;
        var target = Tensor.FromArray(t, 2, 3, 5);
        double[] w = [0.3, 1.7, 1, 2.5];
        var weights = Tensor.FromArray(w, 4);
        var none = Ops.CrossEntropy(logits, target, 255, weights, Reduction.None);
        Assert.Equal(new[] { 2, 3, 5 }, none.ShapeArray());
        var x = logits.ToArrayF64();
        double sum = 0, wsum = 0;
        for (int i = 0; i < t.Length; i++)
        {
            int img = i / 15, pix = i % 15;
            double expected = t[i] == 255 ? 0 : w[(int)t[i]] * Reference(x, 2, 4, 15, img, pix, (int)t[i]);
            Assert.Equal(expected, none.ToArrayF64()[i], 12);
            sum += expected;
            if (t[i] != 255) wsum += w[(int)t[i]];
        }
        Assert.Equal(sum, Ops.CrossEntropy(logits, target, 255, weights, Reduction.Sum).Item(), 11);
        Assert.Equal(sum / wsum, Ops.CrossEntropy(logits, target, 255, weights).Item(), 12);
        Assert.Equal(0, Ops.CrossEntropy(logits, target, 255, weights).Rank);
    }

    [Fact]
    public void All_ignored_gives_nan_with_mean_zero_with_sum_and_a_zero_gradient()
    {
        var logits = Tensor.Uniform(new Rng(2), [2, 3, 2, 2], -1, 1).RequireGrad();
        var target = Tensor.Full(-100f, 2, 2, 2);
        var mean = Ops.CrossEntropy(logits, target);
        Assert.True(double.IsNaN(mean.Item()));
        Assert.All(Tape.Grad(mean, [logits])[0].ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(0, Ops.CrossEntropy(logits, target, reduction: Reduction.Sum).Item());
        Assert.All(Ops.CrossEntropy(logits, target, reduction: Reduction.None).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Ignore_index_may_be_a_class_id()
    {
        var logits = Tensor.FromArray(new double[] { 1, 2, 0.5, -1, 3, 0 }, 1, 3, 2);
        var target = Tensor.FromArray(new double[] { 2, 1 }, 1, 2);
        double lse0 = Math.Log(Math.Exp(1) + Math.Exp(0.5) + Math.Exp(3));
        Assert.Equal(lse0 - 3, Ops.CrossEntropy(logits, target, ignoreIndex: 1).Item(), 12);
    }

    [Fact]
    public void Bad_targets_name_the_value_and_the_class_count()
    {
        var logits = Tensor.Zeros(2, 3, 2, 2);
        var t = Tensor.Zeros(2, 2, 2);
        t.SetFlat(5, 3);
        var e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, t));
        Assert.Contains("cross_entropy", e.Message, StringComparison.Ordinal);
        Assert.Contains("target value 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("3 classes", e.Message, StringComparison.Ordinal);
        t.SetFlat(5, -1);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, t));
        Assert.Contains("target value -1", e.Message, StringComparison.Ordinal);
        t.SetFlat(5, 1.5);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, t));
        Assert.Contains("target value 1.5", e.Message, StringComparison.Ordinal);
        t.SetFlat(5, double.NaN);
        Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, t));
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.Zeros(2, 2)));
        Assert.Contains("[2, 3, 2, 2]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.Zeros(2, 2, 2), classWeights: Tensor.Ones(4)));
        Assert.Contains("3 classes", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, 1)]      // [N, C]
    [InlineData(19, 37)]    // 37-pixel planes: vector body and a tail
    [InlineData(5, 2500)]   // three chunks per image, the last one partial
    public void Float32_matches_float64_on_wide_logits(int classes, int pixels)
    {
        var logits64 = Tensor.Uniform(new Rng(classes * 1000 + pixels), [2, classes, pixels], -60, 60, DType.Float64);
        var t = Tensor.Zeros(DType.Float64, 2, pixels);
        for (int i = 0; i < t.Numel; i++) t.SetFlat(i, i % 9 == 4 ? -100 : (i * 11) % classes);
        var w = Tensor.Uniform(new Rng(5), [classes], 0.5, 2, DType.Float64);
        var x32 = logits64.To(DType.Float32).RequireGrad();
        var x64 = x32.To(DType.Float64).Detach().RequireGrad(); // the same values in both precisions
        var g = Tensor.Uniform(new Rng(6), [2, pixels], -1, 1, DType.Float64);
        var y32 = Ops.CrossEntropy(x32, t.To(DType.Float32), classWeights: w.To(DType.Float32), reduction: Reduction.None);
        var y64 = Ops.CrossEntropy(x64, t, classWeights: w, reduction: Reduction.None);
        var a = y64.ToArrayF64();
        var b = y32.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5 * (1 + Math.Abs(a[i])), $"loss {i}: {a[i]} vs {b[i]}");
        var g32 = Tape.Grad(y32, [x32], g.To(DType.Float32))[0].ToArray();
        var g64 = Tape.Grad(y64, [x64], g)[0].ToArrayF64();
        for (int i = 0; i < g64.Length; i++) Assert.True(Math.Abs(g64[i] - g32[i]) <= 1e-6 + 1e-5 * Math.Abs(g64[i]), $"gradient {i}: {g64[i]} vs {g32[i]}");
        var m32 = Ops.CrossEntropy(x32, t.To(DType.Float32), classWeights: w.To(DType.Float32)).Item();
        var m64 = Ops.CrossEntropy(x64, t, classWeights: w).Item();
        Assert.True(Math.Abs(m32 - m64) <= 1e-5 * (1 + Math.Abs(m64)), $"mean {m32} vs {m64}");
    }

    [Fact]
    public void Extreme_logits_stay_finite_and_infinite_ones_follow_ieee()
    {
        var logits = Tensor.FromArray(new float[] { 1000, -1000, 0, 0, 0, 0, 0, 0, 0, 0, -1000, 1000, 0, 0, 0, 0, 0, 0, 0, 0 }, 1, 2, 10);
        var t = Tensor.Zeros(1, 10);
        var y = Ops.CrossEntropy(logits, t, reduction: Reduction.None).ToArray();
        Assert.Equal(0f, y[0]);
        Assert.Equal(2000f, y[1]);
        Assert.Equal((float)Math.Log(2), y[2], 6);
        logits.SetFlat(5, float.NaN);
        Assert.True(float.IsNaN(Ops.CrossEntropy(logits, t, reduction: Reduction.None).ToArray()[5]));
    }

    [Fact]
    public void Mean_is_independent_of_the_thread_count()
    {
        var logits = Tensor.Uniform(new Rng(8), [4, 5, 64, 64], -3, 3);
        var t = Tensor.Zeros(4, 64, 64);
        for (int i = 0; i < t.Numel; i++) t.SetFlat(i, (i * 7) % 5);
        int saved = SegLab.Engine.Threading.Parallelism.Threads;
        try
        {
            SegLab.Engine.Threading.Parallelism.SetThreads(1);
            double one = Ops.CrossEntropy(logits, t).Item();
            SegLab.Engine.Threading.Parallelism.SetThreads(2);
            Assert.Equal(one, Ops.CrossEntropy(logits, t).Item());
        }
        finally
        {
            SegLab.Engine.Threading.Parallelism.SetThreads(saved);
        }
    }
}
