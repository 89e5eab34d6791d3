// Pointwise activations at and around their kinks in both precisions, through the vector body and the scalar tail,
// with PyTorch's gradient conventions; NaN handling as PyTorch's scalar kernels; PReLU slopes.
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests;

public class ActivationKinkTests
{
    // 17 values: two 8-wide vectors and a tail in float32, four 4-wide vectors and a tail in float64.
    private static readonly double[] Kinks = [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, -3, 3, 0, 6, -0.5];

    private static (double[] Y, double[] G) Eval(Func<Tensor, Tensor> f, DType dtype)
    {
        var x = Tensor.FromArray(Kinks, Kinks.Length).To(dtype).RequireGrad();
        var y = f(x);
        var g = Tape.Grad(Ops.Sum(y), [x])[0];
        return (y.ToArrayF64(), g.ToArrayF64());
    }

    public static TheoryData<DType> Types => [DType.Float32, DType.Float64];

    [Theory]
    [MemberData(nameof(Types))]
    public void Hardswish_values_and_gradients(DType dtype)
    {
        var (y, g) = Eval(Ops.HardSwish, dtype);
        for (int i = 0; i < Kinks.Length; i++)
        {
            double x = Kinks[i];
            Assert.Equal(x * Math.Clamp(x + 3, 0, 6) / 6, y[i], 6);
            double expected = x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1; // -0.5 at -3, 1.5 at 3 (derivatives.yaml / CUDA / torch's scalar CPU path)
            Assert.Equal(expected, g[i], 6);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Hardsigmoid_values_and_gradients(DType dtype)
    {
        var (y, g) = Eval(Ops.HardSigmoid, dtype);
        for (int i = 0; i < Kinks.Length; i++)
        {
            double x = Kinks[i];
            Assert.Equal(Math.Clamp(x + 3, 0, 6) / 6, y[i], 6);
            Assert.Equal(x > -3 && x < 3 ? 1.0 / 6 : 0, g[i], 6);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Relu_values_and_gradients(DType dtype)
    {
        var (y, g) = Eval(Ops.Relu, dtype);
        for (int i = 0; i < Kinks.Length; i++)
        {
            Assert.Equal(Math.Max(Kinks[i], 0), y[i], 6);
            Assert.Equal(Kinks[i] > 0 ? 1 : 0, g[i]); // 0 at 0
        }
        // An incoming NaN gradient passes where the output is positive and is zeroed elsewhere.
        var x = Tensor.FromArray(Kinks, Kinks.Length).To(dtype).RequireGrad();
        var gIn = Tensor.Full(dtype, double.NaN, Kinks.Length);
        var gx = Tape.Grad(Ops.Sum(Ops.Mul(Ops.Relu(x), gIn)), [x])[0].ToArrayF64();
        for (int i = 0; i < Kinks.Length; i++)
            Assert.True(Kinks[i] > 0 ? double.IsNaN(gx[i]) : gx[i] == 0, $"element {i} (x = {Kinks[i]}): {gx[i]}");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Relu6_and_leaky_relu_values_and_gradients(DType dtype)
    {
        var (y, g) = Eval(Ops.Relu6, dtype);
        for (int i = 0; i < Kinks.Length; i++)
        {
            Assert.Equal(Math.Clamp(Kinks[i], 0, 6), y[i], 6);
            Assert.Equal(Kinks[i] > 0 && Kinks[i] < 6 ? 1 : 0, g[i]);
        }
        (y, g) = Eval(x => Ops.LeakyRelu(x, 0.2), dtype);
        for (int i = 0; i < Kinks.Length; i++)
        {
            Assert.Equal(Kinks[i] > 0 ? Kinks[i] : 0.2 * Kinks[i], y[i], 6);
            Assert.Equal(Kinks[i] > 0 ? 1 : 0.2, g[i], 6); // the slope at 0
        }
    }

    [Fact]
    public void Nan_propagates_forward_like_pytorch()
    {
        var x = Tensor.FromArray(Enumerable.Repeat(float.NaN, 9).ToArray(), 9);
        foreach (var f in new Func<Tensor, Tensor>[] { Ops.HardSwish, Ops.HardSigmoid, Ops.Relu6, t => Ops.LeakyRelu(t) })
            Assert.All(f(x).ToArray(), v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void Prelu_uses_one_slope_per_channel_or_a_shared_one()
    {
        var x = Tensor.FromArray(new double[] { -1, 2, -3, 4, -5, 6, -7, 8, -2, 0, 1, -1 }, 2, 3, 2).RequireGrad();
        var w = Tensor.FromArray(new double[] { 0.1, 0.2, 0.3 }, 3).RequireGrad();
        var y = Ops.Prelu(x, w);
        var xv = x.ToArrayF64();
        for (int i = 0; i < 12; i++)
        {
            double slope = w.ToArrayF64()[i / 2 % 3];
            Assert.Equal(xv[i] > 0 ? xv[i] : slope * xv[i], y.ToArrayF64()[i], 12);
        }
        var grads = Tape.Grad(Ops.Sum(y), [x, w]);
        // dw[c] = sum over x <= 0 of x (g = 1); channel 1 holds -3, 4, -2, 0
        Assert.Equal(new double[] { -1 - 7, -3 - 2, -5 - 1 }, grads[1].ToArrayF64());
        Assert.Equal(0.2, grads[0].ToArrayF64()[9], 12); // x = 0 takes the slope, as PyTorch
        var shared = Tensor.FromArray(new double[] { 0.25 }, 1).RequireGrad();
        var gs = Tape.Grad(Ops.Sum(Ops.Prelu(x, shared)), [shared])[0];
        Assert.Equal(new[] { 1 }, gs.ShapeArray());
        Assert.Equal(-1 - 3 - 5 - 7 - 2 - 1, gs.Item(), 12);
        var e = Assert.Throws<ArgumentException>(() => Ops.Prelu(x, Tensor.Ones(DType.Float64, 2)));
        Assert.Contains("prelu", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3, 2]", e.Message, StringComparison.Ordinal);
    }
}
