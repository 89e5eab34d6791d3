// Jensen-Shannon divergence between softmax(u) and the one-hot label (SEA, arXiv 2306.12941, App. 0.A;
// PAPERS.md A.2). With q = p_y the sum over classes collapses to
//   L = log 2 - (1+q)/2 log(1+q) + q/2 log q,   dL/dq = 1/2 log(q / (1+q)),   dq/du_j = q (delta_jy - p_j).
// Bounded, and its gradient vanishes as q -> 0, so no mask is needed.
namespace SegLab.Robustness.Losses;

/// <summary>Jensen-Shannon divergence D_JS(softmax(u) || e_y).</summary>
public sealed class JensenShannonLoss : PixelLoss
{
    /// <inheritdoc/>
    public override string Name => "js";

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        float q = v.P[v.Y];
        float log1pq = MathF.Log(1f + q);
        // q log q from log p_y (stable for tiny q; 0 log 0 = 0).
        float loss = MathF.Log(2f) - 0.5f * (1f + q) * log1pq + 0.5f * q * v.LogPy;
        if (!du.IsEmpty)
        {
            float dq = 0.5f * (v.LogPy - log1pq); // 1/2 log(q / (1+q))
            float k = dq * q;
            for (int j = 0; j < du.Length; j++) du[j] = -k * v.P[j];
            du[v.Y] += k;
        }
        return loss;
    }
}
