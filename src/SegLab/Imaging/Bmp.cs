// BMP: decoding through SkiaSharp (Skia's BMP codec), encoding by this small writer, since Skia has no BMP encoder:
// uncompressed bottom-up files, 24-bit BGR (BITMAPINFOHEADER) for grey and RGB images, 32-bit BGRA with an alpha
// mask (BITMAPV4HEADER, BI_BITFIELDS: a plain 32-bit BMP's fourth byte is not alpha to most readers) for RGBA.
using System.Buffers.Binary;
using SegLab.Engine.IO;

namespace SegLab.Imaging;

/// <summary>Reads and writes BMP images.</summary>
public static class Bmp
{
    /// <summary>Decodes a BMP held in memory to RGB or RGBA.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="ImageException">The data is not a valid BMP, or SkiaSharp's native library does not load.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string? name = null) => SkiaCodec.Decode(data, ImageFormat.Bmp, name);

    /// <summary>Encodes an 8-bit grey, RGB, RGBA or palette image as an uncompressed BMP (24-bit, or 32-bit with alpha).</summary>
    /// <param name="image">The image.</param>
    public static byte[] Encode(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.IsPalette) image = image.ExpandPalette();
        if (image.Channels == 2) throw new ArgumentException("BMP: grey + alpha images cannot be encoded; expand them to RGBA.", nameof(image));
        bool alpha = image.Channels == 4;
        int bytesPerPixel = alpha ? 4 : 3, header = alpha ? 108 : 40, offset = 14 + header;
        int row = (image.Width * bytesPerPixel + 3) & ~3;
        long size = offset + (long)row * image.Height;
        if (size > int.MaxValue) throw new ArgumentException($"BMP: a {image.Width}x{image.Height} image is too large for a BMP file.", nameof(image));
        var file = new byte[size];
        var s = file.AsSpan();
        s[0] = (byte)'B';
        s[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(s[2..], (int)size);
        BinaryPrimitives.WriteInt32LittleEndian(s[10..], offset);
        BinaryPrimitives.WriteInt32LittleEndian(s[14..], header);
        BinaryPrimitives.WriteInt32LittleEndian(s[18..], image.Width);
        BinaryPrimitives.WriteInt32LittleEndian(s[22..], image.Height); // positive: bottom-up rows
        BinaryPrimitives.WriteInt16LittleEndian(s[26..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(s[28..], (short)(bytesPerPixel * 8));
        BinaryPrimitives.WriteInt32LittleEndian(s[30..], alpha ? 3 : 0); // BI_BITFIELDS or BI_RGB
        BinaryPrimitives.WriteInt32LittleEndian(s[34..], row * image.Height);
        BinaryPrimitives.WriteInt32LittleEndian(s[38..], 2835); // 72 dpi
        BinaryPrimitives.WriteInt32LittleEndian(s[42..], 2835);
        if (alpha)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[54..], 0x00FF0000); // red, green, blue, alpha masks
            BinaryPrimitives.WriteUInt32LittleEndian(s[58..], 0x0000FF00);
            BinaryPrimitives.WriteUInt32LittleEndian(s[62..], 0x000000FF);
            BinaryPrimitives.WriteUInt32LittleEndian(s[66..], 0xFF000000);
            BinaryPrimitives.WriteUInt32LittleEndian(s[70..], 0x73524742); // 'sRGB'; the endpoints and gammas stay 0
        }
        int c = image.Channels;
        for (int y = 0; y < image.Height; y++)
        {
            int o = offset + (image.Height - 1 - y) * row;
            for (int x = 0; x < image.Width; x++, o += bytesPerPixel)
            {
                int i = (y * image.Width + x) * c;
                byte r = image.Pixels[i], g = c == 1 ? r : image.Pixels[i + 1], b = c == 1 ? r : image.Pixels[i + 2];
                file[o] = b;
                file[o + 1] = g;
                file[o + 2] = r;
                if (alpha) file[o + 3] = image.Pixels[i + 3];
            }
        }
        return file;
    }

    /// <summary>Encodes and writes a BMP atomically.</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="image">The image.</param>
    public static void Save(string path, Image image) => AtomicFile.Write(path, Encode(image));
}
