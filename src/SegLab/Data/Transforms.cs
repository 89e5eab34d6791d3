// Sample transforms: one interface taking (sample, Rng) and returning a new sample, and the geometric ones that
// change the size: identity, resize, fixed and random scale (bilinear image as PyTorch's interpolate with align_corners=false,
// nearest label so that ids stay ids), and composition. Random choices come only from the Rng given, so a fixed
// seed gives the same samples on every run.
using SegLab.Engine;

namespace SegLab.Data;

/// <summary>A transform of one sample; random choices are drawn from the given generator only.</summary>
public interface ISampleTransform
{
    /// <summary>Returns the transformed sample (a new one, or the input when nothing changes); the input is not modified.</summary>
    /// <param name="sample">The sample.</param>
    /// <param name="rng">Source of every random choice.</param>
    SegmentationSample Apply(SegmentationSample sample, Rng rng);
}

/// <summary>Leaves the sample as it is (evaluation at full size).</summary>
public sealed class Identity : ISampleTransform
{
    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng) => sample;
}

/// <summary>Applies transforms one after another.</summary>
/// <param name="transforms">The transforms, in order.</param>
public sealed class Compose(params ISampleTransform[] transforms) : ISampleTransform
{
    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<ISampleTransform> Transforms { get; } = [.. transforms];

    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng)
    {
        foreach (var t in Transforms) sample = t.Apply(sample, rng);
        return sample;
    }
}

/// <summary>Resizes to a fixed size: bilinear image (align_corners=false), nearest label.</summary>
public sealed class Resize : ISampleTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="width">Output width, positive.</param>
    /// <param name="height">Output height, positive.</param>
    public Resize(int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"Resize: size {width}x{height} must be positive.");
        Width = width;
        Height = height;
    }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng) => Resampling.Resize(sample, Width, Height);
}

/// <summary>Scales by a fixed factor (evaluation at a reduced size): bilinear image, nearest label, sizes rounded.</summary>
public sealed class ScaleBy : ISampleTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="factor">The factor, positive (1: unchanged).</param>
    public ScaleBy(double factor)
    {
        if (!(factor > 0) || double.IsInfinity(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "must be positive");
        Factor = factor;
    }

    /// <summary>The factor.</summary>
    public double Factor { get; }

    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return Resampling.Resize(sample, Resampling.Scaled(sample.Width, Factor), Resampling.Scaled(sample.Height, Factor));
    }
}

/// <summary>Scales by a factor drawn uniformly from [Min, Max] (both sides alike): bilinear image, nearest label.</summary>
public sealed class RandomScale : ISampleTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="min">Smallest factor, positive.</param>
    /// <param name="max">Largest factor, at least <paramref name="min"/>.</param>
    public RandomScale(double min, double max)
    {
        if (!(min > 0) || !(max >= min)) throw new ArgumentException($"RandomScale: need 0 < min <= max, got [{min}, {max}].");
        Min = min;
        Max = max;
    }

    /// <summary>Smallest factor.</summary>
    public double Min { get; }

    /// <summary>Largest factor.</summary>
    public double Max { get; }

    /// <inheritdoc/>
    public SegmentationSample Apply(SegmentationSample sample, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(rng);
        double s = Min + (Max - Min) * rng.NextDouble();
        return Resampling.Resize(sample, Resampling.Scaled(sample.Width, s), Resampling.Scaled(sample.Height, s));
    }
}

/// <summary>Resampling of planar images and label maps.</summary>
internal static class Resampling
{
    /// <summary>round(size * factor), halves away from zero, at least 1.</summary>
    public static int Scaled(int size, double factor) => Math.Max(1, (int)Math.Round(size * factor, MidpointRounding.AwayFromZero));

    /// <summary>The sample at a new size (the input itself when the size is unchanged).</summary>
    public static SegmentationSample Resize(SegmentationSample sample, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (width == sample.Width && height == sample.Height) return sample;
        var image = Bilinear(sample.Image, 3, sample.Width, sample.Height, width, height);
        var label = sample.Label is null ? null : Nearest(sample.Label, sample.Width, sample.Height, width, height);
        return sample.With(width, height, image, label);
    }

    /// <summary>Bilinear resize of planar channels, as PyTorch's interpolate(mode="bilinear", align_corners=False).</summary>
    public static float[] Bilinear(float[] src, int channels, int inW, int inH, int outW, int outH)
    {
        var dst = new float[channels * outW * outH];
        var (x0, x1, fx) = Taps(inW, outW);
        var (y0, y1, fy) = Taps(inH, outH);
        for (int c = 0; c < channels; c++)
        {
            var plane = src.AsSpan(c * inW * inH, inW * inH);
            var output = dst.AsSpan(c * outW * outH, outW * outH);
            for (int y = 0; y < outH; y++)
            {
                var top = plane.Slice(y0[y] * inW, inW);
                var bottom = plane.Slice(y1[y] * inW, inW);
                float wy = fy[y];
                for (int x = 0; x < outW; x++)
                {
                    float t = top[x0[x]] + (top[x1[x]] - top[x0[x]]) * fx[x];
                    float b = bottom[x0[x]] + (bottom[x1[x]] - bottom[x0[x]]) * fx[x];
                    output[y * outW + x] = t + (b - t) * wy;
                }
            }
        }
        return dst;
    }

    /// <summary>Nearest resize of a label map, as PyTorch's interpolate(mode="nearest"): source index floor(i * in / out).</summary>
    public static int[] Nearest(int[] src, int inW, int inH, int outW, int outH)
    {
        var dst = new int[outW * outH];
        for (int y = 0; y < outH; y++)
        {
            int sy = Math.Min((int)((long)y * inH / outH), inH - 1);
            for (int x = 0; x < outW; x++)
                dst[y * outW + x] = src[sy * inW + Math.Min((int)((long)x * inW / outW), inW - 1)];
        }
        return dst;
    }

    private static (int[] Lo, int[] Hi, float[] Frac) Taps(int inSize, int outSize)
    {
        var lo = new int[outSize];
        var hi = new int[outSize];
        var frac = new float[outSize];
        double scale = (double)inSize / outSize;
        for (int i = 0; i < outSize; i++)
        {
            double s = Math.Max((i + 0.5) * scale - 0.5, 0);
            int i0 = Math.Min((int)s, inSize - 1);
            lo[i] = i0;
            hi[i] = Math.Min(i0 + 1, inSize - 1);
            frac[i] = (float)(s - i0);
        }
        return (lo, hi, frac);
    }
}
