namespace SegLab.Engine.Tests;

public class BatchNormReluTests
{
    [Theory]
    [InlineData(true, 16)]
    [InlineData(true, 21)]
    [InlineData(false, 21)]
    public void Fused_equals_batch_norm_then_relu_in_values_statistics_and_gradients(bool training, int plane)
    {
        var x = Tensor.Uniform([3, 4, 1, plane], -2, 2, 1).RequireGrad();
        var w = Tensor.Uniform([4], 0.5, 1.5, 2).RequireGrad();
        var b = Tensor.Uniform([4], -0.5, 0.5, 3).RequireGrad();
        var gOut = Tensor.Uniform([3, 4, 1, plane], -1, 1, 7);
        var (rm1, rv1) = (Tensor.Uniform([4], -0.3, 0.3, 5), Tensor.Uniform([4], 0.5, 2, 6));
        var (rm2, rv2) = (rm1.Clone(), rv1.Clone());
        var fused = Ops.BatchNormRelu(x, w, b, rm1, rv1, training, 0.2, 1e-3);
        var plain = Ops.Relu(Ops.BatchNorm2d(x, w, b, rm2, rv2, training, 0.2, 1e-3));
        Assert.Equal(plain.ToArray(), fused.ToArray()); // same arithmetic, bit for bit
        Assert.Equal(rm2.ToArray(), rm1.ToArray());
        Assert.Equal(rv2.ToArray(), rv1.ToArray());
        Assert.Contains(fused.ToArray(), v => v == 0); // the ReLU is active somewhere, so the mask is exercised
        var gf = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(fused, gOut)), [x, w, b]);
        var gp = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(plain, gOut)), [x, w, b]);
        for (int k = 0; k < 3; k++)
        {
            var p = gp[k].ToArray();
            var f = gf[k].ToArray();
            for (int i = 0; i < p.Length; i++) Assert.True(Math.Abs(p[i] - f[i]) <= 1e-5 * (1 + Math.Abs(p[i])), $"grad {k}[{i}]: {p[i]} vs {f[i]}");
        }
    }

    [Fact]
    public void Keeps_nan_and_names_itself_in_errors()
    {
        var x = Tensor.FromArray([1f, float.NaN, -1f, 2f], 1, 1, 2, 2);
        var y = Ops.BatchNormRelu(x, null, null, Tensor.Zeros(1), Tensor.Ones(1), training: false);
        Assert.True(float.IsNaN(y.ToArray()[1]));
        var e = Assert.Throws<ArgumentException>(() => Ops.BatchNormRelu(x, Tensor.Ones(3), null, Tensor.Zeros(1), Tensor.Ones(1), training: false));
        Assert.Contains("batch_norm_relu", e.Message, StringComparison.Ordinal);
    }
}
