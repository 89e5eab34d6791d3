// ImageNet-C digital family (Hendrycks & Dietterich 2019): brightness and saturate (in skimage's HSV), contrast
// (towards the per-channel mean), elastic transform, pixelate (box down- and up-sampling) and JPEG compression,
// with the published severity tables.
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

internal static class DigitalCorruptions
{
    private static readonly double[] BrightnessShift = [0.1, 0.2, 0.3, 0.4, 0.5];
    private static readonly double[] ContrastFactor = [0.4, 0.3, 0.2, 0.1, 0.05];
    private static readonly (double Scale, double Shift)[] SaturateParams = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)];

    /// <summary>V += shift in HSV.</summary>
    public static void Brightness(int severity, CorruptionImage image, Rng rng)
    {
        double shift = BrightnessShift[severity - 1];
        Hsv.Map(image, (h, s, v) => (h, s, Math.Clamp(v + shift, 0, 1)));
    }

    /// <summary>S = S * scale + shift in HSV.</summary>
    public static void Saturate(int severity, CorruptionImage image, Rng rng)
    {
        var (scale, shift) = SaturateParams[severity - 1];
        Hsv.Map(image, (h, s, v) => (h, Math.Clamp(s * scale + shift, 0, 1), v));
    }

    /// <summary>(x - mean) * factor + mean, with the mean of each channel over the image.</summary>
    public static void Contrast(int severity, CorruptionImage image, Rng rng)
    {
        double factor = ContrastFactor[severity - 1];
        int plane = image.Plane;
        var d = image.Data;
        for (int c = 0; c < 3; c++)
        {
            double sum = 0;
            for (int i = 0; i < plane; i++) sum += d[c * plane + i];
            double mean = sum / plane;
            for (int i = 0; i < plane; i++) d[c * plane + i] = (float)((d[c * plane + i] - mean) * factor + mean);
        }
    }

    // (alpha, sigma, affine) of the reference: 244 * (2, 0.7, 0.1), ... ("244 should have been 224"), in pixels.
    private static readonly (double Alpha, double Sigma, double Affine)[] ElasticParams =
    [
        (244 * 2, 244 * 0.7, 244 * 0.1),
        (244 * 2, 244 * 0.08, 244 * 0.2),
        (244 * 0.05, 244 * 0.01, 244 * 0.02),
        (244 * 0.07, 244 * 0.01, 244 * 0.02),
        (244 * 0.12, 244 * 0.01, 244 * 0.02),
    ];

    private static readonly double[] PixelateFactor = [0.6, 0.5, 0.4, 0.3, 0.25];
    private static readonly int[] JpegQuality = [25, 18, 15, 10, 7];

    /// <summary>A random affine warp (three points moved by up to 'affine' pixels, OpenCV warpAffine, bilinear,
    /// BORDER_REFLECT_101), then a smooth random displacement field (uniform noise, Gaussian sigma, truncate 3, times alpha),
    /// sampled bilinearly with reflection (scipy map_coordinates order 1).</summary>
    public static void ElasticTransform(int severity, CorruptionImage image, Rng rng)
    {
        var (alpha, sigma, affine) = ElasticParams[severity - 1];
        int h = image.Height, w = image.Width, plane = image.Plane;
        // Points in OpenCV's (x, y) order around the centre; the reference's square images hide its (row, col) order.
        double cx = w / 2, cy = h / 2, sq = Math.Min(h, w) / 3;
        double[] px = [cx + sq, cx + sq, cx - sq], py = [cy + sq, cy - sq, cy - sq];
        var qx = new double[3];
        var qy = new double[3];
        for (int i = 0; i < 3; i++)
        {
            qx[i] = px[i] + (2 * rng.NextDouble() - 1) * affine;
            qy[i] = py[i] + (2 * rng.NextDouble() - 1) * affine;
        }
        // warpAffine maps dst = M src; sampling needs src = M^-1 dst, the affine from the moved points to the originals.
        var (ax, bx, tx) = SolveAffineRow(qx, qy, px);
        var (ay, by, ty) = SolveAffineRow(qx, qy, py);
        var src = image.Data;
        var warped = new float[src.Length];
        for (int c = 0; c < 3; c++)
        {
            var p = src.AsSpan(c * plane, plane);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    warped[c * plane + y * w + x] = Filters.Bilinear(p, h, w, ay * x + by * y + ty, ax * x + bx * y + tx, Border.Reflect101);
        }
        var dx = DisplacementField(h, w, sigma, alpha, rng);
        var dy = DisplacementField(h, w, sigma, alpha, rng);
        var output = new float[src.Length];
        for (int c = 0; c < 3; c++)
        {
            var p = warped.AsSpan(c * plane, plane);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int i = y * w + x;
                    output[c * plane + i] = Filters.Bilinear(p, h, w, y + dy[i], x + dx[i], Border.Reflect);
                }
        }
        image.Data = output;
    }

    private static float[] DisplacementField(int h, int w, double sigma, double alpha, Rng rng)
    {
        var field = new float[h * w];
        for (int i = 0; i < field.Length; i++) field[i] = (float)(2 * rng.NextDouble() - 1);
        Filters.Gaussian(field, h, w, sigma, Border.Reflect, truncate: 3);
        for (int i = 0; i < field.Length; i++) field[i] = (float)(field[i] * alpha);
        return field;
    }

    /// <summary>(a, b, t) with a*x_i + b*y_i + t = target_i for three points (Cramer's rule).</summary>
    private static (double A, double B, double T) SolveAffineRow(double[] x, double[] y, double[] target)
    {
        double det = x[0] * (y[1] - y[2]) - y[0] * (x[1] - x[2]) + (x[1] * y[2] - x[2] * y[1]);
        double a = (target[0] * (y[1] - y[2]) - y[0] * (target[1] - target[2]) + (target[1] * y[2] - target[2] * y[1])) / det;
        double b = (x[0] * (target[1] - target[2]) - target[0] * (x[1] - x[2]) + (x[1] * target[2] - x[2] * target[1])) / det;
        double t = (x[0] * (y[1] * target[2] - y[2] * target[1]) - y[0] * (x[1] * target[2] - x[2] * target[1]) + target[0] * (x[1] * y[2] - x[2] * y[1])) / det;
        return (a, b, t);
    }

    /// <summary>PIL BOX resize to int(size * factor), then BOX resize back (the ImageNet-C reference's choice).</summary>
    public static void Pixelate(int severity, CorruptionImage image, Rng rng)
    {
        double factor = PixelateFactor[severity - 1];
        int h = image.Height, w = image.Width, plane = image.Plane;
        int sh = Math.Max((int)(h * factor), 1), sw = Math.Max((int)(w * factor), 1);
        var output = new float[image.Data.Length];
        for (int c = 0; c < 3; c++)
        {
            var small = Filters.ResizeBox(image.Data.AsSpan(c * plane, plane), h, w, sh, sw);
            Filters.ResizeBox(small, sh, sw, h, w).CopyTo(output, c * plane);
        }
        image.Data = output;
    }

    /// <summary>8-bit RGB encoded as JPEG at the severity's quality with 4:2:0 chroma (PIL's default), decoded back.</summary>
    public static void JpegCompression(int severity, CorruptionImage image, Rng rng)
    {
        int h = image.Height, w = image.Width, plane = image.Plane;
        var d = image.Data;
        var bytes = new byte[plane * 3];
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                bytes[i * 3 + c] = (byte)Math.Round(Math.Clamp(d[c * plane + i], 0f, 1f) * 255f);
        var encoded = Jpeg.Encode(new Image(w, h, 3, bytes), JpegQuality[severity - 1], JpegSubsampling.Quarter);
        var decoded = Jpeg.Decode(encoded, "jpeg_compression");
        if (decoded.Width != w || decoded.Height != h || decoded.Channels != 3)
            throw new InvalidOperationException($"jpeg_compression: decoded {decoded.Width}x{decoded.Height}x{decoded.Channels}, expected {w}x{h}x3.");
        var px = decoded.Pixels;
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                d[c * plane + i] = px[i * 3 + c] / 255f;
    }
}
