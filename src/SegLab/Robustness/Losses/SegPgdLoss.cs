// SegPGD's weighted CE (Gu et al., arXiv 2207.12391, Eq. and Alg. 1; PAPERS.md A.2):
//   L = [(1 - lambda_t) 1[argmax u = y] + lambda_t 1[argmax u != y]] * CE,  lambda_t = (t - 1) / (2T), t = 1..T,
// i.e. lambda = step / (2T) with step = steps taken before this gradient (0 at the start), as Halmosi's APGD-SegPGD.
namespace SegLab.Robustness.Losses;

/// <summary>SegPGD's loss with its linear lambda schedule.</summary>
public sealed class SegPgdLoss : PixelLoss
{
    /// <inheritdoc/>
    public override string Name => "segpgd";

    /// <summary>lambda at a step: step / (2 * totalSteps), capped at 1/2.</summary>
    /// <param name="step">Steps taken before this evaluation.</param>
    /// <param name="totalSteps">T.</param>
    public static float Lambda(int step, int totalSteps) => MathF.Min(0.5f, step / (2f * Math.Max(1, totalSteps)));

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        float lambda = Lambda(v.Step, v.TotalSteps);
        float w = v.Correct ? 1f - lambda : lambda;
        CrossEntropyGradient(v, w, du);
        return w * -v.LogPy;
    }
}
