// Values of layer normalisation and GELU against hand computations, and their shape errors.
namespace SegLab.Engine.Tests;

public class TransformerOpTests
{
    [Fact]
    public void Layer_norm_rows_have_mean_zero_and_unit_variance_then_scale_and_shift()
    {
        var x = Tensor.FromArray(new double[] { 1, 2, 3, 4, -1, 0, 0, 5 }, 2, 4);
        var w = Tensor.FromArray(new double[] { 1, 2, 1, 1 }, 4);
        var b = Tensor.FromArray(new double[] { 0, 0, 0, 10 }, 4);
        var y = Ops.LayerNorm(x, w, b, eps: 1e-12).ToArrayF64();
        // row 0: mean 2.5, var 1.25
        double s = Math.Sqrt(1.25);
        Assert.Equal(-1.5 / s, y[0], 9);
        Assert.Equal(2 * -0.5 / s, y[1], 9);
        Assert.Equal(0.5 / s, y[2], 9);
        Assert.Equal(1.5 / s + 10, y[3], 9);
        var plain = Ops.LayerNorm(x, null, null).ToArrayF64();
        for (int r = 0; r < 2; r++)
        {
            var row = plain.Skip(4 * r).Take(4).ToArray();
            Assert.Equal(0, row.Average(), 9);
            Assert.Equal(1, row.Select(v => v * v).Average(), 4);
        }
    }

    [Fact]
    public void Layer_norm_names_a_weight_of_the_wrong_size()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.LayerNorm(Tensor.Zeros(2, 4), Tensor.Zeros(3), null));
        Assert.Contains("weight [3] must be [4]", e.Message);
    }

    [Fact]
    public void Gelu_tanh_matches_its_formula_and_is_near_exact_gelu()
    {
        var xs = new double[] { -3, -1, -0.25, 0, 0.5, 2 };
        var y = Ops.GeluTanh(Tensor.FromArray(xs, xs.Length)).ToArrayF64();
        for (int i = 0; i < xs.Length; i++)
        {
            double v = xs[i];
            Assert.Equal(0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))), y[i], 12);
        }
        Assert.Equal(0, y[3]);
        Assert.True(Math.Abs(y[5] - 2 * 0.9772498680518208) < 5e-4); // exact GELU(2) = 2 Phi(2)
    }
}
