// PAdam (Halmosi, Mohos, Jelasity; "Trying Harder Pays Off", ECCV'24, arXiv 2407.09150; code rse/attacks.py;
// PAPERS.md A.6): Adam with amsgrad (PyTorch 1.13 update rule, maximise) on delta ~ U(-eps, eps), lr 2/255,
// betas (0.9, 0.999), eps 1e-8, 200 steps, loss = mean over batch and pixels; after each step delta is clipped
// to [-eps, eps] and x + delta to [0, 1]. Returns the last iterate.
using SegLab.Engine;
using SegLab.Robustness.Losses;

namespace SegLab.Robustness.Attacks;

/// <summary>Projected Adam (amsgrad) on the perturbation, last iterate.</summary>
public sealed class PAdam : AttackBase
{
    /// <summary>Creates the attack.</summary>
    /// <param name="loss">Attack loss (PAdam-CE: cross-entropy; PAdam-Cos: 1 - cos on raw logits).</param>
    /// <param name="steps">Adam steps.</param>
    /// <param name="learningRate">Adam's lr.</param>
    /// <param name="seed">Seed of the uniform start.</param>
    public PAdam(IAttackLoss loss, int steps = 200, double learningRate = 2.0 / 255, long seed = 0)
    {
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        if (steps < 1) throw new ArgumentException($"padam: steps must be at least 1, got {steps}.");
        if (!(learningRate > 0)) throw new ArgumentException($"padam: learning rate must be positive, got {learningRate}.");
        Steps = steps;
        LearningRate = learningRate;
        Seed = seed;
    }

    /// <summary>Attack loss.</summary>
    public IAttackLoss Loss { get; }

    /// <summary>Steps.</summary>
    public int Steps { get; }

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>Seed of the start.</summary>
    public long Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"padam-{Loss.Name}";

    /// <inheritdoc/>
    protected override (float[] Adversarial, ImageCounts[] Counts, double[] Loss) Attack(AttackContext ctx)
    {
        const float beta1 = 0.9f, beta2 = 0.999f, adamEps = 1e-8f;
        const float oneMinusBeta1 = (float)(1 - 0.9), oneMinusBeta2 = (float)(1 - 0.999); // Python computes 1 - beta in double
        var x0 = ctx.X0;
        int len = x0.Length;
        var rng = new Rng(Seed);
        var delta = new float[len];
        for (int i = 0; i < len; i++) delta[i] = (float)((2 * rng.NextDouble() - 1) * ctx.Eps);
        ClipDelta(delta, x0, ctx.Eps);
        float[] m = new float[len], v = new float[len], vMax = new float[len], x = new float[len];
        float lr = (float)LearningRate, scale = 1f / ctx.N;
        for (int t = 1; t <= Steps; t++)
        {
            Compose(x, x0, delta, ctx.Eps);
            var ev = ctx.Evaluate(x, Loss, t - 1, Steps, gradient: true, scale: scale);
            ctx.Record(t - 1, ev);
            var g = ev.Grad!;
            double bc1 = 1 - Math.Pow(0.9, t), bc2 = 1 - Math.Pow(0.999, t);
            float stepSize = (float)(lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2);
            for (int i = 0; i < len; i++)
            {
                float gi = -g[i]; // maximise
                m[i] = m[i] * beta1 + gi * oneMinusBeta1;
                v[i] = v[i] * beta2 + gi * gi * oneMinusBeta2;
                vMax[i] = MathF.Max(vMax[i], v[i]);
                float denom = MathF.Sqrt(vMax[i]) / bc2Sqrt + adamEps;
                delta[i] -= stepSize * (m[i] / denom);
            }
            ClipDelta(delta, x0, ctx.Eps);
            ctx.Progress?.Report(new AttackProgress(Name, t, Steps));
        }
        Compose(x, x0, delta, ctx.Eps);
        var end = ctx.Evaluate(x, Loss, Steps, Steps, gradient: false);
        ctx.Record(Steps, end);
        return (x, end.Counts, end.Loss);
    }

    // delta <- clip(delta, -eps, eps); delta <- clip(x0 + delta, 0, 1) - x0 (the official order).
    private static void ClipDelta(float[] delta, float[] x0, float eps)
    {
        for (int i = 0; i < delta.Length; i++)
        {
            float d = Math.Clamp(delta[i], -eps, eps);
            delta[i] = Math.Clamp(x0[i] + d, 0f, 1f) - x0[i];
        }
    }

    // x = x0 + delta, projected (removes one-ulp excursions of x0 + (clip(x0 + d) - x0) outside the ball or [0, 1]).
    private static void Compose(float[] x, float[] x0, float[] delta, float eps)
    {
        for (int i = 0; i < x.Length; i++) x[i] = x0[i] + delta[i];
        LinfBall.Project(x, x0, eps);
    }
}
