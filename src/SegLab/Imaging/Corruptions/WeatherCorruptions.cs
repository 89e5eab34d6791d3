// ImageNet-C weather family as used by ImageNet-CS (Hendrycks & Dietterich 2019): frost, fog (plasma fractal) and
// spatter (water or mud), with the published severity tables. Snow is excluded, as in ImageNet-CS.
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

internal static class WeatherCorruptions
{
    public static void Frost(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("frost");

    public static void Fog(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("fog");

    public static void Spatter(int severity, CorruptionImage image, Rng rng) => throw new NotImplementedException("spatter");
}
