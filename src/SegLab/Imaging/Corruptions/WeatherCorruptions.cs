// ImageNet-C weather family as used by ImageNet-CS (Hendrycks & Dietterich 2019): frost, fog (diamond-square plasma
// fractal) and spatter (water drops with embossed edges, or mud), with the published severity tables. Snow is excluded,
// as in ImageNet-CS. Frost blends a procedural ice texture instead of the reference's photographs (docs/corruptions.md).
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

internal static class WeatherCorruptions
{
    private static readonly (double Image, double Frost)[] FrostParams = [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)];
    private static readonly (double Strength, double Decay)[] FogParams = [(1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)];

    // (mean, sd, sigma, threshold, intensity, mud) of the reference.
    private static readonly (double Mean, double Sd, double Sigma, double Threshold, double Intensity, bool Mud)[] SpatterParams =
    [
        (0.65, 0.3, 4, 0.69, 0.6, false),
        (0.65, 0.3, 3, 0.68, 0.6, false),
        (0.65, 0.3, 2, 0.68, 0.5, false),
        (0.65, 0.3, 1, 0.65, 1.5, true),
        (0.67, 0.4, 1, 0.65, 1.5, true),
    ];

    /// <summary>image * a + frost * b, frost a procedural ice texture with the colour statistics of the reference's photographs.</summary>
    public static void Frost(int severity, CorruptionImage image, Rng rng)
    {
        var (a, b) = FrostParams[severity - 1];
        var frost = FrostTexture.Create(image.Height, image.Width, rng);
        var d = image.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(a * d[i] + b * frost[i]);
    }

    /// <summary>(x + s * plasma) * max / (max + s), max the image's largest value.</summary>
    public static void Fog(int severity, CorruptionImage image, Rng rng)
    {
        var (strength, decay) = FogParams[severity - 1];
        int h = image.Height, w = image.Width, plane = image.Plane;
        int size = 256;
        while (size < Math.Max(h, w)) size *= 2;
        var plasma = PlasmaFractal(size, decay, rng);
        var d = image.Data;
        double max = 0;
        foreach (float v in d) max = Math.Max(max, v);
        double scale = max / (max + strength);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int i = c * plane + y * w + x;
                    d[i] = (float)((d[i] + strength * plasma[y * size + x]) * scale);
                }
    }

    /// <summary>The reference's diamond-square height map (size a power of two, wrapping), scaled to [0, 1]. Each midpoint is
    /// the mean of its four neighbours plus wibble * U(-wibble, wibble), wibble starting at 100 and divided by decay per level.</summary>
    internal static double[] PlasmaFractal(int size, double decay, Rng rng)
    {
        var map = new double[size * size];
        double wibble = 100;
        double At(int y, int x) => map[(((y % size) + size) % size) * size + (((x % size) + size) % size)];
        double Wibbled(double sum) => sum / 4 + wibble * (2 * rng.NextDouble() - 1) * wibble;
        for (int step = size; step >= 2; step /= 2, wibble /= decay)
        {
            int half = step / 2;
            // Squares: the centre of each step x step cell from its four corners.
            for (int y = half; y < size; y += step)
                for (int x = half; x < size; x += step)
                    map[y * size + x] = Wibbled(At(y - half, x - half) + At(y + half, x - half) + At(y - half, x + half) + At(y + half, x + half));
            // Diamonds: edge midpoints from the two centres and two corners around them.
            for (int y = 0; y < size; y += step)
                for (int x = half; x < size; x += step)
                    map[y * size + x] = Wibbled(At(y + half, x) + At(y - half, x) + At(y, x - half) + At(y, x + half));
            for (int y = half; y < size; y += step)
                for (int x = 0; x < size; x += step)
                    map[y * size + x] = Wibbled(At(y, x + half) + At(y, x - half) + At(y - half, x) + At(y + half, x));
        }
        double min = map.Min();
        for (int i = 0; i < map.Length; i++) map[i] -= min;
        double max = map.Max();
        if (max > 0)
            for (int i = 0; i < map.Length; i++) map[i] /= max;
        return map;
    }

    /// <summary>Thresholded blurred Gaussian noise as liquid: pale turquoise drops with embossed edges (severities 1-3,
    /// the reference's Canny / distance transform / histogram equalisation / emboss chain) or opaque brown mud (4-5).</summary>
    public static void Spatter(int severity, CorruptionImage image, Rng rng)
    {
        var p = SpatterParams[severity - 1];
        int h = image.Height, w = image.Width, plane = image.Plane;
        var liquid = new float[plane];
        for (int i = 0; i < plane; i++) liquid[i] = (float)(p.Mean + p.Sd * rng.NextNormal());
        Filters.Gaussian(liquid, h, w, p.Sigma, Border.Nearest);
        for (int i = 0; i < plane; i++) if (liquid[i] < p.Threshold) liquid[i] = 0;
        var d = image.Data;
        if (!p.Mud)
        {
            var m = SpatterOps.WaterLayer(liquid, h, w);
            float[] color = [175 / 255f, 238 / 255f, 238 / 255f];
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < plane; i++) d[c * plane + i] += (float)(m[i] * p.Intensity * color[c]);
        }
        else
        {
            var m = new float[plane];
            for (int i = 0; i < plane; i++) m[i] = liquid[i] > p.Threshold ? 1 : 0;
            Filters.Gaussian(m, h, w, p.Intensity, Border.Nearest);
            for (int i = 0; i < plane; i++) if (m[i] < 0.8f) m[i] = 0;
            float[] color = [63 / 255f, 42 / 255f, 20 / 255f];
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < plane; i++) d[c * plane + i] = d[c * plane + i] * (1 - m[i]) + color[c] * m[i];
        }
    }
}
