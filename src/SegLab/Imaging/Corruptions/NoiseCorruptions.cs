// ImageNet-C noise family (Hendrycks & Dietterich 2019): Gaussian, shot (Poisson), impulse (salt and pepper) and
// speckle noise, with the published severity tables. Every sample is drawn independently per pixel and channel, as
// numpy does on the HxWx3 array; the streams are SegLab's Rng, so values differ from numpy's but not their law.
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

internal static class NoiseCorruptions
{
    private static readonly double[] GaussianSigma = [0.08, 0.12, 0.18, 0.26, 0.38];
    private static readonly double[] ShotPhotons = [60, 25, 12, 5, 3];
    private static readonly double[] ImpulseAmount = [0.03, 0.06, 0.09, 0.17, 0.27];
    private static readonly double[] SpeckleSigma = [0.15, 0.2, 0.35, 0.45, 0.6];

    /// <summary>x + N(0, sigma^2).</summary>
    public static void GaussianNoise(int severity, CorruptionImage image, Rng rng)
    {
        double sigma = GaussianSigma[severity - 1];
        var d = image.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(d[i] + sigma * rng.NextNormal());
    }

    /// <summary>Poisson(x * photons) / photons.</summary>
    public static void ShotNoise(int severity, CorruptionImage image, Rng rng)
    {
        double photons = ShotPhotons[severity - 1];
        var d = image.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(Poisson(d[i] * photons, rng) / photons);
    }

    /// <summary>Each value replaced with probability amount, by 0 or 1 with equal odds (skimage's 's&amp;p' mode).</summary>
    public static void ImpulseNoise(int severity, CorruptionImage image, Rng rng)
    {
        double amount = ImpulseAmount[severity - 1];
        var d = image.Data;
        for (int i = 0; i < d.Length; i++)
        {
            bool flipped = rng.NextDouble() <= amount;
            bool salt = rng.NextDouble() < 0.5;
            if (flipped) d[i] = salt ? 1f : 0f;
        }
    }

    /// <summary>x + x * N(0, sigma^2).</summary>
    public static void SpeckleNoise(int severity, CorruptionImage image, Rng rng)
    {
        double sigma = SpeckleSigma[severity - 1];
        var d = image.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(d[i] + d[i] * sigma * rng.NextNormal());
    }

    /// <summary>A Poisson sample by Knuth's product of uniforms (exact; the means here are at most 60).</summary>
    private static int Poisson(double mean, Rng rng)
    {
        if (mean <= 0) return 0;
        double limit = Math.Exp(-mean), p = 1.0;
        int k = 0;
        while (true)
        {
            p *= rng.NextDouble();
            if (p <= limit) return k;
            k++;
        }
    }
}
