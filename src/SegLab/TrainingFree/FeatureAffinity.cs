// Attention source (b) of iSeg on a CNN (issue 20, PAPERS.md F): the self-attention S is the cosine affinity of a
// feature map's positions, S_ij = max(0, cos(f_i, f_j))^power (power 1 by default; a higher power sharpens it), and the
// initial class maps A0 are CAMs at the same positions. One GEMM on [N, K] x [K, N] makes S.
using SegLab.Engine;
using SegLab.Engine.Autograd;

namespace SegLab.TrainingFree;

/// <summary>Affinities and token maps from CNN feature maps.</summary>
public static class FeatureAffinity
{
    /// <summary>S [N, N] for features [K, h, w] (N = h w, row-major positions).</summary>
    /// <param name="features">[K, h, w] (or [1, K, h, w]).</param>
    /// <param name="power">Exponent applied to the clamped cosine (1: none).</param>
    public static Tensor Cosine(Tensor features, double power = 1)
    {
        if (!(power > 0) || double.IsInfinity(power)) throw new ArgumentException($"affinity: power must be positive, got {power}.");
        var s = Cosines(features, out int n);
        for (int i = 0; i < s.Length; i++)
        {
            double v = Math.Max(0, Math.Min(1, s[i]));
            s[i] = (float)(power == 1 ? v : Math.Pow(v, power));
        }
        return Tensor.FromArray(s, n, n);
    }

    /// <summary>
    /// Attention-like S [N, N]: each row a softmax over keys of cos(f_i, f_j) / temperature, as a transformer's
    /// attention probabilities are (rows are queries); a small temperature makes the rows peaked.
    /// </summary>
    public static Tensor CosineSoftmax(Tensor features, double temperature)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature)) throw new ArgumentException($"affinity: temperature must be positive, got {temperature}.");
        var s = Cosines(features, out int n);
        double inv = 1 / temperature;
        for (int r = 0; r < n; r++)
        {
            var row = s.AsSpan(r * n, n);
            float max = float.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            double sum = 0;
            for (int j = 0; j < n; j++) sum += row[j] = (float)Math.Exp((row[j] - max) * inv);
            float scale = (float)(1 / sum);
            for (int j = 0; j < n; j++) row[j] *= scale;
        }
        return Tensor.FromArray(s, n, n);
    }

    /// <summary>Class maps [C, h, w] (or [1, C, h, w]) as token maps [N, C].</summary>
    public static Tensor Tokens(Tensor maps)
    {
        var a = Planes(maps, out int c, out int n);
        var t = new float[n * c];
        for (int k = 0; k < c; k++)
            for (int i = 0; i < n; i++) t[i * c + k] = a[k * n + i];
        return Tensor.FromArray(t, n, c);
    }

    // cos(f_i, f_j) of every pair of positions, [N, N] row-major: each position's K-vector normalised, one GEMM
    private static float[] Cosines(Tensor features, out int n)
    {
        var f = Planes(features, out int k, out n);
        var norm = new double[n];
        for (int c = 0; c < k; c++)
            for (int i = 0; i < n; i++) norm[i] += (double)f[c * n + i] * f[c * n + i];
        for (int c = 0; c < k; c++)
            for (int i = 0; i < n; i++) f[c * n + i] = norm[i] > 0 ? (float)(f[c * n + i] / Math.Sqrt(norm[i])) : 0;
        using var noGrad = GradMode.NoGrad();
        var kn = Tensor.FromArray(f, k, n);
        return Ops.MatMul(Ops.Transpose(kn, 0, 1), kn).ToArray();
    }

    private static float[] Planes(Tensor x, out int channels, out int positions)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank == 4 && x.Size(0) == 1) x = Tensor.FromArray(x.ToArray(), x.Size(1), x.Size(2), x.Size(3));
        if (x.Rank != 3) throw new ArgumentException($"affinity: expected [C, h, w] or [1, C, h, w], got {Shapes.Format(x.Shape)}.");
        channels = x.Size(0);
        positions = x.Size(1) * x.Size(2);
        return x.DType == DType.Float32 ? x.ToArray() : Array.ConvertAll(x.ToArrayF64(), v => (float)v);
    }
}
