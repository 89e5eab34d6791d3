// The 17 ImageNet-C corruptions used by ImageNet-CS (Hendrycks & Dietterich, ICLR 2019; PAPERS.md B.3, F) at
// severities 1-5, on float RGB CHW images in [0,1]: the whole image (Apply) or a masked part of it (ApplyMasked,
// the ImageNet-CS construction corrupt*M + orig*(1-M): the whole image is corrupted first, then masked). Motion blur
// and snow are excluded, as in ImageNet-CS. Parameters are the published severity tables; see docs/corruptions.md.
using SegLab.Engine;

namespace SegLab.Imaging.Corruptions;

/// <summary>The ImageNet-C corruptions of ImageNet-CS, by name, at severities 1 to 5.</summary>
public static class ImageCorruptions
{
    private delegate void Corruption(int severity, CorruptionImage image, Rng rng);

    // Name -> implementation, in the order of PAPERS.md B.3.
    private static readonly (string Name, Corruption Apply, bool Random)[] Table =
    [
        ("gaussian_noise", NoiseCorruptions.GaussianNoise, true),
        ("shot_noise", NoiseCorruptions.ShotNoise, true),
        ("impulse_noise", NoiseCorruptions.ImpulseNoise, true),
        ("defocus_blur", BlurCorruptions.DefocusBlur, false),
        ("glass_blur", BlurCorruptions.GlassBlur, true),
        ("zoom_blur", BlurCorruptions.ZoomBlur, false),
        ("frost", WeatherCorruptions.Frost, true),
        ("fog", WeatherCorruptions.Fog, true),
        ("brightness", DigitalCorruptions.Brightness, false),
        ("contrast", DigitalCorruptions.Contrast, false),
        ("elastic_transform", DigitalCorruptions.ElasticTransform, true),
        ("pixelate", DigitalCorruptions.Pixelate, false),
        ("jpeg_compression", DigitalCorruptions.JpegCompression, false),
        ("speckle_noise", NoiseCorruptions.SpeckleNoise, true),
        ("gaussian_blur", BlurCorruptions.GaussianBlur, false),
        ("spatter", WeatherCorruptions.Spatter, true),
        ("saturate", DigitalCorruptions.Saturate, false),
    ];

    /// <summary>The corruption names, in the order of PAPERS.md (ImageNet-C names, e.g. "gaussian_noise").</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Table.Select(t => t.Name).ToArray());

    /// <summary>The lowest severity.</summary>
    public const int MinSeverity = 1;

    /// <summary>The highest severity.</summary>
    public const int MaxSeverity = 5;

    /// <summary>Whether the corruption draws random numbers (its result depends on the seed).</summary>
    /// <param name="name">A name from <see cref="Names"/>.</param>
    public static bool IsRandom(string name) => Table[IndexOf(name)].Random;

    /// <summary>Corrupts a whole image. Returns a new array, same layout, clamped to [0,1]; deterministic for a given seed.</summary>
    /// <param name="name">A name from <see cref="Names"/>; anything else is an ArgumentException listing them.</param>
    /// <param name="severity">1 to 5.</param>
    /// <param name="image">Float RGB, CHW, values in [0,1], length 3*height*width.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="seed">Seed of the random corruptions (ignored by the deterministic ones).</param>
    public static float[] Apply(string name, int severity, ReadOnlySpan<float> image, int height, int width, ulong seed)
    {
        int index = IndexOf(name);
        CheckSeverity(severity);
        CheckImage(image, height, width);
        var img = new CorruptionImage(image.ToArray(), height, width);
        for (int i = 0; i < img.Data.Length; i++) img.Data[i] = Math.Clamp(img.Data[i], 0f, 1f);
        // One stream per (corruption, seed): equal seeds of different corruptions do not share random numbers.
        var rng = new Rng(unchecked((long)(seed ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1)))));
        Table[index].Apply(severity, img, rng);
        var data = img.Data;
        for (int i = 0; i < data.Length; i++)
        {
            float v = data[i];
            data[i] = float.IsNaN(v) ? 0f : Math.Clamp(v, 0f, 1f);
        }
        return data;
    }

    /// <summary>Corrupts the whole image, then keeps the corrupted pixels only where the mask is true (original elsewhere).</summary>
    /// <param name="name">A name from <see cref="Names"/>.</param>
    /// <param name="severity">1 to 5.</param>
    /// <param name="image">Float RGB, CHW, values in [0,1], length 3*height*width.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="mask">height*width flags, mask[y*width+x]; true = corrupted pixel.</param>
    /// <param name="seed">Seed of the random corruptions.</param>
    public static float[] ApplyMasked(string name, int severity, ReadOnlySpan<float> image, int height, int width, ReadOnlySpan<bool> mask, ulong seed)
    {
        IndexOf(name);
        CheckSeverity(severity);
        CheckImage(image, height, width);
        int plane = height * width;
        if (mask.Length != plane)
            throw new ArgumentException($"ImageCorruptions: mask has {mask.Length} pixels; expected height*width = {height}*{width} = {plane}.", nameof(mask));
        var corrupted = Apply(name, severity, image, height, width, seed);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
                if (!mask[i]) corrupted[c * plane + i] = image[c * plane + i];
        return corrupted;
    }

    private static int IndexOf(string name)
    {
        for (int i = 0; i < Table.Length; i++)
            if (Table[i].Name == name) return i;
        throw new ArgumentException($"Unknown corruption '{name}'; valid: {string.Join(", ", Table.Select(t => t.Name))}.", nameof(name));
    }

    private static void CheckSeverity(int severity)
    {
        if (severity is < MinSeverity or > MaxSeverity)
            throw new ArgumentException($"Corruption severity {severity}; valid: 1, 2, 3, 4, 5.", nameof(severity));
    }

    private static void CheckImage(ReadOnlySpan<float> image, int height, int width)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentException($"ImageCorruptions: image size {height}x{width} must be positive.", nameof(height));
        long expected = 3L * height * width;
        if (image.Length != expected)
            throw new ArgumentException($"ImageCorruptions: image has {image.Length} values; expected 3*height*width = 3*{height}*{width} = {expected} (RGB, CHW).", nameof(image));
    }
}

/// <summary>A mutable RGB CHW image in [0,1] that a corruption rewrites in place (it may replace <see cref="Data"/>).</summary>
internal sealed class CorruptionImage(float[] data, int height, int width)
{
    public float[] Data = data;
    public readonly int Height = height;
    public readonly int Width = width;
    public int Plane => Height * Width;
}
