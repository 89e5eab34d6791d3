// Layer-CAM (Jiang et al., IEEE TIP 2021): each activation weighted by its own positive gradient,
// map = sum_k ReLU(G_k) * A_k, so that shallow layers give fine maps.
namespace SegLab.Attribution;

/// <summary>Layer-CAM: per-pixel weights from positive gradients.</summary>
public sealed class LayerCam : GradCamBase
{
    /// <inheritdoc/>
    public override string Name => "layercam";

    /// <inheritdoc/>
    protected override float[] CamImage(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int k, int hw)
    {
        var cam = new double[hw];
        for (int c = 0; c < k; c++)
        {
            var ac = a.Slice(c * hw, hw);
            var gc = g.Slice(c * hw, hw);
            for (int i = 0; i < hw; i++) cam[i] += Math.Max(0f, gc[i]) * ac[i];
        }
        return [.. cam.Select(v => (float)v)];
    }
}
