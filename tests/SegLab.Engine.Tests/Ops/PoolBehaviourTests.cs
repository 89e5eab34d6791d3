// Pooling behaviour beyond the gradient table: PyTorch output sizes, ties, NaN, indices, and errors that name the op and shapes.
namespace SegLab.Engine.Tests;

public class PoolBehaviourTests
{
    [Theory]
    [InlineData(7, 3, 2, 1, false, 4)]
    [InlineData(7, 3, 2, 1, true, 4)]
    [InlineData(8, 3, 2, 1, false, 4)]
    [InlineData(8, 3, 2, 1, true, 5)]
    [InlineData(6, 2, 2, 1, true, 4)]
    [InlineData(5, 2, 2, 0, true, 3)]
    [InlineData(4, 3, 3, 1, true, 2)]
    public void Output_size_follows_pytorch_including_ceil_mode(int size, int k, int s, int p, bool ceil, int expected)
    {
        var x = Tensor.Zeros(1, 1, size, size);
        Assert.Equal(expected, Ops.MaxPool2d(x, k, s, p, ceil).Size(2));
        Assert.Equal(expected, Ops.AvgPool2d(x, k, s, p, ceil).Size(3));
    }

    [Fact]
    public void Max_pool_ties_go_to_the_first_element_and_nan_propagates()
    {
        var x = Tensor.FromArray(new float[] { 1, 1, 0, float.NaN, 2, 2, 5, 1 }, 1, 1, 2, 4);
        var (v, idx) = Ops.MaxPool2dWithIndices(x, 2, 2);
        Assert.Equal(new[] { 4, 3 }, idx);
        Assert.Equal(2f, v.Span[0]);
        Assert.True(float.IsNaN(v.Span[1]));
        var g = Tensor.FromArray(new float[] { 1, 1, 1, 1, 2, 2, 0, 0 }, 1, 1, 2, 4).RequireGrad();
        var y = Ops.MaxPool2d(g, 2, 2);
        SegLab.Engine.Autograd.Tape.Backward(Ops.Sum(y));
        Assert.Equal(new float[] { 0, 0, 1, 0, 1, 0, 0, 0 }, g.Grad!.ToArray());
    }

    [Theory]
    [InlineData(3, 3, 2, 2, 1, 1, 1, false, 37, 64)]  // DeepLabV3's stem pool, an odd height
    [InlineData(2, 2, 2, 2, 0, 0, 1, false, 9, 70)]   // the UNet's pool, a vector tail
    [InlineData(3, 3, 1, 1, 1, 1, 1, false, 6, 41)]   // stride 1
    [InlineData(3, 3, 2, 2, 1, 1, 1, true, 8, 51)]    // ceil mode: the last window runs past the row
    [InlineData(3, 2, 2, 1, 1, 0, 2, false, 11, 35)]  // vertical dilation, a rectangular window
    [InlineData(3, 3, 2, 2, 0, 0, 1, false, 5, 23)]   // just one vector of columns
    public void Max_pool_float32_vectors_agree_with_the_element_loop(int kh, int kw, int sh, int sw, int ph, int pw, int dh, bool ceil, int h, int w)
    {
        // Values from a few levels so that windows hold ties, with NaN and -inf here and there: the float32 path
        // (8 columns at a time where it applies) must give the values and indices of the float64 element loop.
        var rng = new Rng(h * 100 + w);
        var data = new float[2 * 3 * h * w];
        for (int i = 0; i < data.Length; i++)
        {
            double u = rng.NextDouble();
            data[i] = u < 0.02 ? float.NaN : u < 0.04 ? float.NegativeInfinity : (float)Math.Floor(u * 6) - 2;
        }
        var x32 = Tensor.FromArray(data, 2, 3, h, w);
        var (v32, i32) = Ops.MaxPool2dWithIndices(x32, kh, kw, sh, sw, ph, pw, dh, 1, ceil);
        var (v64, i64) = Ops.MaxPool2dWithIndices(x32.To(DType.Float64), kh, kw, sh, sw, ph, pw, dh, 1, ceil);
        Assert.Equal(i64, i32);
        Assert.Equal(v64.ToArrayF64(), v32.ToArrayF64());
    }

    [Fact]
    public void Padding_is_minus_infinity_for_max_and_excluded_or_counted_for_average()
    {
        var x = Tensor.Full(-3f, 1, 1, 2, 2);
        Assert.All(Ops.MaxPool2d(x, 3, 1, 1).ToArray(), v => Assert.Equal(-3f, v));
        Assert.All(Ops.AvgPool2d(x, 3, 1, 1, countIncludePad: false).ToArray(), v => Assert.Equal(-3f, v));
        Assert.All(Ops.AvgPool2d(x, 3, 1, 1).ToArray(), v => Assert.Equal(-3f * 4 / 9, v, 6));
    }

    [Fact]
    public void Unpool_puts_values_back_at_their_indices()
    {
        var x = Tensor.Uniform([2, 3, 6, 8], 0, 1, 7);
        var (v, idx) = Ops.MaxPool2dWithIndices(x, 2, 2);
        var u = Ops.MaxUnpool2d(v, idx, 6, 8);
        var xs = x.ToArray();
        var us = u.ToArray();
        int nonZero = us.Count(f => f != 0);
        Assert.Equal(v.Numel, nonZero);
        for (int i = 0; i < us.Length; i++) if (us[i] != 0) Assert.Equal(xs[i], us[i]);
    }

    [Fact]
    public void Global_average_is_the_plane_mean()
    {
        var x = Tensor.Uniform([2, 3, 17, 23], -1, 1, 3);
        var y = Ops.GlobalAvgPool2d(x);
        Assert.Equal(new[] { 2, 3, 1, 1 }, y.ShapeArray());
        var m = Ops.Mean(Ops.Reshape(x, 2, 3, -1), [-1]).ToArray();
        for (int i = 0; i < m.Length; i++) Assert.Equal(m[i], y.Span[i], 5);
    }

    [Fact]
    public void Adaptive_average_with_divisible_sizes_equals_average_pooling()
    {
        var x = Tensor.Uniform([1, 2, 8, 12], 0, 1, 5);
        var a = Ops.AdaptiveAvgPool2d(x, 4, 3).ToArray();
        var b = Ops.AvgPool2d(x, 2, 4, 2, 4).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 6);
    }

    [Fact]
    public void Errors_name_the_operation_and_the_shape()
    {
        var x = Tensor.Zeros(1, 2, 5, 5);
        var e1 = Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(x, 3, 2, 2));
        Assert.Contains("max_pool2d", e1.Message, StringComparison.Ordinal);
        Assert.Contains("[1, 2, 5, 5]", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ArgumentException>(() => Ops.AvgPool2d(x, 7, 1));
        Assert.Contains("avg_pool2d", e2.Message, StringComparison.Ordinal);
        Assert.Contains("too small", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(2, 5, 5), 2, 2));
        Assert.Contains("[2, 5, 5]", e3.Message, StringComparison.Ordinal);
        var e4 = Assert.Throws<ArgumentException>(() => Ops.MaxUnpool2d(Tensor.Zeros(1, 1, 2, 2), [0, 1, 2], 4, 4));
        Assert.Contains("max_unpool2d", e4.Message, StringComparison.Ordinal);
        var e5 = Assert.Throws<ArgumentException>(() => Ops.MaxUnpool2d(Tensor.Zeros(1, 1, 2, 2), [0, 1, 2, 16], 4, 4));
        Assert.Contains("16", e5.Message, StringComparison.Ordinal);
        var e6 = Assert.Throws<ArgumentException>(() => Ops.AdaptiveAvgPool2d(x, 0, 2));
        Assert.Contains("adaptive_avg_pool2d", e6.Message, StringComparison.Ordinal);
        var e7 = Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 3, 3), 3, 3, 1, 1, 1, 1, 5, 5));
        Assert.Contains("padding", e7.Message, StringComparison.Ordinal);
    }
}
