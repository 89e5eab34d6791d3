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
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        options ??= AttributionOptions.Default;
        options.Validate();
        var (x, h, w) = GradientPass.Image(image);
        int d = x.Length, pixels = h * w, samples = options.Samples;
        float lo = x.Min(), hi = x.Max();
        double sigma = options.NoiseLevel * (hi - lo);
        var rng = new Rng(options.Seed);
        var map = new float[pixels];
        float weight = 1f / samples;
        int forwards = 0, backwards = 0;
        string? layer = null;
        for (int start = 0, n; start < samples; start += n)
        {
            n = Inner is GradientMethod ? Math.Min(options.BatchSize, samples - start) : 1;
            var batch = new float[n * d];
            for (int i = 0; i < batch.Length; i++) batch[i] = x[i % d] + (float)(sigma * rng.NextNormal());
            if (Inner is GradientMethod gm)
            {
                var g = GradientPass.Run(model, batch, n, h, w, target, inputGrad: true, layer: null).InputGrad!;
                for (int b = 0; b < n; b++) gm.Accumulate(batch.AsSpan(b * d, d), g.AsSpan(b * d, d), pixels, map, weight, options);
                forwards += n;
                backwards += n;
            }
            else
            {
                var m = Inner.Attribute(model, Tensor.FromArray(batch, 3, h, w), target, options);
                for (int i = 0; i < pixels; i++) map[i] += weight * m.Values[i];
                forwards += m.Forwards;
                layer = m.Layer;
                backwards += m.Backwards;
            }
        }
        double score = GradientPass.Scores(model, x, 1, h, w, target)[0];
        return new AttributionMap(Name, map, h, w, score) { Forwards = forwards + 1, Backwards = backwards, Layer = layer };
    }
}
