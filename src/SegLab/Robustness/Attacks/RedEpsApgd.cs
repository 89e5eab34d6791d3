// APGD with progressive radius reduction (SEA, Croce, Singh, Hein, arXiv 2306.12941, section 3.5; code
// apgd_largereps; PAPERS.md A.3): iterations split 3:3:4 over radii 2 eps, 1.5 eps, eps; stage 1 may start at a
// random point, stages 2 and 3 start from the previous stage's best iterate projected onto their ball; the
// result is the last stage's best iterate (stages are not compared).
using SegLab.Engine;
using SegLab.Robustness.Losses;

namespace SegLab.Robustness.Attacks;

/// <summary>Red-eps APGD.</summary>
public sealed class RedEpsApgd : AttackBase
{
    private readonly Apgd _apgd;

    /// <summary>Creates the attack.</summary>
    /// <param name="loss">Gradient loss.</param>
    /// <param name="steps">Total iterations (SEA: 300 = 90 + 90 + 120).</param>
    /// <param name="trackedLoss">Tracked loss (null = CE).</param>
    /// <param name="randomStart">Random start of stage 1 (SEA v2: yes).</param>
    /// <param name="seed">Seed.</param>
    /// <param name="earlyStop">Early stop within each stage.</param>
    public RedEpsApgd(IAttackLoss loss, int steps = 300, IAttackLoss? trackedLoss = null, bool randomStart = true, long seed = 0, bool earlyStop = true)
    {
        if (steps < 3) throw new ArgumentException($"apgd-redeps: needs at least 3 iterations, got {steps}.");
        _apgd = new Apgd(loss, steps, trackedLoss, randomStart, seed, earlyStop);
    }

    /// <summary>The underlying APGD settings (its Steps is the total).</summary>
    public Apgd Inner => _apgd;

    /// <inheritdoc/>
    public override string Name => $"apgd-redeps-{_apgd.Loss.Name}";

    /// <summary>Iterations per stage: [floor(0.3 N), floor(0.3 N), N - 2 floor(0.3 N)].</summary>
    /// <param name="steps">N.</param>
    public static int[] Stages(int steps)
    {
        int s = (int)(0.3 * steps);
        return [s, s, steps - 2 * s];
    }

    /// <inheritdoc/>
    protected override (float[] Adversarial, ImageCounts[] Counts, double[] Loss) Attack(AttackContext ctx)
    {
        var stages = Stages(_apgd.Steps);
        double[] factors = [2, 1.5, 1];
        float[] x = _apgd.RandomStart ? LinfBall.RandomStart(ctx.X0, (float)(2 * ctx.Eps), new Rng(_apgd.Seed)) : (float[])ctx.X0.Clone();
        (float[] Adversarial, ImageCounts[] Counts, double[] Loss) result = default;
        int offset = 0, done = 0;
        for (int s = 0; s < 3; s++)
        {
            float eps = (float)(factors[s] * ctx.Eps);
            if (stages[s] < 1) continue;
            LinfBall.Project(x, ctx.X0, eps);
            result = _apgd.Run(ctx, x, eps, stages[s], offset, done, _apgd.Steps);
            x = (float[])result.Adversarial.Clone();
            offset += stages[s] + 1;
            done += stages[s];
        }
        return result;
    }
}
