// Small image filters the corruptions share, each named after the library function whose definition it follows:
// scipy.ndimage's Gaussian (radius int(truncate*sigma+0.5)) with its border modes, OpenCV's filter2D / blur
// (correlation, BORDER_REFLECT_101), and bilinear sampling. Planes are row-major height x width float arrays.
using System.Numerics.Tensors;

namespace SegLab.Imaging.Corruptions;

/// <summary>How a filter reads outside the plane.</summary>
internal enum Border
{
    /// <summary>scipy 'nearest': the edge value repeats (aaaa|abcd|dddd).</summary>
    Nearest,

    /// <summary>scipy 'reflect': half-sample symmetric (dcba|abcd|dcba), periodic beyond.</summary>
    Reflect,

    /// <summary>OpenCV BORDER_REFLECT_101 (dcb|abcd|cba), periodic beyond.</summary>
    Reflect101,
}

internal static class Filters
{
    /// <summary>The index that a border mode reads for position i of a line of n values.</summary>
    public static int Index(int i, int n, Border border)
    {
        if ((uint)i < (uint)n) return i;
        switch (border)
        {
            case Border.Nearest:
                return i < 0 ? 0 : n - 1;
            case Border.Reflect:
            {
                int period = 2 * n;
                int k = ((i % period) + period) % period;
                return k < n ? k : period - 1 - k;
            }
            default:
            {
                if (n == 1) return 0;
                int period = 2 * n - 2;
                int k = ((i % period) + period) % period;
                return k < n ? k : period - k;
            }
        }
    }

    /// <summary>scipy.ndimage's normalised Gaussian kernel, radius int(truncate*sigma + 0.5).</summary>
    public static float[] GaussianKernel(double sigma, double truncate = 4.0)
    {
        int radius = (int)(truncate * sigma + 0.5);
        var k = new float[2 * radius + 1];
        double sum = 0;
        var w = new double[k.Length];
        for (int i = -radius; i <= radius; i++) sum += w[i + radius] = Math.Exp(-0.5 * i * i / (sigma * sigma));
        for (int i = 0; i < k.Length; i++) k[i] = (float)(w[i] / sum);
        return k;
    }

    /// <summary>Gaussian blur of one plane in place (skimage.filters.gaussian / scipy gaussian_filter).</summary>
    public static void Gaussian(Span<float> plane, int height, int width, double sigma, Border border, double truncate = 4.0)
    {
        if (sigma <= 0) return;
        var k = GaussianKernel(sigma, truncate);
        Separable(plane, height, width, k, k, border);
    }

    /// <summary>Gaussian blur of each of the three planes of a CHW image in place.</summary>
    public static void GaussianRgb(float[] image, int height, int width, double sigma, Border border = Border.Nearest)
    {
        int plane = height * width;
        for (int c = 0; c < 3; c++) Gaussian(image.AsSpan(c * plane, plane), height, width, sigma, border);
    }

    /// <summary>Correlation with a row kernel along x, then a column kernel along y (both odd, centred), in place.
    /// Both passes are sums of whole shifted rows times one tap (long vector runs, rows read in order).</summary>
    public static void Separable(Span<float> plane, int height, int width, ReadOnlySpan<float> kx, ReadOnlySpan<float> ky, Border border)
    {
        int rx = kx.Length / 2, ry = ky.Length / 2;
        var line = new float[width + 2 * rx];
        var acc = new float[width];
        for (int y = 0; y < height; y++)
        {
            var row = plane.Slice(y * width, width);
            for (int i = 0; i < line.Length; i++) line[i] = row[Index(i - rx, width, border)];
            Array.Clear(acc);
            for (int j = 0; j < kx.Length; j++)
                if (kx[j] != 0) TensorPrimitives.MultiplyAdd(line.AsSpan(j, width), kx[j], acc, acc);
            acc.CopyTo(row);
        }
        var source = plane.ToArray();
        for (int y = 0; y < height; y++)
        {
            var row = plane.Slice(y * width, width);
            row.Clear();
            for (int j = 0; j < ky.Length; j++)
                if (ky[j] != 0) TensorPrimitives.MultiplyAdd(source.AsSpan(Index(y + j - ry, height, border) * width, width), ky[j], row, row);
        }
    }

    /// <summary>OpenCV filter2D: correlation with a square odd kernel (row-major, size x size), BORDER_REFLECT_101.</summary>
    public static float[] Correlate(ReadOnlySpan<float> plane, int height, int width, ReadOnlySpan<float> kernel, int size)
    {
        int r = size / 2, pw = width + 2 * r;
        var padded = new float[(height + 2 * r) * pw];
        for (int y = 0; y < height + 2 * r; y++)
        {
            int sy = Index(y - r, height, Border.Reflect101);
            for (int x = 0; x < pw; x++) padded[y * pw + x] = plane[sy * width + Index(x - r, width, Border.Reflect101)];
        }
        // One multiply-add of a whole shifted row per non-zero tap: long vector runs instead of a short dot per pixel.
        var output = new float[height * width];
        for (int y = 0; y < height; y++)
        {
            var row = output.AsSpan(y * width, width);
            for (int ky = 0; ky < size; ky++)
                for (int kx = 0; kx < size; kx++)
                {
                    float k = kernel[ky * size + kx];
                    if (k != 0) TensorPrimitives.MultiplyAdd(padded.AsSpan((y + ky) * pw + kx, width), k, row, row);
                }
        }
        return output;
    }

    /// <summary>OpenCV blur with a 3x3 box (BORDER_REFLECT_101), in place.</summary>
    public static void Box3(Span<float> plane, int height, int width)
    {
        float[] k = [1f / 3, 1f / 3, 1f / 3];
        Separable(plane, height, width, k, k, Border.Reflect101);
    }

    /// <summary>Bilinear sample of a plane at (y, x); outside positions read through the border mode.</summary>
    public static float Bilinear(ReadOnlySpan<float> plane, int height, int width, double y, double x, Border border)
    {
        int y0 = (int)Math.Floor(y), x0 = (int)Math.Floor(x);
        double fy = y - y0, fx = x - x0;
        int ya = Index(y0, height, border), yb = Index(y0 + 1, height, border);
        int xa = Index(x0, width, border), xb = Index(x0 + 1, width, border);
        double top = plane[ya * width + xa] * (1 - fx) + plane[ya * width + xb] * fx;
        double bottom = plane[yb * width + xa] * (1 - fx) + plane[yb * width + xb] * fx;
        return (float)(top * (1 - fy) + bottom * fy);
    }

    /// <summary>PIL's BOX resampling along one axis: output i averages the inputs whose centres lie in its footprint.</summary>
    /// <returns>For each output position, the first input index and the normalised weights.</returns>
    public static (int Start, float[] Weights)[] BoxWeights(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double support = 0.5 * Math.Max(scale, 1.0);
        double ss = 1.0 / Math.Max(scale, 1.0);
        var result = new (int, float[])[outSize];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int lo = Math.Max((int)(center - support + 0.5), 0);
            int hi = Math.Min((int)(center + support + 0.5), inSize);
            var w = new double[Math.Max(hi - lo, 0)];
            double sum = 0;
            for (int j = 0; j < w.Length; j++)
            {
                double t = (lo + j - center + 0.5) * ss;
                w[j] = t > -0.5 && t <= 0.5 ? 1.0 : 0.0; // PIL's box_filter
                sum += w[j];
            }
            result[i] = (lo, w.Select(v => (float)(sum > 0 ? v / sum : 0)).ToArray());
        }
        return result;
    }

    /// <summary>PIL's BOX resize of one plane (horizontal pass first, as PIL does).</summary>
    public static float[] ResizeBox(ReadOnlySpan<float> plane, int height, int width, int newHeight, int newWidth)
    {
        var wx = BoxWeights(width, newWidth);
        var wy = BoxWeights(height, newHeight);
        var tmp = new float[height * newWidth];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < newWidth; x++)
            {
                var (start, w) = wx[x];
                tmp[y * newWidth + x] = TensorPrimitives.Dot(plane.Slice(y * width + start, w.Length), w);
            }
        var output = new float[newHeight * newWidth];
        for (int y = 0; y < newHeight; y++)
        {
            var (start, w) = wy[y];
            for (int j = 0; j < w.Length; j++)
                TensorPrimitives.MultiplyAdd(tmp.AsSpan((start + j) * newWidth, newWidth), w[j], output.AsSpan(y * newWidth, newWidth), output.AsSpan(y * newWidth, newWidth));
        }
        return output;
    }
}
