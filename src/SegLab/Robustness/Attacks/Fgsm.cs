// FGSM (Goodfellow, Shlens, Szegedy; ICLR 2015) for segmentation: one signed-gradient step of size alpha
// (default eps) on a per-pixel loss, projected onto the eps-ball and [0,1] (PAPERS.md A.0).
using SegLab.Robustness.Losses;

namespace SegLab.Robustness.Attacks;

/// <summary>Fast gradient sign method: x + alpha * sign(grad), projected.</summary>
public sealed class Fgsm : AttackBase
{
    /// <summary>Creates the attack.</summary>
    /// <param name="loss">Attack loss.</param>
    /// <param name="alpha">Step size; null = eps.</param>
    public Fgsm(IAttackLoss loss, double? alpha = null)
    {
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        Alpha = alpha;
    }

    /// <summary>Attack loss.</summary>
    public IAttackLoss Loss { get; }

    /// <summary>Step size (null = eps).</summary>
    public double? Alpha { get; }

    /// <inheritdoc/>
    public override string Name => $"fgsm-{Loss.Name}";

    /// <inheritdoc/>
    protected override (float[] Adversarial, ImageCounts[] Counts, double[] Loss) Attack(AttackContext ctx)
    {
        var x = (float[])ctx.X0.Clone();
        var ev = ctx.Evaluate(x, Loss, 0, 1, gradient: true);
        ctx.Record(0, ev);
        LinfBall.SignStep(x, ev.Grad!, (float)(Alpha ?? ctx.Eps));
        LinfBall.Project(x, ctx.X0, ctx.Eps);
        var end = ctx.Evaluate(x, Loss, 1, 1, gradient: false);
        ctx.Record(1, end);
        ctx.Progress?.Report(new AttackProgress(Name, 1, 1));
        return (x, end.Counts, end.Loss);
    }
}
