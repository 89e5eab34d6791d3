// Base of the methods whose map is a pointwise function of the image and the input gradient at it (saliency,
// gradient x input, guided backpropagation): one forward and one backward per image, and SmoothGrad can batch its
// noisy copies through them.
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>How a gradient method takes its input gradient.</summary>
public enum InputGradientRule
{
    /// <summary>The ordinary gradient.</summary>
    Gradient,

    /// <summary>Guided backpropagation through every rectifier (ReLU, LeakyReLU, PReLU; <see cref="SegLab.Engine.Autograd.BackwardRules.Guided"/>).</summary>
    Guided,

    /// <summary>Guided backpropagation through ReLUs only, PReLU and LeakyReLU ordinary (Captum's convention).</summary>
    GuidedReluOnly,
}

/// <summary>A map computed from the image x and d score / d x at x, pixel by pixel.</summary>
public abstract class GradientMethod : IAttribution
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <summary>How the input gradient is taken: ordinary, or under the guided-backpropagation rule.</summary>
    public virtual InputGradientRule Rule => InputGradientRule.Gradient;

    /// <summary>One pixel's value from its three channels of image and gradient.</summary>
    /// <param name="x">The image's channels at the pixel.</param>
    /// <param name="g">The gradient's channels at the pixel.</param>
    /// <param name="options">Settings.</param>
    protected internal abstract float Pixel(ReadOnlySpan<float> x, ReadOnlySpan<float> g, AttributionOptions options);

    /// <inheritdoc/>
    public AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null)
    {
        var (o, x, h, w) = GradientPass.Begin(model, image, target, options);
        var map = new float[h * w];
        var scores = GradientPass.InputGradients(model, 1, 1, h, w, target, Rule, (_, dst) => x.CopyTo(dst),
            (_, xi, g) => Accumulate(xi, g, h * w, map, 1f, o));
        return new AttributionMap(Name, map, h, w, scores[0]) { Forwards = 1, Backwards = 1 };
    }

    /// <summary>Adds weight * Pixel(x, g) at every pixel of one image to <paramref name="map"/>.</summary>
    internal void Accumulate(ReadOnlySpan<float> x, ReadOnlySpan<float> g, int pixels, Span<float> map, float weight, AttributionOptions options)
    {
        Span<float> xs = stackalloc float[3], gs = stackalloc float[3];
        for (int i = 0; i < pixels; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                xs[c] = x[c * pixels + i];
                gs[c] = g[c * pixels + i];
            }
            map[i] += weight * Pixel(xs, gs, options);
        }
    }
}
