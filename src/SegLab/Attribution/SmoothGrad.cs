// SmoothGrad (Smilkov et al., arXiv 1706.03825) as a wrapper of any method: the mean map over Samples copies of
// the image with Gaussian noise of standard deviation NoiseLevel * (max - min). The noise is drawn in sample order
// from one seeded generator, so the map does not depend on the batch size. Over a gradient method (saliency,
// gradient x input) the noisy copies go BatchSize at a time through one forward/backward pass; any other method
// runs once per copy.
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Averages a method's maps over noisy copies of the image.</summary>
/// <param name="inner">The wrapped method.</param>
public sealed class SmoothGrad(IAttribution inner) : IAttribution
{
    /// <summary>The wrapped method.</summary>
    public IAttribution Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <inheritdoc/>
    public string Name => Inner is Saliency ? "smoothgrad" : "smoothgrad-" + Inner.Name;

    /// <inheritdoc/>
    public AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null)
    {
        var (o, x, h, w) = GradientPass.Begin(model, image, target, options);
        int d = x.Length, pixels = h * w, samples = o.Samples;
        float lo = x.Min(), hi = x.Max();
        double sigma = o.NoiseLevel * (hi - lo);
        var rng = new Rng(o.Seed);
        var map = new float[pixels];
        float weight = 1f / samples;
        void Noisy(Span<float> dst)
        {
            for (int i = 0; i < d; i++) dst[i] = x[i] + (float)(sigma * rng.NextNormal());
        }
        double score = GradientPass.Scores(model, x, 1, h, w, target)[0];
        if (Inner is GradientMethod gm)
        {
            GradientPass.InputGradients(model, samples, o.BatchSize, h, w, target, gm.Rule, (_, dst) => Noisy(dst),
                (_, xi, g) => gm.Accumulate(xi, g, pixels, map, weight, o));
            return new AttributionMap(Name, map, h, w, score) { Forwards = samples + 1, Backwards = samples };
        }
        int forwards = 0, backwards = 0;
        string? layer = null;
        var copy = new float[d];
        for (int k = 0; k < samples; k++)
        {
            Noisy(copy);
            var m = Inner.Attribute(model, Tensor.FromArray((float[])copy.Clone(), 3, h, w), target, o);
            for (int i = 0; i < pixels; i++) map[i] += weight * m.Values[i];
            forwards += m.Forwards;
            backwards += m.Backwards;
            layer = m.Layer;
        }
        return new AttributionMap(Name, map, h, w, score) { Forwards = forwards + 1, Backwards = backwards, Layer = layer };
    }
}
