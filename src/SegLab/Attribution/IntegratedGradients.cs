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
        var (o, x, h, w) = GradientPass.Begin(model, image, target, options);
        var baseline = IgBaselines.Create(o.Baseline, x, h, w, o);
        int d = x.Length, steps = o.Steps;
        var meanGrad = new double[d];
        GradientPass.InputGradients(model, steps, o.BatchSize, h, w, target, InputGradientRule.Gradient,
            (k, dst) =>
            {
                float alpha = (float)((k + 0.5) / steps);
                for (int i = 0; i < d; i++) dst[i] = baseline[i] + (alpha * (x[i] - baseline[i]));
            },
            (_, _, g) =>
            {
                for (int i = 0; i < d; i++) meanGrad[i] += g[i];
            });
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
            Forwards = steps + 2,
            Backwards = steps,
        };
    }
}
