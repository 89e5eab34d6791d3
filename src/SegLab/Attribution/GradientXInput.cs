// Gradient x input (Shrikumar et al., "Not just a black box", arXiv 1605.01713): the image times its input
// gradient, summed over channels. For a linear model it is each pixel's exact contribution to the score.
namespace SegLab.Attribution;

/// <summary>Gradient times input, summed over channels.</summary>
public sealed class GradientXInput : GradientMethod
{
    /// <inheritdoc/>
    public override string Name => "gxi";

    /// <inheritdoc/>
    protected internal override float Pixel(ReadOnlySpan<float> x, ReadOnlySpan<float> g, AttributionOptions options) =>
        (x[0] * g[0]) + (x[1] * g[1]) + (x[2] * g[2]);
}
