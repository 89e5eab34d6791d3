// Dropout: the kept fraction and the 1/(1-p) scaling, reproducible masks from the seed, identity outside training,
// whole-channel masks for Dropout2d, the gradient being the mask, and the p checks.
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests;

public class DropoutTests
{
    [Theory]
    [InlineData(0.25)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void Keeps_about_one_minus_p_and_scales_the_rest(double p)
    {
        var x = Tensor.Ones(200_001); // odd: the last element uses half a draw
        var y = Ops.Dropout(x, p, training: true, new Rng(1)).ToArray();
        double kept = y.Count(v => v != 0) / (double)y.Length;
        Assert.InRange(kept, 1 - p - 0.005, 1 - p + 0.005);
        float scale = 1f / (float)(1 - p);
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(scale, v));
    }

    [Fact]
    public void Same_seed_same_mask_and_the_gradient_is_the_mask()
    {
        var x = Tensor.Uniform(new Rng(2), [4, 3, 5, 5], -1, 1, DType.Float64).RequireGrad();
        var y1 = Ops.Dropout(x, 0.3, training: true, new Rng(42));
        var y2 = Ops.Dropout(x, 0.3, training: true, new Rng(42));
        Assert.Equal(y1.ToArrayF64(), y2.ToArrayF64());
        Assert.NotEqual(y1.ToArrayF64(), Ops.Dropout(x, 0.3, training: true, new Rng(43)).ToArrayF64());
        var g = Tape.Grad(Ops.Sum(y1), [x])[0].ToArrayF64();
        var xv = x.ToArrayF64();
        var yv = y1.ToArrayF64();
        for (int i = 0; i < g.Length; i++)
        {
            Assert.True(g[i] == 0 || Math.Abs(g[i] - 1 / 0.7) < 1e-12, $"gradient {g[i]}");
            Assert.Equal(xv[i] * g[i], yv[i], 14);
        }
    }

    [Fact]
    public void Identity_when_not_training_or_p_is_zero()
    {
        var x = Tensor.Uniform(new Rng(3), [2, 3], -1, 1);
        Assert.Same(x, Ops.Dropout(x, 0.5, training: false, new Rng(1)));
        Assert.Same(x, Ops.Dropout(x, 0, training: true, new Rng(1)));
        Assert.Same(x, Ops.Dropout2d(x, 0.5, training: false, new Rng(1)));
    }

    [Fact]
    public void Probability_outside_zero_to_one_is_an_error()
    {
        var x = Tensor.Ones(4);
        foreach (double p in new[] { 1.0, -0.1, 1.5, double.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, p, true, new Rng(1)));
            Assert.Contains("dropout", e.Message, StringComparison.Ordinal);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, 1, training: false, new Rng(1)));
        Assert.Throws<ArgumentException>(() => Ops.Dropout2d(x, 0.5, true, new Rng(1)));
    }

    [Fact]
    public void Dropout2d_drops_whole_channels()
    {
        var x = Tensor.Ones(8, 16, 3, 4);
        var y = Ops.Dropout2d(x, 0.5, training: true, new Rng(5));
        int dropped = 0;
        for (int n = 0; n < 8; n++)
            for (int c = 0; c < 16; c++)
            {
                var plane = Enumerable.Range(0, 12).Select(k => y[n, c, k / 4, k % 4]).Distinct().ToArray();
                Assert.Single(plane);
                Assert.True(plane[0] == 0 || plane[0] == 2, $"channel value {plane[0]}");
                if (plane[0] == 0) dropped++;
            }
        Assert.InRange(dropped, 32, 96); // about half of 128 channels
    }
}
