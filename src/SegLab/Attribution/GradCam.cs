// Grad-CAM (Selvaraju et al., ICCV 2017, arXiv 1610.02391): channel weights are the spatial mean of the score's
// gradient with respect to the layer's activations.
namespace SegLab.Attribution;

/// <summary>Gradient-weighted class activation map.</summary>
public sealed class GradCam : GradCamBase
{
    /// <inheritdoc/>
    public override string Name => "gradcam";

    /// <inheritdoc/>
    protected override float[] CamImage(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int k, int hw) => Weighted(a, ChannelWeights(g, k, hw), k, hw);

    /// <summary>w_k = the spatial mean of G_k.</summary>
    /// <param name="g">d score / d activations [K, hw].</param>
    /// <param name="k">Channels.</param>
    /// <param name="hw">Pixels of the layer.</param>
    internal static double[] ChannelWeights(ReadOnlySpan<float> g, int k, int hw)
    {
        var weights = new double[k];
        for (int c = 0; c < k; c++)
        {
            double s = 0;
            foreach (float v in g.Slice(c * hw, hw)) s += v;
            weights[c] = s / hw;
        }
        return weights;
    }
}
