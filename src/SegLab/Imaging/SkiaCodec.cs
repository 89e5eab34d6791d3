// PNG, JPEG, WebP and BMP decoding (and PNG, JPEG, WebP encoding) through SkiaSharp: libpng, libjpeg-turbo, libwebp
// and Skia's BMP codec, the native decoders the world fuzzes, shipped inside the NuGet package (no apt-get). Pixels come
// back unpremultiplied and without colour management (no destination colour space is asked for), as 8-bit grey (grey
// sources), RGB (opaque) or RGBA; every failure, truncated input included, is an ImageException that names the file.
using System.Runtime.InteropServices;
using SkiaSharp;

namespace SegLab.Imaging;

/// <summary>Decodes and encodes images with SkiaSharp.</summary>
public static class SkiaCodec
{
    /// <summary>Largest accepted number of pixels (width * height) whatever the file length.</summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>Pixels any file may declare before its length is weighed (1 Mpx: 4 MB as RGBA).</summary>
    public const long FloorPixels = 1L << 20;

    private static readonly Lazy<string?> LoadFailure = new(Probe);

    /// <summary>Tests set this to see this thread behave as on a machine where SkiaSharp's native library does not load.</summary>
    [ThreadStatic]
    internal static bool SimulateMissing;

    /// <summary>Whether SkiaSharp's native library (libSkiaSharp) loads on this machine.</summary>
    public static bool IsAvailable => LoadError is null;

    /// <summary>Why libSkiaSharp does not load, or null when it does.</summary>
    public static string? LoadError => SimulateMissing ? "simulated for a test" : LoadFailure.Value;

    /// <summary>
    /// The most pixels a <paramref name="fileLength"/>-byte file of <paramref name="format"/> is allowed to declare:
    /// <see cref="FloorPixels"/> plus what the format's coding can pack into that many bytes (deflate 1032:1 at
    /// up to 8 pixels a byte for PNG; at least one Huffman bit per 8x8 block for JPEG, with a factor 2 to spare; RLE8
    /// runs of 255 pixels in 2 bytes for BMP; a policy of 4096 pixels a byte for WebP, whose lossless coding has no
    /// bound), at most <see cref="MaxPixels"/>. A damaged header cannot make a small file allocate gigabytes.
    /// </summary>
    /// <param name="format">The file's format.</param>
    /// <param name="fileLength">Its length in bytes.</param>
    public static long PixelLimit(ImageFormat format, long fileLength)
    {
        long perByte = format switch
        {
            ImageFormat.Png => 8 * 1032,
            ImageFormat.Jpeg => 1024,
            ImageFormat.Bmp => 128,
            _ => 4096,
        };
        return Math.Min(MaxPixels, FloorPixels + perByte * Math.Max(0, fileLength));
    }

    /// <summary>Decodes an image held in memory to 8-bit grey (grey sources), RGB (opaque) or RGBA (with alpha).</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="format">The format the caller expects (named in messages and used for the size limit).</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="ImageException">The data cannot be decoded, or libSkiaSharp does not load; the message names the file.</exception>
    public static unsafe Image Decode(ReadOnlySpan<byte> data, ImageFormat format, string? name = null)
    {
        name ??= "<bytes>";
        string label = Label(format);
        if (data.IsEmpty) throw new ImageException($"{label} {name}: the file is empty.");
        if (LoadError is { } why) throw Missing(label, name, why);
        try
        {
            fixed (byte* p = data)
            {
                // The SKData refers to the pinned bytes without copying them; the codec and its stream live inside this block.
                using var skData = SKData.Create((nint)p, data.Length)
                    ?? throw new ImageException($"{label} {name}: SkiaSharp could not wrap the {data.Length} bytes.");
                using var codec = SKCodec.Create(new SKMemoryStream(skData), out var created)
                    ?? throw new ImageException($"{label} {name}: cannot decode ({Describe(created)}).");
                if (Detected(codec.EncodedFormat) is { } actual && actual != format)
                    throw new ImageException($"{label} {name}: the data is {Label(actual)}, not {label}.");
                return Pixels(codec, label, name, PixelLimit(format, data.Length));
            }
        }
        catch (ImageException) { throw; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or BadImageFormatException or MarshalDirectiveException)
        {
            throw Missing(label, name, e.Message);
        }
    }

    private static unsafe Image Pixels(SKCodec codec, string label, string name, long limit)
    {
        var info = codec.Info;
        int width = info.Width, height = info.Height;
        if (width <= 0 || height <= 0) throw new ImageException($"{label} {name}: size {width}x{height} is not positive.");
        if ((long)width * height > limit)
            throw new ImageException($"{label} {name}: declares {width}x{height} pixels, more than the {limit} that a file of this length may hold (limit: SkiaCodec.PixelLimit).");
        bool grey = info.ColorType == SKColorType.Gray8;
        bool opaque = info.AlphaType == SKAlphaType.Opaque;
        var target = new SKImageInfo(width, height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888, grey ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        var raw = new byte[(long)target.RowBytes * height];
        SKCodecResult result;
        fixed (byte* dst = raw) result = codec.GetPixels(target, (nint)dst);
        if (result != SKCodecResult.Success) throw new ImageException($"{label} {name}: cannot decode the pixels ({Describe(result)}).");
        if (grey) return new Image(width, height, 1, raw);
        if (!opaque) return new Image(width, height, 4, raw);
        var rgb = new byte[(long)width * height * 3];
        for (long i = 0, o = 0; o < rgb.LongLength; i += 4, o += 3)
        {
            rgb[o] = raw[i];
            rgb[o + 1] = raw[i + 1];
            rgb[o + 2] = raw[i + 2];
        }
        return new Image(width, height, 3, rgb);
    }

    /// <summary>Encodes an 8-bit grey, RGB or RGBA image (palette images are expanded) as PNG, JPEG or WebP.</summary>
    /// <param name="image">The image (its 8-bit samples; 16-bit sources are written from <see cref="Image.Pixels"/>).</param>
    /// <param name="format">PNG, JPEG or WebP.</param>
    /// <param name="quality">JPEG quality 1..100; WebP: 100 is lossless, below it lossy at that quality; ignored for PNG.</param>
    /// <param name="chroma">JPEG chroma subsampling of colour images.</param>
    /// <exception cref="ArgumentException">The image or format cannot be encoded so.</exception>
    /// <exception cref="ImageException">libSkiaSharp does not load, or it failed to encode.</exception>
    public static unsafe byte[] Encode(Image image, ImageFormat format, int quality = 95, JpegSubsampling chroma = JpegSubsampling.None)
    {
        ArgumentNullException.ThrowIfNull(image);
        string label = Label(format);
        if (format is not (ImageFormat.Png or ImageFormat.Jpeg or ImageFormat.Webp))
            throw new ArgumentException($"SkiaCodec: cannot encode {label} (PNG, JPEG or WebP).", nameof(format));
        if (quality is < 1 or > 100) throw new ArgumentException($"{label}: quality {quality} is outside 1..100.", nameof(quality));
        if (image.IsPalette) image = image.ExpandPalette();
        if (image.Channels == 2) throw new ArgumentException($"{label}: grey + alpha images cannot be encoded here; expand them to RGBA.", nameof(image));
        if (format == ImageFormat.Jpeg && image.Channels == 4) throw new ArgumentException("JPEG: an RGBA image cannot be encoded (JPEG has no alpha channel).", nameof(image));
        if (LoadError is { } why) throw Missing(label, "<encoder>", why);
        bool grey = image.Channels == 1;
        byte[] pixels = grey || image.Channels == 4 ? image.Pixels : ToRgba(image);
        var info = new SKImageInfo(image.Width, image.Height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888,
            image.Channels == 4 ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        fixed (byte* p = pixels)
        {
            using var pixmap = new SKPixmap(info, (nint)p, info.RowBytes);
            using var encoded = format switch
            {
                ImageFormat.Jpeg => pixmap.Encode(new SKJpegEncoderOptions(quality, chroma switch
                {
                    JpegSubsampling.Half => SKJpegEncoderDownsample.Downsample422,
                    JpegSubsampling.Quarter => SKJpegEncoderDownsample.Downsample420,
                    _ => SKJpegEncoderDownsample.Downsample444,
                }, SKJpegEncoderAlphaOption.Ignore)),
                ImageFormat.Webp => pixmap.Encode(new SKWebpEncoderOptions(quality == 100 ? SKWebpEncoderCompression.Lossless : SKWebpEncoderCompression.Lossy, quality)),
                _ => pixmap.Encode(SKPngEncoderOptions.Default),
            } ?? throw new ImageException($"{label}: SkiaSharp could not encode a {image.Width}x{image.Height}x{image.Channels} image.");
            return encoded.ToArray();
        }
    }

    private static byte[] ToRgba(Image image)
    {
        var rgba = new byte[(long)image.Width * image.Height * 4];
        var rgb = image.Pixels;
        for (long i = 0, o = 0; i < rgb.LongLength; i += 3, o += 4)
        {
            rgba[o] = rgb[i];
            rgba[o + 1] = rgb[i + 1];
            rgba[o + 2] = rgb[i + 2];
            rgba[o + 3] = 255;
        }
        return rgba;
    }

    private static ImageException Missing(string label, string name, string why) =>
        new($"{label} {name}: cannot decode: SkiaSharp's native library (libSkiaSharp) does not load here ({why}). PNG labels and PPM/PGM still work: they are decoded by SegLab's own managed code.");

    private static string? Probe()
    {
        try
        {
            using var data = SKData.CreateCopy(new byte[] { 0 });
            return data is null ? "SKData.CreateCopy returned null" : null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"{e.GetType().Name}: {(e.InnerException ?? e).Message}";
        }
    }

    private static ImageFormat? Detected(SKEncodedImageFormat format) => format switch
    {
        SKEncodedImageFormat.Png => ImageFormat.Png,
        SKEncodedImageFormat.Jpeg => ImageFormat.Jpeg,
        SKEncodedImageFormat.Webp => ImageFormat.Webp,
        SKEncodedImageFormat.Bmp => ImageFormat.Bmp,
        _ => null,
    };

    private static string Label(ImageFormat format) => format switch
    {
        ImageFormat.Png => "PNG",
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.Webp => "WebP",
        ImageFormat.Bmp => "BMP",
        ImageFormat.Pnm => "PNM",
        _ => "Image",
    };

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "truncated data",
        SKCodecResult.ErrorInInput => "malformed data",
        SKCodecResult.Unimplemented => "an unsupported format or feature",
        SKCodecResult.InvalidInput => "invalid data",
        SKCodecResult.CouldNotRewind => "the stream could not be rewound",
        _ => result.ToString(),
    };
}

/// <summary>Chroma subsampling of a colour JPEG.</summary>
public enum JpegSubsampling
{
    /// <summary>4:4:4: full-resolution colour.</summary>
    None,

    /// <summary>4:2:2: colour at half the horizontal resolution.</summary>
    Half,

    /// <summary>4:2:0: colour at half the resolution both ways.</summary>
    Quarter,
}
