// An 8-bit RGB picture for reports: made from a planar float image in [0, 1] (the [3, H, W] layout the models take)
// or from a decoded Imaging.Image, shrunk to thumbnail size (box filter for photographs, nearest neighbour for label
// maps, whose colours must stay exact), and embedded as a base64 PNG data URI.
using SegLab.Imaging;

namespace SegLab.Reports;

/// <summary>How an image is resized.</summary>
public enum ImageScaling
{
    /// <summary>Average of the source pixels each target pixel covers (photographs, blends).</summary>
    Box,

    /// <summary>The source pixel under each target pixel's centre (label maps, error maps: colours stay exact).</summary>
    Nearest,
}

/// <summary>An RGB image with interleaved 8-bit samples, ready to embed in a report.</summary>
public sealed class ReportImage
{
    private string? dataUri;

    /// <summary>Creates an image from interleaved RGB bytes.</summary>
    /// <param name="width">Width in pixels (positive).</param>
    /// <param name="height">Height in pixels (positive).</param>
    /// <param name="rgb">width * height * 3 bytes, row-major, interleaved.</param>
    /// <param name="scaling">How the image is shrunk to a thumbnail.</param>
    public ReportImage(int width, int height, byte[] rgb, ImageScaling scaling = ImageScaling.Box)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (width <= 0 || height <= 0) throw new ArgumentException($"ReportImage: size {width}x{height} must be positive.");
        if (rgb.LongLength != 3L * width * height) throw new ArgumentException($"ReportImage: {rgb.LongLength} bytes for {width}x{height} RGB; expected {3L * width * height}.");
        Width = width;
        Height = height;
        Rgb = rgb;
        Scaling = scaling;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The samples: interleaved RGB, row-major.</summary>
    public byte[] Rgb { get; }

    /// <summary>How this image is shrunk to a thumbnail.</summary>
    public ImageScaling Scaling { get; }

    /// <summary>An image from planar RGB floats in [0, 1] (layout [3, H, W]; values clamped, NaN drawn as 0).</summary>
    /// <param name="planarRgb">3 * height * width values: the R plane, then G, then B.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static ReportImage FromRgb(float[] planarRgb, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(planarRgb);
        CheckPlanar(planarRgb.LongLength, width, height, "FromRgb");
        int n = width * height;
        var rgb = new byte[3 * n];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < n; i++) rgb[3 * i + c] = ToByte(planarRgb[c * n + i]);
        return new ReportImage(width, height, rgb);
    }

    /// <summary>An image from a decoded image: grey is replicated, palettes expanded, alpha dropped.</summary>
    /// <param name="image">The image.</param>
    public static ReportImage FromImage(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var src = image.ExpandPalette(withAlpha: false);
        int n = src.Width * src.Height, ch = src.Channels;
        var rgb = new byte[3 * n];
        for (int i = 0; i < n; i++)
        {
            var p = src.Pixels.AsSpan(i * ch, ch);
            if (ch >= 3) { rgb[3 * i] = p[0]; rgb[3 * i + 1] = p[1]; rgb[3 * i + 2] = p[2]; }
            else rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = p[0];
        }
        return new ReportImage(src.Width, src.Height, rgb, image.IsPalette ? ImageScaling.Nearest : ImageScaling.Box);
    }

    /// <summary>The colour of pixel (<paramref name="x"/>, <paramref name="y"/>).</summary>
    /// <param name="x">Column.</param>
    /// <param name="y">Row.</param>
    public (byte R, byte G, byte B) Pixel(int x, int y)
    {
        int o = 3 * (y * Width + x);
        return (Rgb[o], Rgb[o + 1], Rgb[o + 2]);
    }

    /// <summary>This image shrunk (never enlarged), keeping its aspect ratio, to fit <paramref name="maxWidth"/> x <paramref name="maxHeight"/>.</summary>
    /// <param name="maxWidth">Largest width in pixels.</param>
    /// <param name="maxHeight">Largest height in pixels (default: no limit).</param>
    public ReportImage Downscale(int maxWidth, int maxHeight = int.MaxValue)
    {
        if (maxWidth <= 0 || maxHeight <= 0) throw new ArgumentException($"ReportImage.Downscale: limits {maxWidth}x{maxHeight} must be positive.");
        double f = Math.Min(1.0, Math.Min((double)maxWidth / Width, (double)maxHeight / Height));
        if (f >= 1.0) return this;
        return Resize(Math.Max(1, (int)Math.Round(Width * f)), Math.Max(1, (int)Math.Round(Height * f)), Scaling);
    }

    /// <summary>This image resampled to the given size.</summary>
    /// <param name="width">Target width.</param>
    /// <param name="height">Target height.</param>
    /// <param name="mode">Box average or nearest neighbour.</param>
    public ReportImage Resize(int width, int height, ImageScaling mode)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"ReportImage.Resize: size {width}x{height} must be positive.");
        var rgb = new byte[3 * width * height];
        for (int y = 0; y < height; y++)
        {
            int sy0 = (int)((long)y * Height / height), sy1 = Math.Max(sy0 + 1, (int)((long)(y + 1) * Height / height));
            int ny = (int)(((2L * y + 1) * Height) / (2L * height));
            for (int x = 0; x < width; x++)
            {
                int o = 3 * (y * width + x);
                if (mode == ImageScaling.Nearest)
                {
                    int nx = (int)(((2L * x + 1) * Width) / (2L * width));
                    Rgb.AsSpan(3 * (ny * Width + nx), 3).CopyTo(rgb.AsSpan(o, 3));
                    continue;
                }
                int sx0 = (int)((long)x * Width / width), sx1 = Math.Max(sx0 + 1, (int)((long)(x + 1) * Width / width));
                long r = 0, g = 0, b = 0;
                for (int sy = sy0; sy < sy1; sy++)
                    for (int sx = sx0; sx < sx1; sx++)
                    {
                        int s = 3 * (sy * Width + sx);
                        r += Rgb[s]; g += Rgb[s + 1]; b += Rgb[s + 2];
                    }
                long count = (long)(sy1 - sy0) * (sx1 - sx0);
                rgb[o] = (byte)((r + count / 2) / count);
                rgb[o + 1] = (byte)((g + count / 2) / count);
                rgb[o + 2] = (byte)((b + count / 2) / count);
            }
        }
        return new ReportImage(width, height, rgb, Scaling);
    }

    /// <summary>This image as an 8-bit RGB <see cref="Image"/>.</summary>
    public Image ToImage() => new(Width, Height, 3, (byte[])Rgb.Clone());

    /// <summary>This image encoded as PNG.</summary>
    public byte[] ToPng() => Png.Encode(new Image(Width, Height, 3, Rgb));

    /// <summary>This image as a "data:image/png;base64,..." URI (encoded once, then kept: the samples are not to be changed afterwards).</summary>
    public string ToDataUri() => dataUri ??= "data:image/png;base64," + Convert.ToBase64String(ToPng());

    /// <summary>A float in [0, 1] as a byte (clamped, rounded, NaN as 0).</summary>
    internal static byte ToByte(double v) => double.IsNaN(v) ? (byte)0 : (byte)Math.Round(Math.Clamp(v, 0.0, 1.0) * 255.0);

    /// <summary>Checks that a planar [3, H, W] buffer has the right length.</summary>
    internal static void CheckPlanar(long length, int width, int height, string what)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"ReportImage.{what}: size {width}x{height} must be positive.");
        if (length != 3L * width * height) throw new ArgumentException($"ReportImage.{what}: {length} values for [3, {height}, {width}]; expected {3L * width * height}.");
    }
}
