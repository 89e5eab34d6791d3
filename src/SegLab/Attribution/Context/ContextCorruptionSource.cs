// The corruption source of the perturbation variants: the ImageNet-C corruptions of SegLab.Imaging.Corruptions when
// this build has them (branch corrupt), else none (the perturbation variants are then not offered).
namespace SegLab.Attribution.Context;

/// <summary>The default corruption source.</summary>
public static class ContextCorruptionSource
{
    /// <summary>The corruptions of this build, or null where it has none.</summary>
    public static IImageCorruptions? Default => null;
}
