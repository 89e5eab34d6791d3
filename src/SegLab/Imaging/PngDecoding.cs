// Which decoder reads a PNG: SkiaSharp (libpng; 1.6-2x faster on CamVid, docs/benchmarks.md) for the 8-bit grey, RGB
// and RGBA files it decodes exactly (the same samples as Png, checked on every CamVid image), SegLab's own Png for the
// rest (palette indices, 16-bit and grey + alpha samples, 1/2/4-bit grey, tRNS colour keys) and as the managed
// fallback. A file goes to SkiaSharp only once its chunks are whole and their CRCs right, and any SkiaSharp failure is
// decoded again by Png, so a bad file gives the same PngException as before whichever decoder was tried first.
using System.Buffers.Binary;

namespace SegLab.Imaging;

/// <summary>Which decoder ImageIO uses for PNG files.</summary>
public enum PngDecoder
{
    /// <summary>SkiaSharp where it decodes exactly and loads, else SegLab's own codec (the default).</summary>
    Auto,

    /// <summary>Always SegLab's own managed codec.</summary>
    Own,
}

/// <summary>Decodes PNG files with the decoder chosen per file (see <see cref="PngDecoder"/>).</summary>
public static class PngDecoding
{
    /// <summary>The environment variable that selects the decoder: <c>auto</c> (default) or <c>own</c>.</summary>
    public const string Variable = "SEGLAB_PNG_DECODER";

    private static readonly Lazy<PngDecoder> FromEnvironment = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));

    /// <summary>The decoder in force: from <see cref="Variable"/>, read once.</summary>
    public static PngDecoder Default => FromEnvironment.Value;

    /// <summary>Reads a value of <see cref="Variable"/> (null or empty: auto).</summary>
    /// <param name="value">The variable's value.</param>
    /// <exception cref="ArgumentException">Neither auto nor own.</exception>
    public static PngDecoder Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => PngDecoder.Auto,
        "own" => PngDecoder.Own,
        _ => throw new ArgumentException($"{Variable}={value}: expected auto or own."),
    };

    /// <summary>Decodes a PNG held in memory with <paramref name="decoder"/> (default: <see cref="Default"/>).</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">Name used in error messages.</param>
    /// <param name="decoder">The decoder policy.</param>
    /// <exception cref="PngException">The data is not a valid, supported PNG.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string? name = null, PngDecoder? decoder = null)
    {
        name ??= "<bytes>";
        if ((decoder ?? Default) == PngDecoder.Own || !SkiaCodec.IsAvailable || !SkiaDecodesExactly(data)) return Png.Decode(data, name);
        try
        {
            var image = SkiaCodec.Decode(data, ImageFormat.Png, name);
            if (image.Channels == ChannelsOf(data[25])) return image;
        }
        catch (ImageException)
        {
            // Decoded again below: Png's own message (a PngException) is the documented error.
        }
        return Png.Decode(data, name);
    }

    /// <summary>
    /// Whether <paramref name="data"/> is a structurally sound PNG (chunk lengths within the file, every CRC right, IHDR
    /// first, IEND reached) of 8-bit grey, RGB or RGBA (interlaced or not) without a tRNS chunk: the files whose
    /// samples SkiaSharp returns exactly as Png does.
    /// </summary>
    /// <param name="data">The whole file.</param>
    public static bool SkiaDecodesExactly(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> signature = [137, 80, 78, 71, 13, 10, 26, 10];
        if (data.Length < 8 + 25 || !data[..8].SequenceEqual(signature)) return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(data[8..]) != 13 || !data.Slice(12, 4).SequenceEqual("IHDR"u8)) return false;
        uint width = BinaryPrimitives.ReadUInt32BigEndian(data[16..]), height = BinaryPrimitives.ReadUInt32BigEndian(data[20..]);
        if (width == 0 || height == 0 || width > Png.MaxDimension || height > Png.MaxDimension) return false;
        if (data[24] != 8 || data[25] is not (0 or 2 or 6) || data[26] != 0 || data[27] != 0 || data[28] > 1) return false;
        int pos = 8;
        while (data.Length - pos >= 12)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            if (length > (uint)(data.Length - pos - 12)) return false;
            var type = data.Slice(pos + 4, 4);
            if (BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + (int)length)..]) != Png.Crc32(data.Slice(pos + 4, 4 + (int)length))) return false;
            if (type.SequenceEqual("tRNS"u8)) return false;
            if (type.SequenceEqual("IEND"u8)) return true;
            pos += 12 + (int)length;
        }
        return false;
    }

    private static int ChannelsOf(byte colourType) => colourType switch { 0 => 1, 2 => 3, _ => 4 };
}
