// Bilinear and nearest resizing at segmentation sizes (45x60 -> 360x480): the fast row kernels against a direct
// per-pixel transcription of PyTorch's formula, the backward as the exact adjoint, and argument errors.
namespace SegLab.Engine.Tests;

public class ResizeTests
{
    // Per-pixel reference: PyTorch's index/weight rule, weights multiplied in float, products summed in double.
    private static float[] NaiveBilinear(float[] x, int planes, int h, int w, int oh, int ow, bool align)
    {
        static (int, int, float, float) Tab(int d, int inSize, int outSize, bool align)
        {
            if (inSize == outSize) return (d, d, 1f, 0f);
            float scale = align ? (outSize > 1 ? (float)(inSize - 1) / (outSize - 1) : 0f) : (float)inSize / outSize;
            double src = align ? (double)scale * d : Math.Max((double)scale * (d + 0.5) - 0.5, 0);
            int a = Math.Min((int)src, inSize - 1);
            float l1 = (float)Math.Clamp(src - a, 0, 1);
            return (a, a < inSize - 1 ? a + 1 : a, 1f - l1, l1);
        }
        var y = new float[planes * oh * ow];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
            {
                var (h0, h1, a0, a1) = Tab(i, h, oh, align);
                for (int j = 0; j < ow; j++)
                {
                    var (w0, w1, b0, b1) = Tab(j, w, ow, align);
                    int b = p * h * w;
                    double s = (double)x[b + h0 * w + w0] * (a0 * b0) + (double)x[b + h0 * w + w1] * (a0 * b1);
                    s += (double)x[b + h1 * w + w0] * (a1 * b0);
                    s += (double)x[b + h1 * w + w1] * (a1 * b1);
                    y[(p * oh + i) * ow + j] = (float)s;
                }
            }
        return y;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bilinear_45x60_to_360x480_matches_the_per_pixel_formula_bit_for_bit(bool align)
    {
        var x = Tensor.Uniform([2, 3, 45, 60], 0, 1, 11);
        var y = Ops.Interpolate(x, 360, 480, InterpolationMode.Bilinear, align);
        var expected = NaiveBilinear(x.ToArray(), 6, 45, 60, 360, 480, align);
        Assert.Equal(expected, y.ToArray());
    }

    [Theory]
    [InlineData(InterpolationMode.Bilinear, false, 360, 480)]
    [InlineData(InterpolationMode.Bilinear, true, 360, 480)]
    [InlineData(InterpolationMode.Bilinear, false, 20, 31)]
    [InlineData(InterpolationMode.Nearest, false, 360, 480)]
    [InlineData(InterpolationMode.Nearest, false, 20, 31)]
    public void Backward_is_the_adjoint_of_forward(InterpolationMode mode, bool align, int oh, int ow)
    {
        // <A x, g> == <x, A^T g> for random x and g, in float64.
        var x = Tensor.Uniform(new Rng(3), [1, 2, 45, 60], -1, 1, DType.Float64).RequireGrad();
        var y = Ops.Interpolate(x, oh, ow, mode, align);
        var g = Tensor.Uniform(new Rng(4), y.ShapeArray(), -1, 1, DType.Float64);
        var gx = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(y, g)), [x])[0];
        double lhs = 0, rhs = 0;
        var ys = y.ToArrayF64();
        var gs = g.ToArrayF64();
        for (int i = 0; i < ys.Length; i++) lhs += ys[i] * gs[i];
        var xs = x.ToArrayF64();
        var gxs = gx.ToArrayF64();
        for (int i = 0; i < xs.Length; i++) rhs += xs[i] * gxs[i];
        Assert.True(Math.Abs(lhs - rhs) <= 1e-9 * Math.Max(1, Math.Abs(lhs)), $"{lhs} vs {rhs}");
    }

    [Fact]
    public void Same_size_is_a_copy_and_doubling_nearest_repeats_pixels()
    {
        var x = Tensor.Uniform([1, 2, 5, 7], 0, 1, 2);
        Assert.Equal(x.ToArray(), Ops.Interpolate(x, 5, 7, InterpolationMode.Bilinear).ToArray());
        Assert.Equal(x.ToArray(), Ops.Interpolate(x, 5, 7, InterpolationMode.Bilinear, alignCorners: true).ToArray());
        var y = Ops.Interpolate(x, 2.0, InterpolationMode.Nearest);
        Assert.Equal(new[] { 1, 2, 10, 14 }, y.ShapeArray());
        Assert.Equal(x[0, 1, 3, 5], y[0, 1, 7, 11]);
    }

    [Fact]
    public void Scale_factor_floors_the_output_size()
    {
        var x = Tensor.Zeros(1, 1, 7, 9);
        Assert.Equal(new[] { 1, 1, 17, 22 }, Ops.Interpolate(x, 2.5, InterpolationMode.Bilinear).ShapeArray());
        Assert.Equal(new[] { 1, 1, 3, 4 }, Ops.Interpolate(x, 0.5, InterpolationMode.Nearest).ShapeArray());
    }

    [Fact]
    public void Errors_name_the_operation_and_the_shape()
    {
        var x = Tensor.Zeros(1, 2, 5, 5);
        var e1 = Assert.Throws<ArgumentException>(() => Ops.Interpolate(x, 10, 10, InterpolationMode.Nearest, alignCorners: true));
        Assert.Contains("align_corners", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ArgumentException>(() => Ops.Interpolate(Tensor.Zeros(2, 5, 5), 10, 10, InterpolationMode.Bilinear));
        Assert.Contains("interpolate", e2.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 5, 5]", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<ArgumentException>(() => Ops.Interpolate(x, 0, 10, InterpolationMode.Bilinear));
        Assert.Contains("[1, 2, 5, 5]", e3.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ops.Interpolate(x, -1.0, InterpolationMode.Bilinear));
    }
}
