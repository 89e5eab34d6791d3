// CosPGD's loss (Agnihotri, Jung, Keuper; ICML'24; PAPERS.md A.2): L = cos(psi(u), e_y) * CE with the weight
// detached. psi = softmax as in the official CosPGD code (default), or sigmoid as in SEA's re-implementation:
// the weight is psi(u)_y / ||psi(u)||_2.
namespace SegLab.Robustness.Losses;

/// <summary>CosPGD's cosine-weighted cross-entropy.</summary>
public sealed class CosPgdLoss : PixelLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="sigmoid">Use sigmoid (SEA's re-implementation) instead of softmax (official CosPGD).</param>
    public CosPgdLoss(bool sigmoid = false) => Sigmoid = sigmoid;

    /// <summary>Whether psi is the sigmoid.</summary>
    public bool Sigmoid { get; }

    /// <inheritdoc/>
    public override string Name => Sigmoid ? "cospgd-sigmoid" : "cospgd";

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        float w;
        if (Sigmoid)
        {
            float s2 = 0, sy = 0;
            for (int j = 0; j < v.U.Length; j++)
            {
                float s = 1f / (1f + MathF.Exp(-v.U[j]));
                s2 += s * s;
                if (j == v.Y) sy = s;
            }
            w = sy / MathF.Max(MathF.Sqrt(s2), 1e-12f);
        }
        else
        {
            w = v.P[v.Y] / Norm(v.P);
        }
        CrossEntropyGradient(v, w, du);
        return w * -v.LogPy;
    }
}
