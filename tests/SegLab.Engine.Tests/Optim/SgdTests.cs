using SegLab.Engine.Optim;

namespace SegLab.Engine.Tests.Optim;

public class SgdTests
{
    [Fact]
    public void Momentum_and_weight_decay_follow_the_pytorch_rule()
    {
        var p = Tensor.FromArray(new float[] { 1, -2 }, 2).RequireGrad();
        var opt = new Sgd([p], lr: 0.1, momentum: 0.9, weightDecay: 0.01);
        // step 1: g = 2p + wd p; v = g; p -= lr v
        Ops.Sum(p * p).Backward();
        opt.Step();
        double g0 = 2 * 1 + 0.01 * 1, p0 = 1 - 0.1 * g0;
        Assert.Equal(p0, p.Span[0], 5);
        // step 2: v = 0.9 v + g
        opt.ZeroGrad();
        Ops.Sum(p * p).Backward();
        opt.Step();
        double g1 = 2 * p0 + 0.01 * p0, v1 = 0.9 * g0 + g1;
        Assert.Equal(p0 - 0.1 * v1, p.Span[0], 5);
    }

    [Fact]
    public void Nesterov_descends_a_quadratic()
    {
        var p = Tensor.FromArray(new float[] { 3 }, 1).RequireGrad();
        var opt = new Sgd([p], lr: 0.05, momentum: 0.9, nesterov: true);
        for (int i = 0; i < 200; i++)
        {
            opt.ZeroGrad();
            Ops.Sum(p * p).Backward();
            opt.Step();
        }
        Assert.InRange(p.Span[0], -1e-3f, 1e-3f);
    }

    [Fact]
    public void Non_leaf_parameters_are_refused()
    {
        var p = Tensor.Ones(2).RequireGrad();
        Assert.Throws<ArgumentException>(() => new Sgd([p * 2], 0.1));
        Assert.Throws<ArgumentException>(() => new Sgd([Tensor.Ones(2)], 0.1));
    }
}

public class SgdStateTests
{
    [Fact]
    public void Nesterov_step_follows_the_pytorch_rule()
    {
        var p = Tensor.FromArray(new float[] { 1 }, 1).RequireGrad();
        var opt = new Sgd([p], lr: 0.1, momentum: 0.9, nesterov: true);
        Ops.Sum(p * p).Backward();
        opt.Step(); // g = 2, v = 2, step = g + mu v = 3.8
        Assert.Equal(1 - 0.1 * 3.8, p.Span[0], 5);
        opt.ZeroGrad();
        Ops.Sum(p * p).Backward();
        opt.Step();
        double p1 = 0.62, g1 = 2 * p1, v1 = 0.9 * 2 + g1;
        Assert.Equal(p1 - 0.1 * (g1 + 0.9 * v1), p.Span[0], 5);
    }

    [Fact]
    public void Exported_momentum_resumes_bit_identically()
    {
        var a = Tensor.FromArray(new float[] { 1, -3 }, 2).RequireGrad();
        var b = Tensor.FromArray(new float[] { 1, -3 }, 2).RequireGrad();
        var oa = new Sgd([a], 0.05, 0.9, 1e-3);
        var ob = new Sgd([b], 0.05, 0.9, 1e-3);
        void StepOn(Tensor p, IOptimizer o) { o.ZeroGrad(); Ops.Sum(p * p * p * p).Backward(); o.Step(); }
        for (int i = 0; i < 2; i++) { StepOn(a, oa); StepOn(b, ob); }
        var c = Tensor.FromArray(b.ToArray(), 2).RequireGrad();
        var oc = new Sgd([c], 0.05, 0.9, 1e-3);
        oc.ImportState(ob.ExportState());
        for (int i = 0; i < 3; i++) { StepOn(a, oa); StepOn(c, oc); }
        Assert.Equal(a.ToArray(), c.ToArray());
    }
    [Fact]
    public void ZeroGrad_lets_the_next_pass_write_the_gradient_into_the_old_storage()
    {
        var w = Tensor.Uniform([64, 80], -1, 1, 4);
        w.RequiresGrad = true;
        var opt = new Sgd([w], 0.1, 0.9);
        var x = Tensor.Uniform([80, 8], -1, 1, 5);
        float[] Grad()
        {
            var y = Ops.MatMul(w, x);
            Ops.Mean(Ops.Mul(y, y)).Backward();
            return w.Grad!.ToArray();
        }
        Grad();
        var first = w.Grad!;
        opt.Step();
        opt.ZeroGrad();
        Assert.Null(w.Grad);
        var g2 = Grad();
        Assert.Same(first.Storage, w.Grad!.Storage); // the new gradient lives in the old one's storage
        // and equals the gradient computed into fresh storage
        var fresh = w.Detach().Clone();
        fresh.RequiresGrad = true;
        var yf = Ops.MatMul(fresh, x);
        Ops.Mean(Ops.Mul(yf, yf)).Backward();
        Assert.Equal(fresh.Grad!.ToArray(), g2);
        // a gradient the caller set is never written into
        var mine = Tensor.Zeros(64, 80);
        w.Grad = mine;
        opt.ZeroGrad();
        Grad();
        Assert.NotSame(mine.Storage, w.Grad!.Storage);
        Assert.All(mine.ToArray(), v => Assert.Equal(0f, v));
    }
}
