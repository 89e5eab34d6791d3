// The gradient CAM template (pytorch-grad-cam's base_cam.py shape): capture a layer's activations A [K, h, w] and the
// target score's gradient G with respect to them in one forward and one backward pass; a method says only how the
// layer-resolution map comes from A and G (Grad-CAM and Grad-CAM++ through channel weights, Layer-CAM per pixel);
// CamBase does the ReLU and the upsampling.
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Base of the CAM methods built from a layer's activations and gradients.</summary>
public abstract class GradCamBase : CamBase
{
    /// <summary>The map at layer resolution before ReLU, from one image's activations and gradients.</summary>
    /// <param name="a">Activations [K, hw].</param>
    /// <param name="g">d score / d activations [K, hw].</param>
    /// <param name="k">Channels.</param>
    /// <param name="hw">Pixels of the layer.</param>
    protected abstract float[] CamImage(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int k, int hw);

    /// <inheritdoc/>
    public override AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null)
    {
        var (_, layer, x, h, w) = Begin(model, image, target, options);
        var pass = GradientPass.Run(model, x, 1, h, w, target, inputGrad: false, layer: layer);
        var shape = pass.ActivationShape!;
        var cam = CamImage(pass.Activation!, pass.ActivationGrad!, shape[1], shape[2] * shape[3]);
        var map = Upsample(cam, shape[2], shape[3], h, w);
        return new AttributionMap(Name, map, h, w, pass.Scores[0]) { Layer = layer, Forwards = 1, Backwards = 1 };
    }
}
