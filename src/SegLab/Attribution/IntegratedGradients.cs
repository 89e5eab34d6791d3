// Integrated Gradients (Sundararajan, Taly, Yan; ICML 2017, arXiv 1703.01365): (x - x') times the mean gradient
// along the straight path from the baseline x' to x, here by the midpoint rule over Steps points, run BatchSize
// points per forward/backward pass (only one graph alive at a time, so memory stays flat in the steps). The map sums
// channels, so by completeness it sums to F(x) - F(x'); the difference is reported with every map.
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Integrated Gradients with a choice of baselines.</summary>
public sealed class IntegratedGradients : IAttribution
{
    /// <inheritdoc/>
    public string Name => "ig";

    /// <inheritdoc/>
    public AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        options ??= AttributionOptions.Default;
        options.Validate();
        var (x, h, w) = GradientPass.Image(image);
        var baseline = IgBaselines.Create(options.Baseline, x, h, w, options);
        int d = x.Length, steps = options.Steps;
        var meanGrad = new double[d];
        int forwards = 0, backwards = 0;
        for (int start = 0; start < steps; start += options.BatchSize)
        {
            int n = Math.Min(options.BatchSize, steps - start);
            var batch = new float[n * d];
            for (int b = 0; b < n; b++)
            {
                float alpha = (float)((start + b + 0.5) / steps);
                var dst = batch.AsSpan(b * d, d);
                for (int i = 0; i < d; i++) dst[i] = baseline[i] + (alpha * (x[i] - baseline[i]));
            }
            var g = GradientPass.Run(model, batch, n, h, w, target, inputGrad: true, layer: null).InputGrad!;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < d; i++) meanGrad[i] += g[(b * d) + i];
            forwards += n;
            backwards += n;
        }
        int pixels = h * w;
        var map = new float[pixels];
        double total = 0;
        for (int i = 0; i < pixels; i++)
        {
            double s = 0;
            for (int c = 0; c < 3; c++)
            {
                int j = (c * pixels) + i;
                s += (x[j] - baseline[j]) * meanGrad[j] / steps;
            }
            map[i] = (float)s;
            total += s;
        }
        var ends = new float[2 * d];
        x.CopyTo(ends, 0);
        baseline.CopyTo(ends, d);
        var scores = GradientPass.Scores(model, ends, 2, h, w, target);
        return new AttributionMap(Name, map, h, w, scores[0])
        {
            BaselineScore = scores[1],
            CompletenessError = total - (scores[0] - scores[1]),
            Forwards = forwards + 2,
            Backwards = backwards,
        };
    }
}
