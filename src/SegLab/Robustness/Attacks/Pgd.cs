// PGD (Madry et al., ICLR 2018) with sign steps for segmentation, as SEA runs its SegPGD/CosPGD baselines
// (PAPERS.md A.5) and as the PyTorch reference runs it (shared/reference README): x <- P(x + alpha sign(g)),
// optional seeded uniform start, and either the iterate with the highest per-image loss or the last one.
using SegLab.Engine;
using SegLab.Robustness.Losses;

namespace SegLab.Robustness.Attacks;

/// <summary>Which iterate PGD returns.</summary>
public enum PgdIterate
{
    /// <summary>Per image, the iterate with the highest attack loss (start point included; SEA's baselines).</summary>
    BestLoss,

    /// <summary>The last iterate.</summary>
    Last,
}

/// <summary>Projected gradient descent (ascent on the loss) with fixed sign steps.</summary>
public sealed class Pgd : AttackBase
{
    /// <summary>Creates the attack.</summary>
    /// <param name="loss">Attack loss.</param>
    /// <param name="steps">Steps T.</param>
    /// <param name="alpha">Absolute step size; null = <paramref name="alphaOverEps"/> * eps.</param>
    /// <param name="alphaOverEps">Step size relative to eps when <paramref name="alpha"/> is null.</param>
    /// <param name="randomStart">Start from x + U(-eps, eps).</param>
    /// <param name="seed">Seed of the random start.</param>
    /// <param name="iterate">Which iterate to return.</param>
    public Pgd(IAttackLoss loss, int steps = 20, double? alpha = null, double alphaOverEps = 0.25, bool randomStart = false, long seed = 0,
        PgdIterate iterate = PgdIterate.BestLoss)
    {
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        if (steps < 1) throw new ArgumentException($"pgd: steps must be at least 1, got {steps}.");
        if (alpha is { } a && !(a > 0)) throw new ArgumentException($"pgd: step size must be positive, got {a}.");
        Steps = steps;
        Alpha = alpha;
        AlphaOverEps = alphaOverEps;
        RandomStart = randomStart;
        Seed = seed;
        Iterate = iterate;
    }

    /// <summary>Attack loss.</summary>
    public IAttackLoss Loss { get; }

    /// <summary>Steps.</summary>
    public int Steps { get; }

    /// <summary>Absolute step size, or null.</summary>
    public double? Alpha { get; }

    /// <summary>Relative step size.</summary>
    public double AlphaOverEps { get; }

    /// <summary>Whether to start at a random point of the ball.</summary>
    public bool RandomStart { get; }

    /// <summary>Seed of the random start.</summary>
    public long Seed { get; }

    /// <summary>Returned iterate.</summary>
    public PgdIterate Iterate { get; }

    /// <inheritdoc/>
    public override string Name => $"pgd-{Loss.Name}";

    /// <summary>The step size used at radius eps.</summary>
    /// <param name="eps">Radius.</param>
    public float StepSize(float eps) => (float)(Alpha ?? AlphaOverEps * eps);

    /// <inheritdoc/>
    protected override (float[] Adversarial, ImageCounts[] Counts, double[] Loss) Attack(AttackContext ctx)
    {
        var x = RandomStart ? LinfBall.RandomStart(ctx.X0, ctx.Eps, new Rng(Seed)) : (float[])ctx.X0.Clone();
        var best = (float[])x.Clone();
        var bestLoss = Enumerable.Repeat(double.NegativeInfinity, ctx.N).ToArray();
        var bestCounts = new ImageCounts[ctx.N];
        float alpha = StepSize(ctx.Eps);
        Evaluation ev = null!;
        for (int t = 0; t <= Steps; t++)
        {
            ev = ctx.Evaluate(x, Loss, t, Steps, gradient: t < Steps);
            ctx.Record(t, ev);
            for (int b = 0; b < ctx.N; b++)
            {
                // NaN losses never win; ties keep the earlier iterate.
                if (Iterate == PgdIterate.BestLoss && ev.Loss[b] > bestLoss[b])
                {
                    bestLoss[b] = ev.Loss[b];
                    bestCounts[b] = ev.Counts[b];
                    ctx.CopyImage(x, best, b);
                }
                bestCounts[b] ??= ev.Counts[b];
            }
            if (t == Steps) break;
            LinfBall.SignStep(x, ev.Grad!, alpha);
            LinfBall.Project(x, ctx.X0, ctx.Eps);
            ctx.Progress?.Report(new AttackProgress(Name, t + 1, Steps));
        }
        return Iterate == PgdIterate.Last ? (x, ev.Counts, ev.Loss) : (best, bestCounts, bestLoss);
    }
}
