// Training augmentations that keep pixels aligned with their labels: random crop (padding with black and the
// ignore id where the sample is smaller than the crop), horizontal flip, and colour jitter of brightness, contrast
// and saturation (as torchvision's ColorJitter, in that fixed order, on the image only).
using SegLab.Engine;

namespace SegLab.Data;

/// <summary>Crops a window of fixed size at a random position; a smaller sample is padded (image 0, label the ignore id).</summary>
public sealed class RandomCrop : ISampleTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="width">Crop width, positive.</param>
    /// <param name="height">Crop height, positive.</param>
    /// <param name="ignoreIndex">Label of padded pixels (the class table's ignore id).</param>
    public RandomCrop(int width, int height, int ignoreIndex)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"RandomCrop: size {width}x{height} must be positive.");
        Width = width;
        Height = height;
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>Crop width.</summary>
    public int Width { get; }

    /// <summary>Crop height.</summary>
    public int Height { get; }

    /// <summary>Label of padded pixels.</summary>
    public int IgnoreIndex { get; }

    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(rng);
        // Offset of the crop in the (virtually padded) sample: padding goes right and below.
        int ox = sample.Width > Width ? rng.NextInt(sample.Width - Width + 1) : 0;
        int oy = sample.Height > Height ? rng.NextInt(sample.Height - Height + 1) : 0;
        int cw = Math.Min(Width, sample.Width - ox), ch = Math.Min(Height, sample.Height - oy);
        var image = new float[3 * Width * Height];
        int[]? label = null;
        if (sample.Label is not null)
        {
            label = new int[Width * Height];
            Array.Fill(label, IgnoreIndex);
        }
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < ch; y++)
                sample.Image.AsSpan((c * sample.Height + oy + y) * sample.Width + ox, cw).CopyTo(image.AsSpan((c * Height + y) * Width, cw));
        if (label is not null)
            for (int y = 0; y < ch; y++)
                sample.Label!.AsSpan((oy + y) * sample.Width + ox, cw).CopyTo(label.AsSpan(y * Width, cw));
        return sample.With(Width, Height, image, label);
    }
}

/// <summary>Mirrors the sample left to right with a given probability.</summary>
public sealed class HorizontalFlip : ISampleTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="probability">Chance of flipping, 0..1.</param>
    public HorizontalFlip(double probability = 0.5)
    {
        if (!(probability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "must be in [0, 1]");
        Probability = probability;
    }

    /// <summary>Chance of flipping.</summary>
    public double Probability { get; }

    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(rng);
        if (rng.NextDouble() >= Probability) return sample;
        int w = sample.Width;
        var image = (float[])sample.Image.Clone();
        for (int row = 0; row < 3 * sample.Height; row++) image.AsSpan(row * w, w).Reverse();
        int[]? label = null;
        if (sample.Label is not null)
        {
            label = (int[])sample.Label.Clone();
            for (int row = 0; row < sample.Height; row++) label.AsSpan(row * w, w).Reverse();
        }
        return sample.With(w, sample.Height, image, label);
    }
}

/// <summary>
/// Random brightness, contrast and saturation: factors drawn uniformly from [1 - s, 1 + s] for strength s; brightness
/// scales the pixels, contrast blends with the mean grey level of the image, saturation with each pixel's grey level
/// (grey = 0.299 R + 0.587 G + 0.114 B); results clamped to [0, 1]. The label is unchanged.
/// </summary>
public sealed class ColorJitter : ISampleTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="brightness">Brightness strength, 0..1 (0: off).</param>
    /// <param name="contrast">Contrast strength, 0..1 (0: off).</param>
    /// <param name="saturation">Saturation strength, 0..1 (0: off).</param>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0)
    {
        foreach (var (v, n) in new[] { (brightness, nameof(brightness)), (contrast, nameof(contrast)), (saturation, nameof(saturation)) })
            if (!(v is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(n, v, "must be in [0, 1]");
        (Brightness, Contrast, Saturation) = (brightness, contrast, saturation);
    }

    /// <summary>Brightness strength.</summary>
    public double Brightness { get; }

    /// <summary>Contrast strength.</summary>
    public double Contrast { get; }

    /// <summary>Saturation strength.</summary>
    public double Saturation { get; }

    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(rng);
        // Draw all three factors every time, so that the stream does not depend on which strengths are zero.
        float b = Factor(Brightness, rng), c = Factor(Contrast, rng), s = Factor(Saturation, rng);
        var image = (float[])sample.Image.Clone();
        int n = sample.Width * sample.Height;
        Span<float> r = image.AsSpan(0, n), g = image.AsSpan(n, n), bl = image.AsSpan(2 * n, n);
        if (b != 1) for (int i = 0; i < 3 * n; i++) image[i] = Math.Clamp(image[i] * b, 0f, 1f);
        if (c != 1)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += Grey(r[i], g[i], bl[i]);
            float mean = (float)(sum / n);
            for (int i = 0; i < 3 * n; i++) image[i] = Math.Clamp(mean + (image[i] - mean) * c, 0f, 1f);
        }
        if (s != 1)
            for (int i = 0; i < n; i++)
            {
                float grey = Grey(r[i], g[i], bl[i]);
                r[i] = Math.Clamp(grey + (r[i] - grey) * s, 0f, 1f);
                g[i] = Math.Clamp(grey + (g[i] - grey) * s, 0f, 1f);
                bl[i] = Math.Clamp(grey + (bl[i] - grey) * s, 0f, 1f);
            }
        return sample.With(sample.Width, sample.Height, image, sample.Label);
    }

    private static float Grey(float r, float g, float b) => 0.299f * r + 0.587f * g + 0.114f * b;

    private static float Factor(double strength, Rng rng)
    {
        double u = rng.NextDouble();
        return strength > 0 ? (float)(1 - strength + 2 * strength * u) : 1f;
    }
}
