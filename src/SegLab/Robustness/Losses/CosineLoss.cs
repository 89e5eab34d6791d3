// 1 - cos(u, e_y) on raw logits along the class axis: the loss of Halmosi et al.'s PAdam-Cos
// (arXiv 2407.09150, code rse/__init__.py; PAPERS.md A.2).  dL/du_j = u_y u_j / ||u||^3 - delta_jy / ||u||.
namespace SegLab.Robustness.Losses;

/// <summary>One minus the cosine between the raw logits and the one-hot label.</summary>
public sealed class CosineLoss : PixelLoss
{
    /// <inheritdoc/>
    public override string Name => "cos";

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        float n = Norm(v.U), uy = v.U[v.Y];
        if (!du.IsEmpty)
        {
            float a = uy / (n * n * n);
            for (int j = 0; j < du.Length; j++) du[j] = a * v.U[j];
            du[v.Y] -= 1f / n;
        }
        return 1f - uy / n;
    }
}
