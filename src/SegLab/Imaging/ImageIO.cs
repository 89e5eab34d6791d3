// One entry point for image files: the codec is chosen from the first bytes (PNG signature, JPEG SOI marker, RIFF
// WEBP, BM, PNM 'P' magic), never from the extension. PNG goes to SkiaSharp or SegLab's own codec as PngDecoding
// decides (own for palette indices, 16-bit and grey + alpha; see docs/data.md), JPEG, WebP and BMP to SkiaSharp.
// Every error is an ImageException that names the file; Save writes atomically (temporary file, flush, rename).
namespace SegLab.Imaging;

/// <summary>The format of a file judged by its first bytes.</summary>
public enum ImageFormat
{
    /// <summary>Not a supported image.</summary>
    Unknown,

    /// <summary>PNG (signature 89 'PNG').</summary>
    Png,

    /// <summary>JPEG (FF D8 FF).</summary>
    Jpeg,

    /// <summary>PGM or PPM ('P2', 'P3', 'P5', 'P6').</summary>
    Pnm,

    /// <summary>WebP ('RIFF' size 'WEBP').</summary>
    Webp,

    /// <summary>BMP ('BM').</summary>
    Bmp,
}

/// <summary>Loads and saves images of any supported format (PNG, JPEG, WebP, BMP, PGM/PPM).</summary>
public static class ImageIO
{
    /// <summary>File name extensions (lower case, with the dot) of the formats this class reads.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".pgm", ".pnm"];

    /// <summary>The format of data judged by its magic bytes.</summary>
    /// <param name="data">The start of a file (at least 3 bytes to tell anything).</param>
    public static ImageFormat Detect(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 4 && data[0] == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') return ImageFormat.Png;
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageFormat.Jpeg;
        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8)) return ImageFormat.Webp;
        if (data.Length >= 2 && data[0] == 'B' && data[1] == 'M') return ImageFormat.Bmp;
        if (data.Length >= 2 && data[0] == 'P' && data[1] is (byte)'2' or (byte)'3' or (byte)'5' or (byte)'6') return ImageFormat.Pnm;
        return ImageFormat.Unknown;
    }

    /// <summary>Reads and decodes an image file, choosing the codec from its content.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ImageException">The file cannot be read, is not a supported format, or is malformed; the message names it.</exception>
    public static Image Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageException($"Image {path}: cannot read the file ({e.Message}).", e);
        }
        return Decode(data, path);
    }

    /// <summary>Decodes an image held in memory, choosing the codec from its content.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="ImageException">The data is not a supported format or is malformed.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string? name = null)
    {
        name ??= "<bytes>";
        return Detect(data) switch
        {
            ImageFormat.Png => PngDecoding.Decode(data, name),
            ImageFormat.Jpeg => Jpeg.Decode(data, name),
            ImageFormat.Pnm => Pnm.Decode(data, name),
            ImageFormat.Webp => Webp.Decode(data, name),
            ImageFormat.Bmp => Bmp.Decode(data, name),
            _ => throw new ImageException(data.Length == 0
                ? $"Image {name}: the file is empty."
                : $"Image {name}: not a PNG, JPEG, WebP, BMP, PGM or PPM file (first bytes {Convert.ToHexString(data[..Math.Min(8, data.Length)])})."),
        };
    }

    /// <summary>Encodes and writes an image atomically, the format chosen by the extension (.png, .jpg/.jpeg, .webp, .bmp, .pgm, .ppm, .pnm).</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="image">The image (PNM: grey or RGB).</param>
    public static void Save(string path, Image image)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".png": Png.Save(path, image); break;
            case ".jpg" or ".jpeg": Jpeg.Save(path, image); break;
            case ".webp": Webp.Save(path, image); break;
            case ".bmp": Bmp.Save(path, image); break;
            case ".pgm" or ".ppm" or ".pnm": Pnm.Save(path, image); break;
            default: throw new ArgumentException($"Image {path}: cannot choose a format for this extension (use .png, .jpg, .webp, .bmp, .pgm, .ppm or .pnm).", nameof(path));
        }
    }
}
