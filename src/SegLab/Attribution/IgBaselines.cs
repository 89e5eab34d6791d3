// The baselines of Integrated Gradients: black, blurred (separable Gaussian, edges clamped), the image's mean
// colour, and seeded uniform noise. The blurred baseline follows Sturmfels, Lundberg, Lee, "Visualizing the impact
// of feature attribution baselines" (Distill 2020).
namespace SegLab.Attribution;

/// <summary>Builds Integrated Gradients baselines for a planar [3, H, W] image.</summary>
public static class IgBaselines
{
    /// <summary>The baseline of <paramref name="kind"/> for <paramref name="image"/>.</summary>
    /// <param name="kind">Which baseline.</param>
    /// <param name="image">Planar RGB [3, H, W].</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="options">Blur sigma and seed.</param>
    public static float[] Create(IgBaseline kind, float[] image, int height, int width, AttributionOptions options)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        int n = height * width;
        switch (kind)
        {
            case IgBaseline.Black:
                return new float[image.Length];
            case IgBaseline.MeanColour:
            {
                var r = new float[image.Length];
                for (int c = 0; c < 3; c++)
                {
                    double s = 0;
                    for (int i = 0; i < n; i++) s += image[c * n + i];
                    r.AsSpan(c * n, n).Fill((float)(s / n));
                }
                return r;
            }
            case IgBaseline.UniformNoise:
            {
                var rng = new SegLab.Engine.Rng(options.Seed);
                var r = new float[image.Length];
                for (int i = 0; i < r.Length; i++) r[i] = (float)rng.NextDouble();
                return r;
            }
            case IgBaseline.Blurred:
                return Blur(image, height, width, options.BlurSigma);
            default:
                throw new ArgumentException($"Unknown baseline {kind}.");
        }
    }

    /// <summary>Separable Gaussian blur of each channel (radius 3 sigma, edge pixels repeated).</summary>
    public static float[] Blur(float[] image, int height, int width, double sigma)
    {
        ArgumentNullException.ThrowIfNull(image);
        int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var k = new double[2 * radius + 1];
        double sum = 0;
        for (int i = -radius; i <= radius; i++) sum += k[i + radius] = Math.Exp(-0.5 * i * i / (sigma * sigma));
        for (int i = 0; i < k.Length; i++) k[i] /= sum;
        int n = height * width;
        var tmp = new float[image.Length];
        var r = new float[image.Length];
        for (int c = 0; c < 3; c++)
        {
            var src = image.AsSpan(c * n, n);
            var mid = tmp.AsSpan(c * n, n);
            var dst = r.AsSpan(c * n, n);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double s = 0;
                    for (int j = -radius; j <= radius; j++) s += k[j + radius] * src[y * width + Math.Clamp(x + j, 0, width - 1)];
                    mid[y * width + x] = (float)s;
                }
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double s = 0;
                    for (int j = -radius; j <= radius; j++) s += k[j + radius] * mid[Math.Clamp(y + j, 0, height - 1) * width + x];
                    dst[y * width + x] = (float)s;
                }
        }
        return r;
    }
}
