using SegLab.Engine.Optim;

namespace SegLab.Engine.Tests.Optim;

public class AdamWTests
{
    /// <summary>Three steps on f(p) = sum(p^2 * c) against a float64 transcription of PyTorch's AdamW update.</summary>
    [Fact]
    public void Three_steps_match_a_float64_reference()
    {
        double[] p0 = [1.0, -2.0, 0.5, 3.0];
        double[] c = [1.0, 0.5, 4.0, 0.1];
        var p = Tensor.FromArray(p0.Select(x => (float)x).ToArray(), 4).RequireGrad();
        var ct = Tensor.FromArray(c.Select(x => (float)x).ToArray(), 4);
        const double lr = 0.05, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1;
        var opt = new AdamW([p], lr, b1, b2, eps, wd);

        var w = (double[])p0.Clone();
        var m = new double[4];
        var v = new double[4];
        for (int t = 1; t <= 3; t++)
        {
            opt.ZeroGrad();
            Ops.Sum(p * p * ct).Backward();
            opt.Step();
            for (int j = 0; j < 4; j++)
            {
                double g = 2 * c[j] * w[j];
                w[j] *= 1 - lr * wd;
                m[j] = b1 * m[j] + (1 - b1) * g;
                v[j] = b2 * v[j] + (1 - b2) * g * g;
                double mh = m[j] / (1 - Math.Pow(b1, t)), vh = v[j] / (1 - Math.Pow(b2, t));
                w[j] -= lr * mh / (Math.Sqrt(vh) + eps);
            }
            for (int j = 0; j < 4; j++) Assert.Equal(w[j], p.Span[j], 5);
        }
        Assert.Equal(3, opt.Steps);
    }

    [Fact]
    public void Weight_decay_is_decoupled_from_the_gradient()
    {
        // Zero gradient: Adam's update is 0/(0+eps) = 0, so only the decay 1 - lr*wd acts.
        var p = Tensor.FromArray(new float[] { 2 }, 1).RequireGrad();
        var opt = new AdamW([p], lr: 0.1, weightDecay: 0.5);
        p.Grad = Tensor.Zeros(1);
        opt.Step();
        Assert.Equal(2 * (1 - 0.05), p.Span[0], 6);
    }

    [Fact]
    public void Exported_state_resumes_bit_identically()
    {
        static (Tensor P, AdamW Opt) Make() => (Tensor.FromArray(new float[] { 1, -1, 2 }, 3).RequireGrad(), null!);
        var (a, _) = Make();
        var optA = new AdamW([a], 0.01);
        var (b, _) = Make();
        var optB = new AdamW([b], 0.01);
        void StepOn(Tensor p, IOptimizer o) { o.ZeroGrad(); Ops.Sum(p * p * p).Backward(); o.Step(); }
        for (int i = 0; i < 3; i++) { StepOn(a, optA); StepOn(b, optB); }
        var saved = optB.ExportState();
        var c = Tensor.FromArray(b.ToArray(), 3).RequireGrad();
        var optC = new AdamW([c], 0.01);
        optC.ImportState(saved);
        for (int i = 0; i < 3; i++) { StepOn(a, optA); StepOn(c, optC); }
        Assert.Equal(a.ToArray(), c.ToArray());
        Assert.Equal(6, optC.Steps);
    }

    [Fact]
    public void Import_names_a_wrong_key_or_shape()
    {
        var p = Tensor.Ones(2).RequireGrad();
        var opt = new AdamW([p]);
        var step = Tensor.FromArray(new double[] { 1 });
        var e1 = Assert.Throws<FormatException>(() => opt.ImportState(new Dictionary<string, Tensor> { ["step"] = step, ["0.bogus"] = Tensor.Ones(2) }, "x.safetensors"));
        Assert.Contains("0.bogus", e1.Message);
        Assert.Contains("x.safetensors", e1.Message);
        var e2 = Assert.Throws<FormatException>(() => opt.ImportState(new Dictionary<string, Tensor> { ["step"] = step, ["0.exp_avg"] = Tensor.Ones(3), ["0.exp_avg_sq"] = Tensor.Ones(3) }));
        Assert.Contains("0.exp_avg", e2.Message);
    }
}
