// The corruption source of the perturbation variants: SegLab.Imaging.Corruptions.ImageCorruptions (the 17 ImageNet-C
// corruptions of ImageNet-CS, PAPERS.md B.3). Only the corruptions this build implements are offered: each is tried
// once on a small image, and one that throws NotImplementedException is left out of Names (and so of --variants all).
using SegLab.Imaging.Corruptions;

namespace SegLab.Attribution.Context;

/// <summary>The default corruption source.</summary>
public static class ContextCorruptionSource
{
    private static readonly Lazy<IImageCorruptions> Source = new(() => new ImageNetC());

    /// <summary>The ImageNet-C corruptions of this build.</summary>
    public static IImageCorruptions Default => Source.Value;

    private sealed class ImageNetC : IImageCorruptions
    {
        public ImageNetC()
        {
            var probe = new float[3 * 32 * 32];
            for (int i = 0; i < probe.Length; i++) probe[i] = (i % 7) / 7f;
            var names = new List<string>();
            foreach (string n in ImageCorruptions.Names)
            {
                try
                {
                    ImageCorruptions.Apply(n, 1, probe, 32, 32, 0);
                    names.Add(n);
                }
                catch (NotImplementedException)
                {
                    // not in this build yet
                }
            }
            Names = names;
        }

        public IReadOnlyList<string> Names { get; }

        public float[] Apply(string name, int severity, ReadOnlySpan<float> chw01, int height, int width, ulong seed) =>
            ImageCorruptions.Apply(name, severity, chw01, height, width, seed);
    }
}
