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

    public static void ElasticTransform(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("elastic_transform");

    public static void Pixelate(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("pixelate");

    public static void JpegCompression(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("jpeg_compression");
}
