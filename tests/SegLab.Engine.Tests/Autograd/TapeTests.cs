using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests.Autograd;

public class TapeTests
{
    private static Tensor Leaf(params float[] v) => Tensor.FromArray(v, v.Length).RequireGrad();

    [Fact]
    public void Backward_accumulates_over_two_passes()
    {
        var x = Leaf(1, 2, 3);
        Ops.Sum(x * x).Backward();
        Assert.Equal(new float[] { 2, 4, 6 }, x.Grad!.ToArray());
        Ops.Sum(x * 3).Backward();
        Assert.Equal(new float[] { 5, 7, 9 }, x.Grad!.ToArray());
        x.ZeroGrad();
        Assert.Null(x.Grad);
    }

    [Fact]
    public void Backward_twice_over_the_same_graph_doubles_the_gradient()
    {
        var x = Leaf(1, -1);
        var y = Ops.Sum(Ops.Exp(x));
        y.Backward(retainGraph: true);
        y.Backward();
        Assert.Equal(2 * Math.E, x.Grad!.ToArray()[0], 5);
        Assert.Equal(2 / Math.E, x.Grad!.ToArray()[1], 5);
    }

    [Fact]
    public void A_tensor_used_twice_gets_both_contributions()
    {
        var x = Leaf(2);
        var y = x * x + x; // dy/dx = 2x + 1 = 5
        Ops.Sum(y).Backward();
        Assert.Equal(5f, x.Grad!.ToArray()[0]);
    }

    [Fact]
    public void NoGrad_scope_records_nothing_and_nests()
    {
        var x = Leaf(1, 2);
        using (GradMode.NoGrad())
        {
            var y = x * 2;
            Assert.False(y.RequiresGrad);
            using (GradMode.NoGrad()) Assert.False(GradMode.IsEnabled);
            Assert.False(GradMode.IsEnabled);
            using (GradMode.EnableGrad()) Assert.True((x * 2).RequiresGrad);
            Assert.False(GradMode.IsEnabled);
            Assert.Throws<InvalidOperationException>(() => Ops.Sum(y).Backward());
        }
        Assert.True(GradMode.IsEnabled);
        Assert.True((x * 2).RequiresGrad);
    }

    [Fact]
    public void Detach_cuts_the_gradient_and_shares_storage()
    {
        var x = Leaf(3);
        var d = x.Detach();
        Assert.False(d.RequiresGrad);
        var y = x * d; // gradient only through the first factor: d
        Ops.Sum(y).Backward();
        Assert.Equal(3f, x.Grad!.ToArray()[0]);
        d.Span[0] = 7;
        Assert.Equal(7f, x.Span[0]);
    }

    [Fact]
    public void Grad_returns_input_gradients_without_touching_Grad()
    {
        var img = Tensor.Uniform([1, 3, 4, 4], 0, 1, 5).RequireGrad();
        var w = Tensor.Uniform([1, 3, 1, 1], -1, 1, 6).RequireGrad();
        var loss = Ops.Mean(Ops.Sigmoid(img * w));
        var grads = Tape.Grad(loss, [img]);
        Assert.Null(img.Grad);
        Assert.Null(w.Grad);
        Assert.Equal(img.ShapeArray(), grads[0].ShapeArray());
        // d mean(sigmoid(w x)) / dx = w s (1 - s) / N
        var s = Ops.Sigmoid(img.Detach() * w.Detach());
        var expected = (w.Detach() * s * (1 - s)) / img.Numel;
        var e = expected.ToArray();
        var got = grads[0].ToArray();
        for (int i = 0; i < e.Length; i++) Assert.Equal(e[i], got[i], 1e-8);
    }

    [Fact]
    public void Grad_asks_only_for_gradients_on_a_path_to_its_inputs()
    {
        // A recorded op that notes which of its inputs the running backward pass wants a gradient for.
        var x = Leaf(1, 2);
        var w = Leaf(3, 4);
        var wanted = new List<(bool X, bool W)>();
        var y = Tape.Record(Tensor.FromArray(new float[] { 3, 8 }, 2), "probe", [x, w], g =>
        {
            wanted.Add((Tape.Wants(x), Tape.Wants(w)));
            return [Ops.Mul(g, w), Ops.Mul(g, x)];
        });
        var loss = Ops.Sum(y);
        Assert.Equal(new float[] { 3, 4 }, Tape.Grad(loss, [x], retainGraph: true)[0].ToArray());
        Assert.Equal(new float[] { 1, 2 }, Tape.Grad(loss, [w], retainGraph: true)[0].ToArray());
        loss.Backward();
        Assert.Equal([(true, false), (false, true), (true, true)], wanted);
        Assert.Equal(new float[] { 1, 2 }, w.Grad!.ToArray());
    }

    [Fact]
    public void Input_gradient_through_conv_and_batch_norm_equals_the_full_backward()
    {
        var rng = new Rng(11);
        var x = Tensor.Uniform(rng, [2, 3, 7, 6], -1, 1).RequireGrad();
        var w = Tensor.Uniform(rng, [4, 3, 3, 3], -1, 1).RequireGrad();
        var gamma = Tensor.Uniform(rng, [4], 0.5, 1.5).RequireGrad();
        var beta = Tensor.Uniform(rng, [4], -1, 1).RequireGrad();
        var mean = Tensor.Zeros(DType.Float32, 4);
        var variance = Tensor.Ones(DType.Float32, 4);
        var slope = Tensor.FromArray(new float[] { 0.25f, 0.1f, 0.5f, 0.3f }, 4).RequireGrad();
        Tensor Net() => Ops.Sum(Ops.Mul(Ops.Prelu(Ops.BatchNorm2d(Ops.Conv2d(x, w, padding: 1), gamma, beta, mean, variance, training: true), slope), Ops.Conv2d(x, w, padding: 1)));
        var gx = Tape.Grad(Net(), [x])[0].ToArray();
        Assert.Null(w.Grad);
        Net().Backward();
        var full = x.Grad!.ToArray();
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i], gx[i], 5);
        Assert.NotNull(w.Grad);
    }

    [Fact]
    public void Grad_with_respect_to_an_intermediate_tensor()
    {
        var x = Leaf(1, 2);
        var h = x * 3;
        var y = Ops.Sum(h * h);
        var g = Tape.Grad(y, [h, x]);
        Assert.Equal(new float[] { 6, 12 }, g[0].ToArray());
        Assert.Equal(new float[] { 18, 36 }, g[1].ToArray());
    }

    [Fact]
    public void Grad_of_an_unused_input_is_zero()
    {
        var x = Leaf(1, 2);
        var unused = Leaf(5);
        var g = Tape.Grad(Ops.Sum(x), [x, unused]);
        Assert.Equal(new float[] { 0 }, g[1].ToArray());
    }

    [Fact]
    public void Non_scalar_backward_needs_an_explicit_gradient()
    {
        var x = Leaf(1, 2);
        var y = x * 2;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("[2]", e.Message, StringComparison.Ordinal);
        y.Backward(Tensor.FromArray(new float[] { 1, 10 }, 2));
        Assert.Equal(new float[] { 2, 20 }, x.Grad!.ToArray());
        Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Ones(3)));
    }

    [Fact]
    public void Requires_grad_propagates_and_leaves_are_leaves()
    {
        var a = Leaf(1);
        var b = Tensor.Ones(1);
        var c = a + b;
        Assert.True(a.IsLeaf);
        Assert.False(c.IsLeaf);
        Assert.True(c.RequiresGrad);
        Assert.False((b * 2).RequiresGrad);
        Assert.Throws<InvalidOperationException>(() => c.RequiresGrad = false);
    }

    [Fact]
    public void A_deep_chain_does_not_overflow_the_stack()
    {
        var x = Leaf(1);
        var y = x;
        for (int i = 0; i < 20000; i++) y = y + 1e-4;
        Ops.Sum(y).Backward();
        Assert.Equal(1f, x.Grad!.ToArray()[0]);
    }

    [Fact]
    public void Backward_of_a_tensor_without_history_is_an_error()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Ops.Sum(Tensor.Ones(2)).Backward());
        Assert.Contains("does not require a gradient", e.Message, StringComparison.Ordinal);
    }
}
