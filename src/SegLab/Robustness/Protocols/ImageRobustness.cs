// Per-image results of a protocol run: the clean prediction's counts and, per radius and attack, the counts of
// the attack's adversarial prediction, its loss, perturbation norm and ball check, plus sanity figures
// (AutoAttack's checks, PAPERS.md A.4/A.6). Everything later selections and metrics need, so none needs a forward.
namespace SegLab.Robustness.Protocols;

/// <summary>One attack on one image at one radius.</summary>
/// <param name="Attack">Attack name.</param>
/// <param name="Counts">Pixel counts of the adversarial prediction.</param>
/// <param name="Loss">Attack loss of the returned image.</param>
/// <param name="LinfNorm">max |x_adv - x|.</param>
/// <param name="Violations">Elements outside the ball or [0, 1] (must be 0).</param>
/// <param name="Forwards">Forward passes used.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="Trace">Every iterate's loss, accuracy and image mIoU, when the evaluator keeps traces; else null.</param>
public sealed record AttackOutcome(string Attack, ImageCounts Counts, double Loss, double LinfNorm, long Violations, long Forwards, double Seconds,
    IReadOnlyList<SegLab.Robustness.Attacks.TraceStep>? Trace = null);

/// <summary>All attacks on one image at one radius.</summary>
/// <param name="Eps">Radius.</param>
/// <param name="Attacks">Outcome per attack, in protocol order.</param>
/// <param name="CleanToWorst">
/// What the clean-correct pixels become under the image's worst case at this radius (<see cref="Protocols.CleanToWorst"/>:
/// row = class, column = worst-case prediction), or null in a state written before these counts were kept.
/// </param>
public sealed record EpsOutcome(double Eps, IReadOnlyList<AttackOutcome> Attacks, long[][]? CleanToWorst = null);

/// <summary>A protocol's results on one image.</summary>
/// <param name="Id">Image id.</param>
/// <param name="Height">H.</param>
/// <param name="Width">W.</param>
/// <param name="Clean">Counts of the clean prediction.</param>
/// <param name="PerEps">Per radius.</param>
/// <param name="ForwardDifference">max |logits_1 - logits_2| of two clean forward passes (0 for a deterministic model).</param>
/// <param name="ZeroGradients">Input gradients that were entirely zero.</param>
/// <param name="NonFiniteGradients">Input gradients with NaN or infinity.</param>
/// <param name="Gradients">Input gradients computed.</param>
/// <param name="Seconds">Wall time for this image.</param>
public sealed record ImageRobustness(string Id, int Height, int Width, ImageCounts Clean, IReadOnlyList<EpsOutcome> PerEps,
    double ForwardDifference, long ZeroGradients, long NonFiniteGradients, long Gradients, double Seconds)
{
    /// <summary>The outcomes at a radius (matched to 1e-12).</summary>
    /// <param name="eps">Radius.</param>
    public EpsOutcome At(double eps) => PerEps.FirstOrDefault(e => Math.Abs(e.Eps - eps) < 1e-12)
        ?? throw new KeyNotFoundException($"image {Id} has no results at radius {LinfBall.FormatEps(eps)}.");

    /// <summary>Candidates at a radius: the clean prediction first, then each attack.</summary>
    /// <param name="eps">Radius.</param>
    public IReadOnlyList<(string Name, ImageCounts Counts)> CandidatesAt(double eps) =>
        [("clean", Clean), .. At(eps).Attacks.Select(a => (a.Attack, a.Counts))];
}
