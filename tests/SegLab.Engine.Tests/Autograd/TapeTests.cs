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
        y.Backward();
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
