// Masked cross-entropy, L = 1[argmax u = y] * CE (SEA, arXiv 2306.12941, section 3.4; PAPERS.md A.2):
// only pixels still classified correctly push the attack; the mask is detached and recomputed every step.
namespace SegLab.Robustness.Losses;

/// <summary>Masked cross-entropy (SEA's L_MCE).</summary>
public sealed class MaskedCrossEntropyLoss : PixelLoss
{
    /// <inheritdoc/>
    public override string Name => "mce";

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        float m = v.Correct ? 1f : 0f;
        CrossEntropyGradient(v, m, du);
        return m * -v.LogPy;
    }
}
