// Cross-entropy attack loss, L = -log p_y (SEA, arXiv 2306.12941, section 3.3.1; PAPERS.md A.2).
// Also PAdam-CE's loss (Halmosi et al., arXiv 2407.09150) and APGD's default tracked loss.
namespace SegLab.Robustness.Losses;

/// <summary>Per-pixel cross-entropy: L = -log softmax(u)_y; dL/du = p - e_y.</summary>
public sealed class CrossEntropyLoss : PixelLoss
{
    /// <inheritdoc/>
    public override string Name => "ce";

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        CrossEntropyGradient(v, 1f, du);
        return -v.LogPy;
    }
}
