// The padded 2x2 space-to-depth split that stride-2 stems run through (Ops.PadSpaceToDepth2): values by its
// definition, its backward as the adjoint, both precisions and the vector and scalar column paths; and the
// convolution with and without the split on stem-like shapes.
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests;

public class SpaceToDepthTests
{
    [Theory]
    [InlineData(2, 3, 11, 53, 3, 3, DType.Float32)] // odd padding: columns change phase; a vector body and a tail
    [InlineData(1, 2, 8, 40, 2, 2, DType.Float32)]  // even padding
    [InlineData(1, 4, 5, 7, 1, 0, DType.Float32)]   // narrower than one vector step
    [InlineData(2, 3, 9, 35, 3, 1, DType.Float64)]
    public void Values_follow_the_definition_and_the_gradient_is_the_adjoint(int n, int c, int h, int w, int top, int left, DType dtype)
    {
        var rng = new Rng(h * 31 + w);
        int hs = (h + 2 * top + 1) / 2, ws = (w + 2 * left + 1) / 2;
        var x = Tensor.Uniform(rng, [n, c, h, w], -1, 1).To(dtype).RequireGrad();
        var y = Ops.PadSpaceToDepth2(x, top, left, hs, ws);
        Assert.Equal(new[] { n, 4 * c, hs, ws }, y.ShapeArray());
        var xv = x.ToArrayF64();
        var yv = y.ToArrayF64();
        for (int img = 0; img < n; img++)
            for (int ch = 0; ch < c; ch++)
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        for (int i = 0; i < hs; i++)
                            for (int j = 0; j < ws; j++)
                            {
                                int r = 2 * i + a - top, col = 2 * j + b - left;
                                double expected = r >= 0 && r < h && col >= 0 && col < w ? xv[((img * c + ch) * h + r) * w + col] : 0;
                                Assert.Equal(expected, yv[(((img * 4 * c) + ch * 4 + 2 * a + b) * hs + i) * ws + j]);
                            }
        // <S x, g> = <x, S^T g> for a random g: the backward pass is the adjoint
        var g = Tensor.Uniform(rng, y.ShapeArray(), -1, 1).To(dtype);
        var gx = Tape.Grad(Ops.Sum(Ops.Mul(y, g)), [x])[0].ToArrayF64();
        double lhs = yv.Zip(g.ToArrayF64()).Sum(p => p.First * p.Second), rhs = xv.Zip(gx).Sum(p => p.First * p.Second);
        Assert.Equal(lhs, rhs, 4);
        // and every input element's gradient is the one output element it went to
        var gv = g.ToArrayF64();
        for (int idx = 0; idx < xv.Length; idx++)
        {
            int col = idx % w, r = idx / w % h, ch = idx / (w * h) % c, img = idx / (w * h * c);
            int a = (r + top) % 2, b = (col + left) % 2;
            Assert.Equal(gv[(((img * 4 * c) + ch * 4 + 2 * a + b) * hs + (r + top) / 2) * ws + (col + left) / 2], gx[idx]);
        }
    }

    [Fact]
    public void Output_too_small_for_the_input_is_refused()
    {
        var x = Tensor.Zeros(1, 1, 6, 6);
        var e = Assert.Throws<ArgumentException>(() => Ops.PadSpaceToDepth2(x, 1, 1, 3, 4));
        Assert.Contains("space_to_depth", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 3, 32, 40, 8, 7, 3)]  // a ResNet stem: 7x7, padding 3
    [InlineData(1, 3, 21, 37, 5, 5, 2)]  // 5x5, odd sizes
    [InlineData(2, 1, 18, 34, 6, 6, 2)]  // an even kernel, one input channel
    public void Stride_two_stems_agree_with_and_without_the_split(int n, int c, int h, int w, int k, int ks, int pad)
    {
        var rng = new Rng(k * 7 + ks);
        var x = Tensor.Uniform(rng, [n, c, h, w], -1, 1);
        var wt = Tensor.Uniform(rng, [k, c, ks, ks], -1, 1);
        var b = Tensor.Uniform(rng, [k], -1, 1);
        (double[] Y, double[] Gx, double[] Gw, double[] Gb) Run(bool split)
        {
            bool saved = Ops.UseSpaceToDepth;
            Ops.UseSpaceToDepth = split;
            try
            {
                var xr = x.RequireGrad();
                var wr = wt.RequireGrad();
                var br = b.RequireGrad();
                var y = Ops.Conv2d(xr, wr, br, 2, 2, pad, pad, 1, 1, 1);
                var gOut = Tensor.Uniform(new Rng(5), y.ShapeArray(), -1, 1);
                var grads = Tape.Grad(Ops.Sum(Ops.Mul(y, gOut)), [xr, wr, br]);
                return (y.ToArrayF64(), grads[0].ToArrayF64(), grads[1].ToArrayF64(), grads[2].ToArrayF64());
            }
            finally
            {
                Ops.UseSpaceToDepth = saved;
            }
        }
        var plain = Run(false);
        var split = Run(true);
        void Close(string what, double[] e, double[] a)
        {
            Assert.Equal(e.Length, a.Length);
            double scale = Math.Max(1, e.Max(Math.Abs));
            for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - a[i]) <= 1e-5 * scale, $"{what}[{i}]: {a[i]} against {e[i]}");
        }
        Close("y", plain.Y, split.Y);
        Close("dx", plain.Gx, split.Gx);
        Close("dw", plain.Gw, split.Gw);
        Close("db", plain.Gb, split.Gb);
        // the split must really have been taken: its rounding differs from the plain path somewhere
        Assert.NotEqual(plain.Y, split.Y);
    }
}
