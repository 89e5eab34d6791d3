// Grad-CAM++ (Chattopadhyay et al., WACV 2018, arXiv 1710.11063) in the closed form of the paper for an exponential
// of the score, as pytorch-grad-cam computes it: alpha = G^2 / (2 G^2 + sum_ij(A) G^3) where G != 0 (else 0), and
// w_k = sum_ij alpha * ReLU(G).
namespace SegLab.Attribution;

/// <summary>Grad-CAM++: channel weights from positive gradients, weighted per pixel.</summary>
public sealed class GradCamPlusPlus : GradCamBase
{
    /// <inheritdoc/>
    public override string Name => "gradcam++";

    /// <inheritdoc/>
    protected override float[] CamImage(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int k, int hw) => Weighted(a, ChannelWeights(a, g, k, hw), k, hw);

    // w_k = sum_ij alpha_ij ReLU(G_ij), alpha = G^2 / (2 G^2 + sum_ij(A) G^3).
    private static double[] ChannelWeights(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int k, int hw)
    {
        const double eps = 1e-7;
        var weights = new double[k];
        for (int c = 0; c < k; c++)
        {
            var gc = g.Slice(c * hw, hw);
            double sumA = 0;
            foreach (float v in a.Slice(c * hw, hw)) sumA += v;
            double s = 0;
            foreach (float gv in gc)
            {
                if (gv == 0) continue;
                double g2 = (double)gv * gv, g3 = g2 * gv;
                double alpha = g2 / ((2 * g2) + (sumA * g3) + eps);
                s += alpha * Math.Max(0, gv);
            }
            weights[c] = s;
        }
        return weights;
    }
}
