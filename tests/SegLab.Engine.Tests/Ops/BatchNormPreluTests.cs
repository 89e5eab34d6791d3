namespace SegLab.Engine.Tests;

public class BatchNormPreluTests
{
    [Fact]
    public void Fused_equals_batch_norm_then_prelu_in_values_and_gradients()
    {
        var x = Tensor.Uniform([2, 4, 5, 6], -2, 2, 1).RequireGrad();
        var w = Tensor.Uniform([4], 0.5, 1.5, 2).RequireGrad();
        var b = Tensor.Uniform([4], -0.5, 0.5, 3).RequireGrad();
        var a = Tensor.Uniform([4], 0.05, 0.4, 4).RequireGrad();
        var rm = Tensor.Uniform([4], -0.3, 0.3, 5);
        var rv = Tensor.Uniform([4], 0.5, 2, 6);
        var gOut = Tensor.Uniform([2, 4, 5, 6], -1, 1, 7);
        var fused = Ops.BatchNormPrelu(x, w, b, rm, rv, a, 1e-3);
        var plain = Ops.Prelu(Ops.BatchNorm2d(x, w, b, rm, rv, training: false, eps: 1e-3), a);
        var fv = fused.ToArray();
        var pv = plain.ToArray();
        for (int i = 0; i < fv.Length; i++) Assert.Equal(pv[i], fv[i], 5);
        var gf = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(fused, gOut)), [x, w, b, a]);
        var gp = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(plain, gOut)), [x, w, b, a]);
        for (int k = 0; k < 4; k++)
        {
            var p = gp[k].ToArray();
            var f = gf[k].ToArray();
            for (int i = 0; i < p.Length; i++) Assert.True(Math.Abs(p[i] - f[i]) <= 1e-4 * (1 + Math.Abs(p[i])), $"grad {k}[{i}]: {p[i]} vs {f[i]}");
        }
        Assert.Throws<ArgumentException>(() => Ops.BatchNormPrelu(x, w, b, rm, rv, Tensor.Ones(3)));
    }

    [Fact]
    public void On_parts_it_equals_the_pair_on_their_concatenation_bit_for_bit()
    {
        var p0 = Tensor.Uniform([2, 3, 5, 6], -2, 2, 11).RequireGrad();
        var p1 = Tensor.Uniform([2, 1, 5, 6], -2, 2, 12).RequireGrad();
        var w = Tensor.Uniform([4], 0.5, 1.5, 13).RequireGrad();
        var b = Tensor.Uniform([4], -0.5, 0.5, 14).RequireGrad();
        var a = Tensor.Uniform([4], 0.05, 0.4, 15).RequireGrad();
        var rm = Tensor.Uniform([4], -0.3, 0.3, 16);
        var rv = Tensor.Uniform([4], 0.5, 2, 17);
        var gOut = Tensor.Uniform([2, 4, 5, 6], -1, 1, 18);
        var onParts = Ops.CatBatchNormPrelu([p0, p1], w, b, rm, rv, a, 1e-3);
        var onCat = Ops.BatchNormPrelu(Ops.Cat([p0, p1], 1), w, b, rm, rv, a, 1e-3);
        Assert.Equal(onCat.ToArray(), onParts.ToArray());
        var g1 = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(onParts, gOut)), [p0, p1, w, b, a]);
        var g2 = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(onCat, gOut)), [p0, p1, w, b, a]);
        for (int k = 0; k < 5; k++) Assert.Equal(g2[k].ToArray(), g1[k].ToArray());
        var e = Assert.Throws<ArgumentException>(() => Ops.CatBatchNormPrelu([p0, Tensor.Zeros(2, 1, 5, 7)], w, b, rm, rv, a));
        Assert.Contains("part 1 [2, 1, 5, 7]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.CatBatchNormPrelu([p0, p1, p1], w, b, rm, rv, a));
        Assert.Contains("5 channels", e.Message, StringComparison.Ordinal);
    }
}
