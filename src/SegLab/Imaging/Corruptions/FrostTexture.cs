// A procedural stand-in for the frost photographs of ImageNet-C (which SegLab does not ship): feathery ice needles
// (a main needle with side barbs at +-60 degrees) over fine grain and a patchy plasma haze, standardised and coloured
// with the per-channel mean and standard deviation measured on the reference's five frost photographs (one drawn at
// random per call, as the reference draws one photograph).
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

internal static class FrostTexture
{
    // Per-channel (R, G, B) mean and standard deviation of frost1.png ... frost5.jpg in [0, 1] (the reference draws
    // np.random.randint(5), so frost6 is never used); measured once with PIL, see docs/corruptions.md.
    private static readonly (double[] Mean, double[] Sd)[] Photographs =
    [
        ([0.305, 0.585, 0.650], [0.106, 0.065, 0.060]),
        ([0.787, 0.805, 0.841], [0.084, 0.087, 0.089]),
        ([0.787, 0.805, 0.841], [0.084, 0.087, 0.089]),
        ([0.540, 0.599, 0.648], [0.112, 0.112, 0.117]),
        ([0.441, 0.484, 0.528], [0.174, 0.170, 0.163]),
    ];

    /// <summary>A CHW RGB frost layer of the given size, values in [0, 1].</summary>
    public static float[] Create(int h, int w, Rng rng)
    {
        var (mean, sd) = Photographs[rng.NextInt(Photographs.Length)];
        int n = h * w;
        var t = new float[n];
        int crystals = Math.Max(1, n / 180);
        for (int k = 0; k < crystals; k++)
        {
            double x0 = rng.NextDouble() * w, y0 = rng.NextDouble() * h;
            double angle = rng.NextDouble() * 2 * Math.PI;
            double u = rng.NextDouble();
            double length = 4 + 36 * u * u;
            double bright = 0.35 + 0.65 * rng.NextDouble();
            Needle(t, h, w, x0, y0, angle, length, bright, barbs: true);
        }
        Filters.Gaussian(t, h, w, 0.6, Border.Reflect);
        // Fine grain and a patchy haze, as frosted glass has.
        var grain = new float[n];
        for (int i = 0; i < n; i++) grain[i] = (float)rng.NextNormal();
        Filters.Gaussian(grain, h, w, 0.8, Border.Reflect);
        int size = 256;
        while (size < Math.Max(h, w)) size *= 2;
        var haze = WeatherCorruptions.PlasmaFractal(size, 2.0, rng);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                t[i] += 0.12f * grain[i] + 0.35f * (float)haze[y * size + x];
            }
        double sum = 0, sq = 0;
        foreach (float v in t) { sum += v; sq += (double)v * v; }
        double m = sum / n, s = Math.Sqrt(Math.Max(sq / n - m * m, 1e-12));
        var rgb = new float[3 * n];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < n; i++)
                rgb[c * n + i] = (float)Math.Clamp(mean[c] + sd[c] * (t[i] - m) / s, 0, 1);
        return rgb;
    }

    private static void Needle(float[] t, int h, int w, double x0, double y0, double angle, double length, double bright, bool barbs)
    {
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        for (double s = 0; s <= length; s += 0.7)
        {
            int x = (int)(x0 + s * cos), y = (int)(y0 + s * sin);
            if ((uint)x < (uint)w && (uint)y < (uint)h)
            {
                int i = y * w + x;
                t[i] = Math.Max(t[i], (float)(bright * (1 - 0.6 * s / length)));
            }
        }
        if (!barbs) return;
        for (double s = 2.5; s < 0.8 * length; s += 2.5)
        {
            double bx = x0 + s * cos, by = y0 + s * sin, bl = 0.4 * (length - s);
            Needle(t, h, w, bx, by, angle + Math.PI / 3, bl, 0.7 * bright, barbs: false);
            Needle(t, h, w, bx, by, angle - Math.PI / 3, bl, 0.7 * bright, barbs: false);
        }
    }
}
