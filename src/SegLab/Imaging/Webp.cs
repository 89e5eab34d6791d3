// WebP decoding and encoding through SkiaSharp (libwebp inside): lossless at quality 100 (exact round trips of RGB and
// of RGBA whose alpha is not 0), lossy below; opaque images decode to RGB, others to RGBA (WebP has no grey).
using SegLab.Engine.IO;

namespace SegLab.Imaging;

/// <summary>Decodes and encodes WebP images.</summary>
public static class Webp
{
    /// <summary>Decodes a WebP held in memory to RGB or RGBA.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="ImageException">The data is not a valid WebP, or SkiaSharp's native library does not load.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string? name = null) => SkiaCodec.Decode(data, ImageFormat.Webp, name);

    /// <summary>Encodes an image as WebP: lossless at quality 100, lossy below.</summary>
    /// <param name="image">A grey, RGB, RGBA or palette 8-bit image.</param>
    /// <param name="quality">1..100; 100 is lossless.</param>
    public static byte[] Encode(Image image, int quality = 100) => SkiaCodec.Encode(image, ImageFormat.Webp, quality);

    /// <summary>Encodes and writes a WebP atomically.</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="image">The image.</param>
    /// <param name="quality">1..100; 100 is lossless.</param>
    public static void Save(string path, Image image, int quality = 100) => AtomicFile.Write(path, Encode(image, quality));
}
