// The 8-bit OpenCV chain of ImageNet-C's water spatter, re-implemented from OpenCV's documented definitions: Canny
// (3x3 Sobel, L1 magnitude, non-maximum suppression, hysteresis), the Euclidean distance to the nearest edge (exact,
// where OpenCV's DIST_L2 mask 5 is a close approximation), truncation at 20, 3x3 box blurs, histogram equalisation and
// the emboss kernel [[-2,-1,0],[-1,1,1],[0,1,2]] with saturation to 0..255.
namespace SegLab.Imaging.Corruptions;

internal static class SpatterOps
{
    /// <summary>The water layer l8 * dist / max (before the severity's intensity), l8 = uint8(liquid * 255).</summary>
    public static float[] WaterLayer(ReadOnlySpan<float> liquid, int h, int w)
    {
        int n = h * w;
        var l8 = new byte[n];
        for (int i = 0; i < n; i++) l8[i] = (byte)Math.Clamp((int)(liquid[i] * 255f), 0, 255);
        var edges = Canny(l8, h, w, 50, 150);
        var dist = DistanceToZero(edges, h, w);
        for (int i = 0; i < n; i++) dist[i] = Math.Min(dist[i], 20f);
        Filters.Box3(dist, h, w);
        var d8 = new byte[n];
        for (int i = 0; i < n; i++) d8[i] = (byte)Math.Clamp((int)dist[i], 0, 255);
        EqualizeHist(d8);
        float[] emboss = [-2, -1, 0, -1, 1, 1, 0, 1, 2];
        var f = new float[n];
        for (int i = 0; i < n; i++) f[i] = d8[i];
        var embossed = Filters.Correlate(f, h, w, emboss, 3);
        for (int i = 0; i < n; i++) embossed[i] = Math.Clamp(MathF.Round(embossed[i], MidpointRounding.ToEven), 0, 255);
        Filters.Box3(embossed, h, w);
        var m = new float[n];
        float max = 0;
        for (int i = 0; i < n; i++)
        {
            m[i] = l8[i] * MathF.Round(embossed[i], MidpointRounding.ToEven);
            max = Math.Max(max, m[i]);
        }
        if (max > 0)
            for (int i = 0; i < n; i++) m[i] /= max;
        return m;
    }

    /// <summary>255 everywhere except 0 on Canny edges (the reference's 255 - Canny(...)).</summary>
    internal static byte[] Canny(byte[] img, int h, int w, double low, double high)
    {
        int n = h * w;
        var dx = new int[n];
        var dy = new int[n];
        var mag = new int[n];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                // 3x3 Sobel with replicated borders.
                int P(int yy, int xx) => img[Math.Clamp(yy, 0, h - 1) * w + Math.Clamp(xx, 0, w - 1)];
                int gx = P(y - 1, x + 1) + 2 * P(y, x + 1) + P(y + 1, x + 1) - P(y - 1, x - 1) - 2 * P(y, x - 1) - P(y + 1, x - 1);
                int gy = P(y + 1, x - 1) + 2 * P(y + 1, x) + P(y + 1, x + 1) - P(y - 1, x - 1) - 2 * P(y - 1, x) - P(y - 1, x + 1);
                int i = y * w + x;
                dx[i] = gx;
                dy[i] = gy;
                mag[i] = Math.Abs(gx) + Math.Abs(gy);
            }
        int M(int yy, int xx) => (uint)yy < (uint)h && (uint)xx < (uint)w ? mag[yy * w + xx] : 0;
        // 0 = not an edge, 1 = weak candidate, 2 = strong edge.
        var state = new byte[n];
        var stack = new Stack<int>();
        const double tan22 = 0.41421356237, tan67 = 2.41421356237;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x, m = mag[i];
                if (m <= low) continue;
                double ax = Math.Abs(dx[i]), ay = Math.Abs(dy[i]);
                bool isMax;
                if (ay < ax * tan22) isMax = m > M(y, x - 1) && m >= M(y, x + 1);
                else if (ay > ax * tan67) isMax = m > M(y - 1, x) && m >= M(y + 1, x);
                else
                {
                    int s = (dx[i] ^ dy[i]) < 0 ? -1 : 1;
                    isMax = m > M(y - 1, x - s) && m > M(y + 1, x + s);
                }
                if (!isMax) continue;
                if (m > high) { state[i] = 2; stack.Push(i); }
                else state[i] = 1;
            }
        while (stack.Count > 0)
        {
            int i = stack.Pop(), y = i / w, x = i % w;
            for (int yy = y - 1; yy <= y + 1; yy++)
                for (int xx = x - 1; xx <= x + 1; xx++)
                {
                    if ((uint)yy >= (uint)h || (uint)xx >= (uint)w) continue;
                    int j = yy * w + xx;
                    if (state[j] == 1) { state[j] = 2; stack.Push(j); }
                }
        }
        var result = new byte[n];
        for (int i = 0; i < n; i++) result[i] = state[i] == 2 ? (byte)0 : (byte)255;
        return result;
    }

    /// <summary>Exact Euclidean distance of each pixel to the nearest zero pixel (Felzenszwalb-Huttenlocher, two passes);
    /// with no zero pixel every distance is large.</summary>
    internal static float[] DistanceToZero(byte[] img, int h, int w)
    {
        const double inf = 1e20;
        int n = h * w;
        var g = new double[n];
        for (int i = 0; i < n; i++) g[i] = img[i] == 0 ? 0 : inf;
        var line = new double[Math.Max(h, w)];
        var outLine = new double[Math.Max(h, w)];
        for (int x = 0; x < w; x++)
        {
            for (int y = 0; y < h; y++) line[y] = g[y * w + x];
            Squared1D(line, h, outLine);
            for (int y = 0; y < h; y++) g[y * w + x] = outLine[y];
        }
        var result = new float[n];
        for (int y = 0; y < h; y++)
        {
            Array.Copy(g, y * w, line, 0, w);
            Squared1D(line, w, outLine);
            for (int x = 0; x < w; x++) result[y * w + x] = (float)Math.Sqrt(Math.Min(outLine[x], inf));
        }
        return result;
    }

    // The lower envelope of parabolas (Felzenszwalb & Huttenlocher 2012): d[q] = min_p (q - p)^2 + f[p].
    private static void Squared1D(double[] f, int n, double[] d)
    {
        var v = new int[n];
        var z = new double[n + 1];
        int k = 0;
        v[0] = 0;
        z[0] = double.NegativeInfinity;
        z[1] = double.PositiveInfinity;
        for (int q = 1; q < n; q++)
        {
            double s = ((f[q] + (double)q * q) - (f[v[k]] + (double)v[k] * v[k])) / (2.0 * q - 2.0 * v[k]);
            while (s <= z[k])
            {
                k--;
                s = ((f[q] + (double)q * q) - (f[v[k]] + (double)v[k] * v[k])) / (2.0 * q - 2.0 * v[k]);
            }
            k++;
            v[k] = q;
            z[k] = s;
            z[k + 1] = double.PositiveInfinity;
        }
        k = 0;
        for (int q = 0; q < n; q++)
        {
            while (z[k + 1] < q) k++;
            d[q] = (double)(q - v[k]) * (q - v[k]) + f[v[k]];
        }
    }

    /// <summary>OpenCV equalizeHist: lut[i] = round(cdf_after_first(i) * 255 / (total - count of the first used level)).</summary>
    internal static void EqualizeHist(byte[] img)
    {
        var hist = new int[256];
        foreach (byte b in img) hist[b]++;
        int first = 0;
        while (first < 255 && hist[first] == 0) first++;
        var lut = new byte[256];
        if (hist[first] == img.Length)
        {
            for (int i = 0; i < 256; i++) lut[i] = (byte)first;
        }
        else
        {
            double scale = 255.0 / (img.Length - hist[first]);
            int sum = 0;
            for (int i = first + 1; i < 256; i++)
            {
                sum += hist[i];
                lut[i] = (byte)Math.Clamp((int)Math.Round(sum * scale, MidpointRounding.ToEven), 0, 255);
            }
        }
        for (int i = 0; i < img.Length; i++) img[i] = lut[img[i]];
    }
}
