// The threat model (PAPERS.md A.0): L-inf perturbations of RGB images in [0,1], ||delta||_inf <= eps and
// x + delta in [0,1], projected after every step with P(z) = clip(clip(z, x - eps, x + eps), 0, 1) in float32
// (the official code's order). Membership is checked exactly with the same float32 bounds.
using System.Globalization;
using System.Numerics.Tensors;

namespace SegLab.Robustness;

/// <summary>Projection onto, and exact membership of, the L-inf ball intersected with [0,1].</summary>
public static class LinfBall
{
    /// <summary>z &lt;- clip(clip(z, x0 - eps, x0 + eps), 0, 1), element-wise in float32.</summary>
    /// <param name="z">Candidate, projected in place.</param>
    /// <param name="x0">Clean images (same length).</param>
    /// <param name="eps">Radius.</param>
    public static void Project(Span<float> z, ReadOnlySpan<float> x0, float eps)
    {
        if (z.Length != x0.Length) throw new ArgumentException($"projection: {z.Length} values against {x0.Length} clean values.");
        const int chunk = 4096;
        Span<float> bound = stackalloc float[Math.Min(chunk, Math.Max(1, z.Length))];
        for (int i = 0; i < z.Length; i += chunk)
        {
            int n = Math.Min(chunk, z.Length - i);
            var zs = z.Slice(i, n);
            var xs = x0.Slice(i, n);
            var b = bound[..n];
            TensorPrimitives.Subtract(xs, eps, b);
            TensorPrimitives.Max(zs, b, zs);
            TensorPrimitives.Add(xs, eps, b);
            TensorPrimitives.Min(zs, b, zs);
            TensorPrimitives.Max(zs, 0f, zs);
            TensorPrimitives.Min(zs, 1f, zs);
        }
    }

    /// <summary>Elements of <paramref name="z"/> outside [x0 - eps, x0 + eps] or [0, 1], or not finite (0 = inside).</summary>
    /// <param name="z">Adversarial images.</param>
    /// <param name="x0">Clean images.</param>
    /// <param name="eps">Radius.</param>
    public static long Violations(ReadOnlySpan<float> z, ReadOnlySpan<float> x0, float eps)
    {
        if (z.Length != x0.Length) throw new ArgumentException($"ball check: {z.Length} values against {x0.Length} clean values.");
        long bad = 0;
        for (int i = 0; i < z.Length; i++)
        {
            float v = z[i];
            if (!(v >= x0[i] - eps && v <= x0[i] + eps && v >= 0f && v <= 1f)) bad++;
        }
        return bad;
    }

    /// <summary>max |z - x0| (float64), the perturbation's L-inf norm.</summary>
    /// <param name="z">Adversarial images.</param>
    /// <param name="x0">Clean images.</param>
    public static double Norm(ReadOnlySpan<float> z, ReadOnlySpan<float> x0)
    {
        double m = 0;
        for (int i = 0; i < z.Length; i++) m = Math.Max(m, Math.Abs((double)z[i] - x0[i]));
        return m;
    }

    /// <summary>Uniform random start: x0 + U(-eps, eps), clipped to [0, 1].</summary>
    /// <param name="x0">Clean images.</param>
    /// <param name="eps">Radius.</param>
    /// <param name="rng">Generator.</param>
    public static float[] RandomStart(ReadOnlySpan<float> x0, float eps, SegLab.Engine.Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var z = new float[x0.Length];
        for (int i = 0; i < z.Length; i++) z[i] = x0[i] + (float)((2 * rng.NextDouble() - 1) * eps);
        Project(z, x0, eps);
        return z;
    }

    /// <summary>z &lt;- z + step * sign(g) (sign(0) = 0, non-finite gradients give 0).</summary>
    /// <param name="z">Iterate, updated in place.</param>
    /// <param name="g">Gradient.</param>
    /// <param name="step">Step size.</param>
    public static void SignStep(Span<float> z, ReadOnlySpan<float> g, float step)
    {
        for (int i = 0; i < z.Length; i++)
        {
            float v = g[i];
            z[i] += v > 0 ? step : v < 0 ? -step : 0f;
        }
    }

    /// <summary>Parses a radius: "8/255", "0.03" or "2e-3".</summary>
    /// <param name="text">The text.</param>
    public static double ParseEps(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        int slash = t.IndexOf('/', StringComparison.Ordinal);
        double v;
        bool ok = slash < 0
            ? double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out v)
            : TryRatio(t[..slash], t[(slash + 1)..], out v);
        if (!ok || !double.IsFinite(v) || v < 0 || v > 1)
            throw new FormatException($"'{text}' is not a radius in [0, 1] (write 8/255, 0.03 or 2e-3).");
        return v;
    }

    /// <summary>Formats a radius as k/255 when it is one (to 1e-9), else as a number.</summary>
    /// <param name="eps">The radius.</param>
    public static string FormatEps(double eps)
    {
        double k = eps * 255;
        double r = Math.Round(k * 4) / 4;
        return Math.Abs(k - r) < 1e-6 ? $"{r.ToString("0.##", CultureInfo.InvariantCulture)}/255" : eps.ToString("G6", CultureInfo.InvariantCulture);
    }

    private static bool TryRatio(string a, string b, out double v)
    {
        v = 0;
        if (!double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out double x)
            || !double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out double y) || y == 0) return false;
        v = x / y;
        return true;
    }
}
