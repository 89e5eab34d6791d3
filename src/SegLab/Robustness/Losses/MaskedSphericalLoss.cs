// Masked spherical loss, L = -1[argmax u = y] * u_y / ||u||_2 (SEA v1, code afe839e single_logits_loss with
// normalized=True, masked=True, "mask-norm-corrlog-avg"; used by Halmosi et al. as APGD-MSL; PAPERS.md A.2).
//   d(u_y/||u||)/du_j = delta_jy/||u|| - u_y u_j / ||u||^3.
namespace SegLab.Robustness.Losses;

/// <summary>Masked spherical loss on raw logits (Mask-Sph).</summary>
public sealed class MaskedSphericalLoss : PixelLoss
{
    /// <inheritdoc/>
    public override string Name => "msl";

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        if (!v.Correct)
        {
            du.Clear();
            return 0f;
        }
        float n = Norm(v.U), uy = v.U[v.Y];
        if (!du.IsEmpty)
        {
            float a = uy / (n * n * n);
            for (int j = 0; j < du.Length; j++) du[j] = a * v.U[j];
            du[v.Y] -= 1f / n;
        }
        return -uy / n;
    }
}
