namespace SegLab.Engine.Tests;

public class LayerOpTests
{
    [Fact]
    public void Batch_norm_training_updates_running_stats_like_pytorch()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 10, 20, 30, 40 }, 2, 2, 2, 1); // channel 0: 1,2,10,20; channel 1: 3,4,30,40
        var rm = Tensor.Zeros(2);
        var rv = Tensor.Ones(2);
        var y = Ops.BatchNorm2d(x, null, null, rm, rv, training: true, momentum: 0.1, eps: 0);
        double m0 = (1 + 2 + 10 + 20) / 4.0, v0 = new[] { 1.0, 2, 10, 20 }.Sum(v => (v - m0) * (v - m0)) / 4;
        Assert.Equal(0.1 * m0, rm.Span[0], 4);
        Assert.Equal(0.9 + 0.1 * v0 * 4 / 3, rv.Span[0], 3);
        Assert.Equal((1 - m0) / Math.Sqrt(v0), y[0, 0, 0, 0], 4);
        // eval mode uses the running statistics and leaves them alone
        var before = rm.ToArray();
        var ye = Ops.BatchNorm2d(x, null, null, rm, rv, training: false, eps: 0);
        Assert.Equal(before, rm.ToArray());
        Assert.Equal((1 - rm.Span[0]) / Math.Sqrt(rv.Span[0]), ye[0, 0, 0, 0], 4);
        Assert.Throws<ArgumentException>(() => Ops.BatchNorm2d(x, Tensor.Ones(3), null, rm, rv, true));
    }

    [Fact]
    public void Activations_follow_pytorch_at_the_kinks()
    {
        var x = Tensor.FromArray(new double[] { -3, 3, 0, 6 }, 4).RequireGrad();
        var g = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.HardSwish(x)), [x])[0].ToArrayF64();
        Assert.Equal(new[] { -0.5, 1.5, 0.5, 1 }, g);
        g = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.HardSigmoid(x)), [x])[0].ToArrayF64();
        Assert.Equal(new[] { 0, 0, 1.0 / 6, 0 }, g);
        g = SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Relu6(x)), [x])[0].ToArrayF64();
        Assert.Equal(new double[] { 0, 1, 0, 0 }, g);
        Assert.Equal(new double[] { 0, 3, 0, 6 }, Ops.Relu6(x).ToArrayF64());
        var leaky = Ops.LeakyRelu(x, 0.1).ToArrayF64();
        Assert.Equal(-0.3, leaky[0], 12);
        Assert.Equal(new double[] { 3, 0, 6 }, leaky[1..]);
    }

    [Fact]
    public void Dropout_keeps_about_one_minus_p_and_scales()
    {
        var x = Tensor.Ones(100_000);
        var y = Ops.Dropout(x, 0.25, training: true, new Rng(1)).ToArray();
        double kept = y.Count(v => v != 0) / (double)y.Length;
        Assert.InRange(kept, 0.74, 0.76);
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(1 / 0.75f, v, 5));
        Assert.Same(x, Ops.Dropout(x, 0.25, training: false, new Rng(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, 1, true, new Rng(1)));
    }

    [Fact]
    public void Cross_entropy_matches_the_definition_and_handles_ignored_pixels()
    {
        var logits = Tensor.FromArray(new float[] { 1, 2, 0.5f, -1, 3, 0 }, 1, 3, 2); // 2 pixels, 3 classes
        var target = Tensor.FromArray(new float[] { 2, 255 }, 1, 2);
        var loss = Ops.CrossEntropy(logits, target, ignoreIndex: 255).Item();
        double lse = Math.Log(Math.Exp(1) + Math.Exp(0.5) + Math.Exp(3));
        Assert.Equal(lse - 3, loss, 5);
        var allIgnored = Ops.CrossEntropy(logits, Tensor.Full(255f, 1, 2), ignoreIndex: 255).Item();
        Assert.True(double.IsNaN(allIgnored));
        var e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.FromArray(new float[] { 3, 0 }, 1, 2)));
        Assert.Contains("target value 3", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.Zeros(1, 3)));
    }
}
