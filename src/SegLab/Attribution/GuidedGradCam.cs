// Guided Grad-CAM (Selvaraju et al., ICCV 2017, arXiv 1610.02391, section 3.1): the Grad-CAM map, upsampled to the
// image, times the guided-backpropagation map, pixel by pixel. One forward pass serves both: the ordinary backward to
// the layer (Grad-CAM's weights), then, over the retained graph, the guided backward to the input. The product of the
// channel mean of the guided gradient with the CAM equals the channel mean of the paper's per-channel product.
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Guided Grad-CAM: Grad-CAM times guided backpropagation.</summary>
public sealed class GuidedGradCam : CamBase
{
    /// <inheritdoc/>
    public override string Name => "guided-gradcam";

    /// <inheritdoc/>
    public override AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null)
    {
        var (_, layer, x, h, w) = Begin(model, image, target, options);
        var pass = GradientPass.Run(model, x, 1, h, w, target, inputGrad: true, layer: layer, rule: InputGradientRule.Guided);
        var shape = pass.ActivationShape!;
        int k = shape[1], hw = shape[2] * shape[3], pixels = h * w;
        var act = pass.Activation!;
        var cam = Upsample(Weighted(act, GradCam.ChannelWeights(pass.ActivationGrad!, k, hw), k, hw), shape[2], shape[3], h, w);
        var g = pass.InputGrad!;
        var map = new float[pixels];
        for (int i = 0; i < pixels; i++) map[i] = cam[i] * (g[i] + g[pixels + i] + g[(2 * pixels) + i]) / 3f;
        return new AttributionMap(Name, map, h, w, pass.Scores[0]) { Layer = layer, Forwards = 1, Backwards = 2 };
    }
}
