// Image decode time for `seglab bench images`: each file of a folder is read into memory once, then decoded by
// SegLab's own codec (PNG, PGM/PPM) and by SkiaSharp in turn (A B A B ..., so that drift of a shared machine hits both),
// and the median per image is kept; the table gives the median over images. Also checks both give the same pixels.
using System.Diagnostics;
using SegLab.Imaging;

namespace SegLab.Cli.Bench;

/// <summary>Decode times of one codec over a folder.</summary>
/// <param name="Codec">"own", "skiasharp", or "imageio" (what ImageIO.Decode does: the per-file choice of PngDecoding, with its chunk check).</param>
/// <param name="Images">Files it decoded.</param>
/// <param name="MedianMs">Median over images of each image's median decode time.</param>
/// <param name="MinMs">Fastest image (its median).</param>
/// <param name="MaxMs">Slowest image (its median).</param>
/// <param name="Megapixels">Mean pixels per image, in millions.</param>
/// <param name="Repeats">Timed decodes per image.</param>
internal sealed record ImageDecodeRecord(string Codec, int Images, double MedianMs, double MinMs, double MaxMs, double Megapixels, int Repeats);

/// <summary>The outcome of a run: one record per codec and how the two decodes compared.</summary>
/// <param name="Records">Own codec (when any file has one), SkiaSharp (when any file has it), then ImageIO's choice.</param>
/// <param name="Compared">Files decoded by both.</param>
/// <param name="Identical">Files of those whose size, channels and samples were equal.</param>
/// <param name="Formats">Files per format.</param>
internal sealed record ImageDecodeResult(IReadOnlyList<ImageDecodeRecord> Records, int Compared, int Identical, IReadOnlyDictionary<string, int> Formats);

/// <summary>Times the own codec against SkiaSharp.</summary>
internal static class ImageDecodeBench
{
    /// <summary>The image files of <paramref name="dir"/> (by extension, sorted by name), at most <paramref name="limit"/> (0: all).</summary>
    public static IReadOnlyList<string> Files(string dir, int limit)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"--data: the folder '{dir}' does not exist.");
        var files = Directory.EnumerateFiles(dir).Where(f => ImageIO.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new FileNotFoundException($"--data: no image files ({string.Join(", ", ImageIO.Extensions)}) in '{dir}'.");
        return limit > 0 ? files.Take(limit).ToList() : files;
    }

    /// <summary>Decodes every file <paramref name="repeats"/> times with each codec, after one warm-up decode each.</summary>
    /// <param name="files">The files.</param>
    /// <param name="repeats">Timed decodes per image and codec.</param>
    /// <param name="progress">Optional status lines.</param>
    public static ImageDecodeResult Run(IReadOnlyList<string> files, int repeats, IProgress<string>? progress = null)
    {
        if (repeats < 1) throw new ArgumentException($"--repeats must be at least 1, got {repeats}.");
        var own = new List<double>();
        var skia = new List<double>();
        var auto = new List<double>();
        long ownPixels = 0, skiaPixels = 0;
        int compared = 0, identical = 0;
        var formats = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var times = (Own: new double[repeats], Skia: new double[repeats], Auto: new double[repeats]);
        Warm(files[0]);
        for (int f = 0; f < files.Count; f++)
        {
            var data = File.ReadAllBytes(files[f]);
            var format = ImageIO.Detect(data);
            formats[format.ToString()] = formats.GetValueOrDefault(format.ToString()) + 1;
            Func<Image>? ownDecode = format switch
            {
                ImageFormat.Png => () => Png.Decode(data, files[f]),
                ImageFormat.Pnm => () => Pnm.Decode(data, files[f]),
                _ => null,
            };
            bool skiaCan = format is ImageFormat.Png or ImageFormat.Jpeg or ImageFormat.Webp or ImageFormat.Bmp;
            progress?.Report($"{Path.GetFileName(files[f])} ({f + 1}/{files.Count})");
            var ownImage = ownDecode?.Invoke();
            var skiaImage = skiaCan ? SkiaCodec.Decode(data, format, files[f]) : null;
            for (int r = 0; r < repeats; r++)
            {
                if (ownDecode is not null) times.Own[r] = Time(() => ownDecode());
                if (skiaCan) times.Skia[r] = Time(() => SkiaCodec.Decode(data, format, files[f]));
                times.Auto[r] = Time(() => ImageIO.Decode(data, files[f]));
            }
            auto.Add(Median(times.Auto));
            if (ownImage is not null)
            {
                own.Add(Median(times.Own));
                ownPixels += (long)ownImage.Width * ownImage.Height;
            }
            if (skiaImage is not null)
            {
                skia.Add(Median(times.Skia));
                skiaPixels += (long)skiaImage.Width * skiaImage.Height;
            }
            if (ownImage is not null && skiaImage is not null)
            {
                compared++;
                if (Same(ownImage, skiaImage)) identical++;
            }
        }
        var records = new List<ImageDecodeRecord>();
        if (own.Count > 0) records.Add(Record("own", own, ownPixels, repeats));
        if (skia.Count > 0) records.Add(Record("skiasharp", skia, skiaPixels, repeats));
        records.Add(Record("imageio", auto, skiaPixels > 0 ? skiaPixels : ownPixels, repeats));
        return new ImageDecodeResult(records, compared, identical, formats);
    }

    // Settles the JIT (tiered compilation) on both paths before anything is timed: 5 decodes of the first file each.
    private static void Warm(string file)
    {
        var data = File.ReadAllBytes(file);
        var format = ImageIO.Detect(data);
        for (int i = 0; i < 5; i++)
        {
            if (format == ImageFormat.Png) Png.Decode(data, file);
            if (format is ImageFormat.Png or ImageFormat.Jpeg or ImageFormat.Webp or ImageFormat.Bmp) SkiaCodec.Decode(data, format, file);
            ImageIO.Decode(data, file);
        }
    }

    /// <summary>Whether two decodes agree exactly: size, channels and every 8-bit sample (palette images by their colours).</summary>
    public static bool Same(Image a, Image b)
    {
        if (a.IsPalette) a = a.ExpandPalette();
        if (b.IsPalette) b = b.ExpandPalette();
        return a.Width == b.Width && a.Height == b.Height && a.Channels == b.Channels && a.Pixels.AsSpan().SequenceEqual(b.Pixels);
    }

    private static double Time(Func<Image> decode)
    {
        long t0 = Stopwatch.GetTimestamp();
        GC.KeepAlive(decode());
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }

    private static ImageDecodeRecord Record(string codec, List<double> perImage, long pixels, int repeats) =>
        new(codec, perImage.Count, Median(perImage), perImage.Min(), perImage.Max(), pixels / 1e6 / perImage.Count, repeats);
}
