// Score-CAM (Wang et al., CVPR 2020 workshops, arXiv 1910.01279): no gradients. Each channel of the layer, upsampled
// to the image and min-max scaled to [0, 1], masks the image; the target scores of the masked images, softmaxed over
// channels, are the channel weights (pytorch-grad-cam's definition). The masked images run BatchSize at a time
// without recording a graph: K + 1 forward passes in all.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Score-weighted class activation map.</summary>
public sealed class ScoreCam : CamBase
{
    /// <inheritdoc/>
    public override string Name => "scorecam";

    /// <inheritdoc/>
    public override AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null)
    {
        var (o, layer, x, h, w) = Begin(model, image, target, options);
        var pass = GradientPass.Run(model, x, 1, h, w, target, inputGrad: false, layer: layer, backward: false);
        var shape = pass.ActivationShape!;
        int k = shape[1], lh = shape[2], lw = shape[3], hw = lh * lw, pixels = h * w, d = x.Length;
        var act = pass.Activation!;
        float[] up;
        using (GradMode.NoGrad())
            up = Ops.Interpolate(Tensor.FromArray((float[])act.Clone(), 1, k, lh, lw), h, w, InterpolationMode.Bilinear).ToArray();
        var scores = new double[k];
        for (int start = 0; start < k; start += o.BatchSize)
        {
            int n = Math.Min(o.BatchSize, k - start);
            var batch = new float[n * d];
            for (int b = 0; b < n; b++)
            {
                var m = up.AsSpan((start + b) * pixels, pixels);
                float lo = float.MaxValue, hi = float.MinValue;
                foreach (float v in m) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
                float scale = hi > lo ? 1f / (hi - lo) : 0f;
                for (int c = 0; c < 3; c++)
                    for (int i = 0; i < pixels; i++)
                        batch[(b * d) + (c * pixels) + i] = x[(c * pixels) + i] * (m[i] - lo) * scale;
            }
            GradientPass.Scores(model, batch, n, h, w, target).CopyTo(scores, start);
        }
        double max = scores.Max();
        var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
        double z = weights.Sum();
        for (int c = 0; c < k; c++) weights[c] /= z;
        var map = Upsample(Weighted(act, weights, k, hw), lh, lw, h, w);
        return new AttributionMap(Name, map, h, w, pass.Scores[0]) { Layer = layer, Forwards = k + 1 };
    }
}
