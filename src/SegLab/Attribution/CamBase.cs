// The CAM template (pytorch-grad-cam's base_cam.py shape): capture a layer's activations A [K, h, w] and the
// target score's gradient G with respect to them in one forward and one backward pass; a method says only how
// channel weights come from A and G (or, overriding CamImage, how the whole map does); the map ReLU(sum_k w_k A_k)
// is upsampled bilinearly (align_corners false) to the image's size. Maps are not min-max normalised here: the
// context-share metric (ContextShares) normalises, and raw values keep maps comparable across images.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Base of the class activation map methods.</summary>
public abstract class CamBase : IAttribution
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <summary>Channel weights w_k from one image's activations and gradients, each [K, hw].</summary>
    /// <param name="a">Activations.</param>
    /// <param name="g">d score / d activations.</param>
    /// <param name="k">Channels.</param>
    /// <param name="hw">Pixels of the layer.</param>
    protected abstract double[] ChannelWeights(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int k, int hw);

    /// <summary>The map at layer resolution before ReLU: by default sum_k w_k A_k.</summary>
    /// <param name="a">Activations [K, hw].</param>
    /// <param name="g">Gradients [K, hw].</param>
    /// <param name="k">Channels.</param>
    /// <param name="hw">Pixels of the layer.</param>
    protected virtual float[] CamImage(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int k, int hw) => Weighted(a, ChannelWeights(a, g, k, hw), k, hw);

    /// <summary>sum_k w_k A_k.</summary>
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

    /// <inheritdoc/>
    public virtual AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        options ??= AttributionOptions.Default;
        options.Validate();
        string layer = CamLayers.Resolve(model, options.Layer);
        var (x, h, w) = GradientPass.Image(image);
        var pass = GradientPass.Run(model, x, 1, h, w, target, inputGrad: false, layer: layer);
        var shape = pass.ActivationShape!;
        int k = shape[1], hw = shape[2] * shape[3];
        var cam = CamImage(pass.Activation!, pass.ActivationGrad!, k, hw);
        var map = Upsample(cam, shape[2], shape[3], h, w);
        return new AttributionMap(Name, map, h, w, pass.Scores[0]) { Layer = layer, Forwards = 1, Backwards = 1 };
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
