// What every class activation map method shares: a layer named by its module path (CamLayers), the map at that
// layer's resolution as a weighted sum of its channels, ReLU, and bilinear upsampling (align_corners false) to the
// image's size. How the weights come about is each method's own: from gradients (GradCamBase: Grad-CAM, Grad-CAM++,
// Layer-CAM), from masked forward passes (Score-CAM). Maps are not min-max normalised here: the context-share metric
// (ContextShares) normalises, and raw values keep maps comparable across images.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Base of the class activation map methods: a map from one layer's channels.</summary>
public abstract class CamBase : IAttribution
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null);

    /// <summary>The checks of <see cref="GradientPass.Begin"/>, and the layer: the one named in the options or the model's default.</summary>
    private protected static (AttributionOptions Options, string Layer, float[] Pixels, int Height, int Width) Begin(
        SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options)
    {
        var (o, x, h, w) = GradientPass.Begin(model, image, target, options);
        return (o, CamLayers.Resolve(model, o.Layer), x, h, w);
    }

    /// <summary>sum_k w_k A_k over the channels of one image's activations [K, hw].</summary>
    /// <param name="a">Activations.</param>
    /// <param name="weights">One weight per channel.</param>
    /// <param name="k">Channels.</param>
    /// <param name="hw">Pixels of the layer.</param>
    protected static float[] Weighted(ReadOnlySpan<float> a, ReadOnlySpan<double> weights, int k, int hw)
    {
        var cam = new double[hw];
        for (int c = 0; c < k; c++)
        {
            double wc = weights[c];
            if (wc == 0) continue;
            var plane = a.Slice(c * hw, hw);
            for (int i = 0; i < hw; i++) cam[i] += wc * plane[i];
        }
        return [.. cam.Select(v => (float)v)];
    }

    /// <summary>ReLU, then bilinear resize (align_corners false) of an [h, w] map to [outH, outW].</summary>
    internal static float[] Upsample(float[] cam, int h, int w, int outH, int outW)
    {
        for (int i = 0; i < cam.Length; i++) cam[i] = Math.Max(0f, cam[i]);
        if (h == outH && w == outW) return cam;
        using var _ = GradMode.NoGrad();
        return Ops.Interpolate(Tensor.FromArray(cam, 1, 1, h, w), outH, outW, InterpolationMode.Bilinear).ToArray();
    }
}
