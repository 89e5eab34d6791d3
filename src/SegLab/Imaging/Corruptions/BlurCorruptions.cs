// ImageNet-C blur family (Hendrycks & Dietterich 2019): defocus (anti-aliased disk kernel), glass (blur, local pixel
// swaps, blur), zoom (mean of centre zooms) and Gaussian blur, with the published severity tables. Kernel sizes are in
// pixels as published (for 224x224 images); on larger images the same blur covers a smaller part of the scene.
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

internal static class BlurCorruptions
{
    private static readonly (int Radius, double AliasBlur)[] DefocusParams = [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)];
    private static readonly (double Sigma, int MaxDelta, int Iterations)[] GlassParams = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)];
    private static readonly double[] GaussianSigma = [1, 2, 3, 4, 6];

    // numpy.arange(start, stop, step) of each severity; the count follows numpy (ceil((stop - start) / step)).
    private static readonly (double Start, double Stop, double Step)[] ZoomRanges =
        [(1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.02), (1, 1.26, 0.02), (1, 1.31, 0.03)];

    /// <summary>Correlation of each channel with a disk of the given radius, anti-aliased by a small Gaussian.</summary>
    public static void DefocusBlur(int severity, CorruptionImage image, Rng rng)
    {
        var (radius, aliasBlur) = DefocusParams[severity - 1];
        var (kernel, size) = Trim(Disk(radius, aliasBlur));
        int plane = image.Plane;
        var output = new float[image.Data.Length];
        for (int c = 0; c < 3; c++)
            Filters.Correlate(image.Data.AsSpan(c * plane, plane), image.Height, image.Width, kernel, size).CopyTo(output, c * plane);
        image.Data = output;
    }

    /// <summary>The ImageNet-C disk: ones where x^2 + y^2 &lt;= r^2 on [-8, 8]^2 (or [-r, r]^2 for r &gt; 8), normalised, then
    /// OpenCV's GaussianBlur with a 3x3 (r &lt;= 8) or 5x5 kernel of the given sigma.</summary>
    internal static (float[] Kernel, int Size) Disk(int radius, double aliasBlur)
    {
        int half = radius <= 8 ? 8 : radius;
        int ksize = radius <= 8 ? 3 : 5;
        int size = 2 * half + 1;
        var disk = new float[size * size];
        int count = 0;
        for (int y = -half; y <= half; y++)
            for (int x = -half; x <= half; x++)
                if (x * x + y * y <= radius * radius) { disk[(y + half) * size + x + half] = 1; count++; }
        for (int i = 0; i < disk.Length; i++) disk[i] /= count;
        // OpenCV getGaussianKernel(ksize, sigma) for sigma > 0.
        var g = new float[ksize];
        double sum = 0;
        var w = new double[ksize];
        for (int i = 0; i < ksize; i++)
        {
            double d = i - (ksize - 1) / 2.0;
            sum += w[i] = Math.Exp(-d * d / (2 * aliasBlur * aliasBlur));
        }
        for (int i = 0; i < ksize; i++) g[i] = (float)(w[i] / sum);
        Filters.Separable(disk, size, size, g, g, Border.Reflect101);
        return (disk, size);
    }

    /// <summary>The kernel cropped to the smallest centred square holding its non-zero entries (exact: the border is zeros).</summary>
    private static (float[] Kernel, int Size) Trim((float[] Kernel, int Size) k)
    {
        int c = k.Size / 2, reach = 0;
        for (int y = 0; y < k.Size; y++)
            for (int x = 0; x < k.Size; x++)
                if (k.Kernel[y * k.Size + x] != 0) reach = Math.Max(reach, Math.Max(Math.Abs(y - c), Math.Abs(x - c)));
        int size = 2 * reach + 1;
        var cropped = new float[size * size];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) cropped[y * size + x] = k.Kernel[(y + c - reach) * k.Size + x + c - reach];
        return (cropped, size);
    }

    /// <summary>Gaussian blur, then 8-bit, then pixels swapped with random neighbours, then Gaussian blur again.</summary>
    public static void GlassBlur(int severity, CorruptionImage image, Rng rng)
    {
        var (sigma, delta, iterations) = GlassParams[severity - 1];
        int h = image.Height, w = image.Width, plane = image.Plane;
        var d = image.Data;
        Filters.GaussianRgb(d, h, w, sigma);
        // np.uint8(x * 255): truncation, as the reference does before the shuffles.
        for (int i = 0; i < d.Length; i++) d[i] = (float)Math.Floor(Math.Clamp(d[i], 0f, 1f) * 255f) / 255f;
        // The reference loops h from 224 - delta down to delta + 1 (its images are 224 pixels); here the image's size.
        for (int it = 0; it < iterations; it++)
            for (int y = h - delta; y > delta; y--)
                for (int x = w - delta; x > delta; x--)
                {
                    // numpy.random.randint(-delta, delta): the high end is exclusive.
                    int dx = rng.NextInt(2 * delta) - delta, dy = rng.NextInt(2 * delta) - delta;
                    int a = y * w + x, b = (y + dy) * w + x + dx;
                    for (int c = 0; c < 3; c++) (d[c * plane + a], d[c * plane + b]) = (d[c * plane + b], d[c * plane + a]);
                }
        Filters.GaussianRgb(d, h, w, sigma);
    }

    /// <summary>(x + sum of centre zooms by each factor) / (count + 1), the zooms bilinear as scipy.ndimage.zoom.</summary>
    public static void ZoomBlur(int severity, CorruptionImage image, Rng rng)
    {
        var (start, stop, step) = ZoomRanges[severity - 1];
        int count = (int)Math.Ceiling((stop - start) / step);
        int h = image.Height, w = image.Width, plane = image.Plane;
        var src = image.Data;
        var sum = (float[])src.Clone();
        for (int n = 0; n < count; n++)
        {
            double zoom = start + n * step;
            var (ys, yw) = ZoomAxis(h, zoom);
            var (xs, xw) = ZoomAxis(w, zoom);
            for (int c = 0; c < 3; c++)
            {
                var p = src.AsSpan(c * plane, plane);
                for (int y = 0; y < h; y++)
                {
                    int y0 = ys[y], y1 = Math.Min(y0 + 1, h - 1);
                    float fy = yw[y];
                    for (int x = 0; x < w; x++)
                    {
                        int x0 = xs[x], x1 = Math.Min(x0 + 1, w - 1);
                        float fx = xw[x];
                        float top = p[y0 * w + x0] + (p[y0 * w + x1] - p[y0 * w + x0]) * fx;
                        float bottom = p[y1 * w + x0] + (p[y1 * w + x1] - p[y1 * w + x0]) * fx;
                        sum[c * plane + y * w + x] += top + (bottom - top) * fy;
                    }
                }
            }
        }
        for (int i = 0; i < sum.Length; i++) sum[i] /= count + 1;
        image.Data = sum;
    }

    /// <summary>imagecorruptions' clipped_zoom along one axis of n pixels: the centre crop of ceil(n/zoom) pixels zoomed
    /// by scipy (order 1, corners aligned) to round(crop*zoom) and trimmed to n. Gives each output's source index and weight.</summary>
    private static (int[] Index, float[] Frac) ZoomAxis(int n, double zoom)
    {
        int crop = (int)Math.Ceiling(n / zoom);
        int top = (n - crop) / 2;
        int zoomed = (int)Math.Round(crop * zoom, MidpointRounding.ToEven);
        int trim = (zoomed - n) / 2;
        var index = new int[n];
        var frac = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = zoomed > 1 ? (double)(i + trim) * (crop - 1) / (zoomed - 1) : 0;
            int s0 = Math.Min((int)Math.Floor(s), crop - 1);
            index[i] = top + s0;
            frac[i] = (float)(s - s0);
        }
        return (index, frac);
    }

    /// <summary>skimage Gaussian blur of each channel (mode 'nearest', truncate 4).</summary>
    public static void GaussianBlur(int severity, CorruptionImage image, Rng rng) =>
        Filters.GaussianRgb(image.Data, image.Height, image.Width, GaussianSigma[severity - 1]);
}
