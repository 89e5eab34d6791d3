// ImageNet-C blur family (Hendrycks & Dietterich 2019): defocus (disk kernel), glass (blur, local pixel shuffles,
// blur), zoom (mean of centre zooms) and Gaussian blur, with the published severity tables.
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

internal static class BlurCorruptions
{
    public static void DefocusBlur(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("defocus_blur");

    public static void GlassBlur(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("glass_blur");

    public static void ZoomBlur(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("zoom_blur");

    public static void GaussianBlur(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("gaussian_blur");
}
