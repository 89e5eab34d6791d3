// Corruption speed for `seglab bench corruptions`: wall time of ImageCorruptions.Apply per corruption and severity on
// one image (a CamVid val image when the shared data is found, else a synthetic one) at the requested size, medians.
using System.Diagnostics;
using SegLab.Imaging.Corruptions;

namespace SegLab.Cli.Bench;

/// <summary>One corruption timing: median and range of wall milliseconds per call.</summary>
internal sealed record CorruptionRecord(string Corruption, int Severity, double MedianMs, double MinMs, double MaxMs, int Repeats);

/// <summary>Times every corruption at every severity.</summary>
internal static class CorruptionBench
{
    /// <summary>One warm-up call per corruption, then <paramref name="repeats"/> timed calls per severity.</summary>
    public static IReadOnlyList<CorruptionRecord> Run(float[] image, int h, int w, IReadOnlyList<string> names, int repeats, IProgress<string>? progress = null)
    {
        if (repeats < 1) throw new ArgumentException($"--repeats must be positive, got {repeats}.");
        var records = new List<CorruptionRecord>();
        foreach (var name in names)
        {
            progress?.Report(name);
            ImageCorruptions.Apply(name, 1, image, h, w, 0);
            for (int s = ImageCorruptions.MinSeverity; s <= ImageCorruptions.MaxSeverity; s++)
            {
                var times = new double[repeats];
                for (int k = 0; k < repeats; k++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    ImageCorruptions.Apply(name, s, image, h, w, (ulong)k);
                    times[k] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
                Array.Sort(times);
                records.Add(new CorruptionRecord(name, s, times[repeats / 2], times[0], times[^1], repeats));
            }
        }
        return records;
    }

    /// <summary>The image to corrupt: the given file, else the first CamVid val image, else smooth synthetic colours, at h x w.</summary>
    public static (float[] Image, string Input) Image(int h, int w, string? path)
    {
        path ??= CamVidImage();
        if (path is not null)
        {
            var img = SegLab.Imaging.ImageIO.Load(path);
            var planar = SegLab.Data.SampleDecoding.PlanarRgb(img);
            if (img.Height != h || img.Width != w)
            {
                var t = SegLab.Engine.Ops.Interpolate(SegLab.Engine.Tensor.FromArray(planar, 1, 3, img.Height, img.Width), h, w, SegLab.Engine.InterpolationMode.Bilinear);
                planar = t.ToArray();
            }
            return (planar, Path.GetFileName(path));
        }
        var synthetic = new float[3 * h * w];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    synthetic[(c * h + y) * w + x] = 0.5f + 0.4f * MathF.Sin((x * (c + 1) + y * (3 - c)) * 0.03f);
        return (synthetic, "synthetic image (smooth colour waves)");
    }

    private static string? CamVidImage()
    {
        var root = SegLab.SharedData.Root;
        if (root is null) return null;
        foreach (var dir in new[] { Path.Combine(root, "data", "camvid", "val"), Path.Combine(root, "camvid", "val") })
            if (Directory.Exists(dir)) return Directory.EnumerateFiles(dir, "*.png").Order().FirstOrDefault();
        return null;
    }
}
