// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions",
// Theory of Computing 8, 2012): the squared distance from every pixel to the nearest background pixel, by the lower
// envelope of parabolas along columns, then along rows; O(h*w). Used by BANE (Contextrast, PAPERS.md E.3) to rank
// mispredicted pixels by their distance to the edge of the error region. Not differentiated.
namespace SegLab.Contextrast;

/// <summary>Exact Euclidean distance transforms of binary masks.</summary>
public static class DistanceTransform
{
    /// <summary>A squared distance larger than any in an image: pixels of a mask without background get it.</summary>
    public const double Infinite = 1e20;

    /// <summary>
    /// Squared Euclidean distance from each pixel to the nearest pixel where <paramref name="foreground"/> is false
    /// (0 on background; <see cref="Infinite"/> everywhere when there is no background), as scipy's distance_transform_edt squared.
    /// </summary>
    /// <param name="foreground">[h * w] mask, row-major.</param>
    /// <param name="h">Height.</param>
    /// <param name="w">Width.</param>
    public static double[] Squared(ReadOnlySpan<bool> foreground, int h, int w)
    {
        if (foreground.Length != h * w) throw new ArgumentException($"DistanceTransform: {foreground.Length} mask values for {h}x{w}.");
        var d = new double[h * w];
        for (int i = 0; i < d.Length; i++) d[i] = foreground[i] ? Infinite : 0;
        int n = Math.Max(h, w);
        var f = new double[n];
        var outLine = new double[n];
        var v = new int[n];
        var z = new double[n + 1];
        for (int x = 0; x < w; x++)
        {
            for (int y = 0; y < h; y++) f[y] = d[y * w + x];
            Line(f, h, outLine, v, z);
            for (int y = 0; y < h; y++) d[y * w + x] = outLine[y];
        }
        for (int y = 0; y < h; y++)
        {
            d.AsSpan(y * w, w).CopyTo(f);
            Line(f, w, outLine, v, z);
            outLine.AsSpan(0, w).CopyTo(d.AsSpan(y * w, w));
        }
        return d;
    }

    /// <summary>1-D transform: result[q] = min_p (q - p)^2 + f[p], over the lower envelope of parabolas rooted at finite f[p].</summary>
    private static void Line(double[] f, int n, double[] result, int[] v, double[] z)
    {
        int k = -1;
        for (int q = 0; q < n; q++)
        {
            if (f[q] >= Infinite) continue;
            double s = double.NegativeInfinity;
            while (k >= 0)
            {
                s = ((f[q] + (double)q * q) - (f[v[k]] + (double)v[k] * v[k])) / (2.0 * (q - v[k]));
                if (s > z[k]) break;
                k--;
            }
            k++;
            v[k] = q;
            z[k] = k == 0 ? double.NegativeInfinity : s;
            z[k + 1] = double.PositiveInfinity;
        }
        if (k < 0)
        {
            Array.Fill(result, Infinite, 0, n);
            return;
        }
        int j = 0;
        for (int q = 0; q < n; q++)
        {
            while (z[j + 1] < q) j++;
            double dq = q - v[j];
            result[q] = dq * dq + f[v[j]];
        }
    }
}
