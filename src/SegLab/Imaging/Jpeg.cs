// JPEG decoding and encoding through SkiaSharp (libjpeg-turbo inside, shipped with the NuGet package: no apt-get step).
// Grey JPEGs give one channel, every other colour space RGB; no colour management. Truncated data is an error, never
// a grey-filled image. Replaced the earlier libturbojpeg P/Invoke (JpegNative), which needed a system package.
using SegLab.Engine.IO;

namespace SegLab.Imaging;

/// <summary>Decodes and encodes JPEG images.</summary>
public static class Jpeg
{
    /// <summary>Whether JPEG decoding works here (SkiaSharp's native library loads).</summary>
    public static bool IsAvailable => SkiaCodec.IsAvailable;

    /// <summary>Reads and decodes a JPEG file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ImageException">The file is not a valid JPEG.</exception>
    public static Image Load(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>Decodes a JPEG held in memory to 8-bit grey (grey JPEGs) or RGB (all others).</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="ImageException">The data is not a valid JPEG, or SkiaSharp's native library does not load.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string? name = null)
    {
        name ??= "<bytes>";
        if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8) throw new ImageException($"JPEG {name}: not a JPEG file (no SOI marker).");
        var image = SkiaCodec.Decode(data, ImageFormat.Jpeg, name);
        if (image.Channels == 4) throw new ImageException($"JPEG {name}: decoded with an alpha channel, which a JPEG cannot have.");
        return image;
    }

    /// <summary>Encodes an 8-bit grey or RGB image as a JPEG.</summary>
    /// <param name="image">A 1- or 3-channel 8-bit image.</param>
    /// <param name="quality">JPEG quality 1..100.</param>
    /// <param name="chroma">Chroma subsampling of RGB images (default none, 4:4:4).</param>
    public static byte[] Encode(Image image, int quality = 95, JpegSubsampling chroma = JpegSubsampling.None)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels is not (1 or 3) || image.IsPalette) throw new ArgumentException("JPEG: only grey or RGB images can be encoded.", nameof(image));
        return SkiaCodec.Encode(image, ImageFormat.Jpeg, quality, chroma);
    }

    /// <summary>Encodes and writes a JPEG atomically.</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="image">A grey or RGB image.</param>
    /// <param name="quality">JPEG quality 1..100.</param>
    public static void Save(string path, Image image, int quality = 95) => AtomicFile.Write(path, Encode(image, quality));
}
