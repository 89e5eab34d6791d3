// Saliency (Simonyan, Vedaldi, Zisserman; ICLR 2014 workshop, arXiv 1312.6034): the input gradient of the target
// score. Absolute (default): the largest |gradient| over the three channels, as in the paper; signed: the gradient
// summed over channels (AttributionOptions.Signed).
namespace SegLab.Attribution;

/// <summary>Input-gradient saliency map.</summary>
public sealed class Saliency : GradientMethod
{
    /// <inheritdoc/>
    public override string Name => "saliency";

    /// <inheritdoc/>
    protected internal override float Pixel(ReadOnlySpan<float> x, ReadOnlySpan<float> g, AttributionOptions options) => options.Signed
        ? g[0] + g[1] + g[2]
        : Math.Max(Math.Abs(g[0]), Math.Max(Math.Abs(g[1]), Math.Abs(g[2])));
}
