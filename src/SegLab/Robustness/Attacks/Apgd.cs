// APGD (Croce & Hein, ICML 2020) as adapted by SEA to pixel-wise losses (Croce, Singh, Hein, arXiv 2306.12941;
// code semseg/attacker.py apgd_train), exactly as PAPERS.md A.3: per-image step size 2 eps, momentum 0.75,
// checkpoints 0.22/0.06/0.03 N, rho 0.75, step-size control by a tracked loss (CE by default) apart from the
// gradient loss, the returned iterate the one with the lowest per-image accuracy (ignored pixels count as wrong at
// the start point and as correct afterwards, as the official code does), optional early stop.
using SegLab.Engine;
using SegLab.Robustness.Losses;

namespace SegLab.Robustness.Attacks;

/// <summary>Auto-PGD with SEA's segmentation adaptations, at a constant radius.</summary>
public sealed class Apgd : AttackBase
{
    /// <summary>Creates the attack.</summary>
    /// <param name="loss">Gradient loss.</param>
    /// <param name="steps">Iterations N.</param>
    /// <param name="trackedLoss">Loss driving the step-size control; null = cross-entropy (SEA's 'ce-avg').</param>
    /// <param name="randomStart">Start from clip(x + eps U(-1, 1), 0, 1) (SEA: yes).</param>
    /// <param name="seed">Seed of the random start.</param>
    /// <param name="earlyStop">Stop when every image's accuracy is 0.</param>
    public Apgd(IAttackLoss loss, int steps = 100, IAttackLoss? trackedLoss = null, bool randomStart = true, long seed = 0, bool earlyStop = true)
    {
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        if (steps < 1) throw new ArgumentException($"apgd: steps must be at least 1, got {steps}.");
        Steps = steps;
        TrackedLoss = trackedLoss ?? new CrossEntropyLoss();
        RandomStart = randomStart;
        Seed = seed;
        EarlyStop = earlyStop;
    }

    /// <summary>Gradient loss.</summary>
    public IAttackLoss Loss { get; }

    /// <summary>Iterations.</summary>
    public int Steps { get; }

    /// <summary>Tracked loss.</summary>
    public IAttackLoss TrackedLoss { get; }

    /// <summary>Random start.</summary>
    public bool RandomStart { get; }

    /// <summary>Seed.</summary>
    public long Seed { get; }

    /// <summary>Early stop.</summary>
    public bool EarlyStop { get; }

    /// <inheritdoc/>
    public override string Name => $"apgd-{Loss.Name}";

    /// <inheritdoc/>
    protected override (float[] Adversarial, ImageCounts[] Counts, double[] Loss) Attack(AttackContext ctx)
    {
        var start = RandomStart ? LinfBall.RandomStart(ctx.X0, ctx.Eps, new Rng(Seed)) : (float[])ctx.X0.Clone();
        return Run(ctx, start, ctx.Eps, Steps, 0, 0, Steps);
    }

    /// <summary>Checkpoint schedule: first interval max(floor(0.22 N), 1), minimum max(floor(0.06 N), 1), decrement max(floor(0.03 N), 1).</summary>
    /// <param name="steps">N.</param>
    public static (int First, int Min, int Decrement) Schedule(int steps) =>
        (Math.Max((int)(0.22 * steps), 1), Math.Max((int)(0.06 * steps), 1), Math.Max((int)(0.03 * steps), 1));

    /// <summary>One APGD run from <paramref name="start"/> at radius <paramref name="eps"/> (red-eps calls it per stage).</summary>
    /// <param name="ctx">Inputs.</param>
    /// <param name="start">Start point, inside the ball.</param>
    /// <param name="eps">Radius of this run.</param>
    /// <param name="steps">Iterations of this run.</param>
    /// <param name="stepOffset">Added to trace steps.</param>
    /// <param name="progressOffset">Added to progress steps.</param>
    /// <param name="progressTotal">Total steps reported to progress (red-eps: all stages).</param>
    internal (float[] Adversarial, ImageCounts[] Counts, double[] Loss) Run(AttackContext ctx, float[] start, float eps, int steps, int stepOffset, int progressOffset, int progressTotal)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        int nImg = ctx.N, d = ctx.D;
        var x0 = ctx.X0;
        var (k, kMin, kDec) = Schedule(steps);
        const double rho = 0.75;
        var eta = Enumerable.Repeat(2f * eps, nImg).ToArray();

        var xAdv = (float[])start.Clone();
        var ev = ctx.Evaluate(xAdv, Loss, 0, steps, gradient: true, TrackedLoss);
        ctx.Record(0, ev, stepOffset);
        var g = ev.Grad!;
        var xBest = (float[])xAdv.Clone();
        var gBest = (float[])g.Clone();
        var xBestAdv = (float[])xAdv.Clone();
        var lBest = (double[])ev.Tracked.Clone();
        var lBestLast = (double[])lBest.Clone();
        var reducedLast = Enumerable.Repeat(true, nImg).ToArray();
        var acc = ev.Counts.Select(c => c.AccuracyAllPixels(ignoredCorrect: false)).ToArray();
        var bestCounts = (ImageCounts[])ev.Counts.Clone();
        var bestLoss = (double[])ev.Loss.Clone();
        var lossSteps = new double[steps, nImg]; // tracked loss after each iteration; zeros before (AutoAttack's buffer)
        var xOld = (float[])xAdv.Clone();
        var xNew = new float[xAdv.Length];
        int counter = 0;
        for (int i = 0; i < steps; i++)
        {
            float a = i == 0 ? 1f : 0.75f;
            for (int b = 0; b < nImg; b++) Step(ctx.Image(xAdv, b), ctx.Image(xOld, b), ctx.Image(g, b), x0.AsSpan(b * d, d), ctx.Image(xNew, b), eta[b], a, eps);
            (xOld, xAdv, xNew) = (xAdv, xNew, xOld);
            bool last = i == steps - 1;
            ev = ctx.Evaluate(xAdv, Loss, i + 1, steps, gradient: !last, TrackedLoss);
            ctx.Record(i + 1, ev, stepOffset);
            if (!last) g = ev.Grad!;
            for (int b = 0; b < nImg; b++)
            {
                double accI = ev.Counts[b].AccuracyAllPixels(ignoredCorrect: true);
                if (accI <= acc[b])
                {
                    ctx.CopyImage(xAdv, xBestAdv, b);
                    bestCounts[b] = ev.Counts[b];
                    bestLoss[b] = ev.Loss[b];
                    acc[b] = accI;
                }
                double l = ev.Tracked[b];
                if (l > lBest[b])
                {
                    ctx.CopyImage(xAdv, xBest, b);
                    ctx.CopyImage(g, gBest, b);
                    lBest[b] = l;
                }
                lossSteps[i, b] = l;
            }
            counter++;
            if (counter == k)
            {
                for (int b = 0; b < nImg; b++)
                {
                    int increases = 0;
                    for (int c = 0; c < k; c++)
                    {
                        int j = i - c, prev = (j - 1 + steps) % steps; // index -1 wraps to the (still zero) last row, as AutoAttack
                        if (lossSteps[j, b] > lossSteps[prev, b]) increases++;
                    }
                    bool oscillation = increases <= k * rho;
                    bool noImprovement = !reducedLast[b] && lBestLast[b] >= lBest[b];
                    bool reduce = oscillation || noImprovement;
                    reducedLast[b] = reduce;
                    lBestLast[b] = lBest[b];
                    if (reduce)
                    {
                        eta[b] /= 2f;
                        ctx.CopyImage(xBest, xAdv, b);
                        ctx.CopyImage(gBest, g, b);
                    }
                }
                counter = 0;
                k = Math.Max(k - kDec, kMin);
            }
            ctx.Progress?.Report(new AttackProgress(ctx.Name, progressOffset + i + 1, progressTotal));
            if (EarlyStop && acc.All(v => v == 0)) break;
        }
        return (xBestAdv, bestCounts, bestLoss);
    }

    // z = P(x + eta sign(g)); x_new = P(x + a (z - x) + (1 - a) (x - x_old)), in the official code's float order.
    private static void Step(ReadOnlySpan<float> x, ReadOnlySpan<float> xOld, ReadOnlySpan<float> g, ReadOnlySpan<float> x0, Span<float> xNew,
        float eta, float a, float eps)
    {
        float oneMinusA = 1f - a;
        for (int e = 0; e < x.Length; e++)
        {
            float gv = g[e], xv = x[e], lo = x0[e] - eps, hi = x0[e] + eps;
            float z = xv + eta * (gv > 0 ? 1f : gv < 0 ? -1f : 0f);
            z = Math.Clamp(MathF.Min(MathF.Max(z, lo), hi), 0f, 1f);
            float y = xv + (z - xv) * a + (xv - xOld[e]) * oneMinusA;
            xNew[e] = Math.Clamp(MathF.Min(MathF.Max(y, lo), hi), 0f, 1f);
        }
    }
}
