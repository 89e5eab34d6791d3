// A small PNG codec: decodes every standard PNG (bit depths 1-16, colour types 0/2/3/4/6, all filters, Adam7)
// with CRC checks and a PngException for every malformed input; encodes 8/16-bit grey, grey+alpha, RGB, RGBA
// and 8-bit palette images with per-row filter selection. No colour management (gAMA, iCCP, ... are skipped).
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SegLab.Engine.IO;

namespace SegLab.Imaging;

/// <summary>Reads and writes PNG images.</summary>
public static class Png
{
    /// <summary>Largest accepted width or height.</summary>
    public const int MaxDimension = 1 << 14;

    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];
    private static readonly uint[] CrcTable = BuildCrcTable();

    // Adam7 passes: x start, y start, x step, y step.
    private static readonly (int X, int Y, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <summary>Reads and decodes a PNG file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="PngException">The file is not a valid, supported PNG.</exception>
    public static Image Load(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>Decodes a PNG held in memory.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="PngException">The data is not a valid, supported PNG.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string? name = null)
    {
        name ??= "<bytes>";
        PngException Fail(string problem) => new($"PNG {name}: {problem}");

        if (data.Length < Signature.Length) throw Fail($"truncated data ({data.Length} bytes, shorter than the signature).");
        if (!data[..Signature.Length].SequenceEqual(Signature)) throw Fail("not a PNG file (bad signature).");

        int width = 0, height = 0, depth = 0, colour = 0, interlace = 0;
        bool haveHeader = false, haveEnd = false, haveIdat = false, idatDone = false;
        byte[]? palette = null, paletteAlpha = null;
        using var idat = new MemoryStream();
        int pos = Signature.Length;
        while (pos < data.Length)
        {
            if (data.Length - pos < 12) throw Fail($"truncated data (chunk header at byte {pos}).");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            var typeBytes = data.Slice(pos + 4, 4);
            foreach (var b in typeBytes)
                if (!((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z'))) throw Fail($"bad chunk type at byte {pos + 4}.");
            string type = Encoding.ASCII.GetString(typeBytes);
            if (length > int.MaxValue || length > (uint)(data.Length - pos - 12)) throw Fail($"truncated data (chunk {type} of {length} bytes at byte {pos}).");
            var body = data.Slice(pos + 8, (int)length);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + (int)length)..]);
            uint actual = Crc32(data.Slice(pos + 4, 4 + (int)length));
            if (stored != actual) throw Fail($"bad CRC in chunk {type} at byte {pos} (stored {stored:x8}, computed {actual:x8}).");
            pos += 12 + (int)length;

            if (!haveHeader && type != "IHDR") throw Fail($"missing IHDR (first chunk is {type}).");
            if (haveIdat && type != "IDAT") idatDone = true;
            switch (type)
            {
                case "IHDR":
                    if (haveHeader) throw Fail("more than one IHDR.");
                    if (length != 13) throw Fail($"IHDR of {length} bytes; expected 13.");
                    uint w = BinaryPrimitives.ReadUInt32BigEndian(body), h = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
                    if (w == 0 || h == 0 || w > MaxDimension || h > MaxDimension)
                        throw Fail($"bad dimensions {w}x{h} (each must be 1 to {MaxDimension}).");
                    width = (int)w;
                    height = (int)h;
                    depth = body[8];
                    colour = body[9];
                    bool allowed = colour switch
                    {
                        0 => depth is 1 or 2 or 4 or 8 or 16,
                        3 => depth is 1 or 2 or 4 or 8,
                        2 or 4 or 6 => depth is 8 or 16,
                        _ => false,
                    };
                    if (!allowed) throw Fail($"unsupported combination of colour type {colour} and bit depth {depth}.");
                    if (body[10] != 0) throw Fail($"unsupported compression method {body[10]}.");
                    if (body[11] != 0) throw Fail($"unsupported filter method {body[11]}.");
                    if (body[12] > 1) throw Fail($"unsupported interlace method {body[12]}.");
                    interlace = body[12];
                    haveHeader = true;
                    break;
                case "PLTE":
                    if (palette is not null) throw Fail("more than one PLTE.");
                    if (haveIdat) throw Fail("PLTE after IDAT.");
                    if (length == 0 || length % 3 != 0 || length > 256 * 3) throw Fail($"PLTE of {length} bytes; expected 1 to 256 RGB triples.");
                    if (colour is 0 or 4) throw Fail($"PLTE in a greyscale image (colour type {colour}).");
                    palette = body.ToArray();
                    break;
                case "tRNS":
                    if (colour == 3)
                    {
                        if (palette is null) throw Fail("tRNS before PLTE.");
                        if (length > palette.Length / 3) throw Fail($"tRNS of {length} entries for a palette of {palette.Length / 3}.");
                        paletteAlpha = body.ToArray();
                    }
                    break; // a transparent grey or RGB colour is not applied (no alpha channel is synthesised)
                case "IDAT":
                    if (idatDone) throw Fail("IDAT chunks are not consecutive.");
                    idat.Write(body);
                    haveIdat = true;
                    break;
                case "IEND":
                    haveEnd = true;
                    break;
                default:
                    if ((typeBytes[0] & 0x20) == 0) throw Fail($"unknown critical chunk {type}.");
                    break; // ancillary: skipped
            }
            if (haveEnd) break;
        }
        if (!haveHeader) throw Fail("missing IHDR.");
        if (!haveIdat) throw Fail("missing IDAT.");
        if (!haveEnd) throw Fail("missing IEND (truncated data).");
        if (colour == 3 && palette is null) throw Fail("missing PLTE in a palette image.");
        if (colour != 3) palette = null; // a suggested palette of an RGB image is ignored

        int channels = colour switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        int bitsPerPixel = channels * depth;
        int bpp = Math.Max(1, bitsPerPixel / 8);
        var passes = interlace == 0 ? [(0, 0, 1, 1)] : Adam7;
        long expected = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            long pw = (width - x0 + dx - 1) / dx, ph = (height - y0 + dy - 1) / dy;
            if (pw > 0 && ph > 0) expected += ph * (1 + (pw * bitsPerPixel + 7) / 8);
        }
        if (expected > Array.MaxLength) throw Fail($"image too large ({expected} bytes of decompressed data).");
        var raw = Inflate(idat, (int)expected, name);

        long count = (long)width * height * channels;
        var pixels = new byte[count];
        var pixels16 = depth == 16 ? new ushort[count] : null;
        int entries = palette is null ? 0 : palette.Length / 3;
        int scale = depth < 8 && colour == 0 ? 255 / ((1 << depth) - 1) : 1;
        int offset = 0;
        for (int p = 0; p < passes.Length; p++)
        {
            var (x0, y0, dx, dy) = passes[p];
            int pw = (width - x0 + dx - 1) / dx, ph = (height - y0 + dy - 1) / dy;
            if (pw <= 0 || ph <= 0) continue;
            int rowBytes = (int)(((long)pw * bitsPerPixel + 7) / 8);
            for (int r = 0; r < ph; r++)
            {
                int filter = raw[offset];
                var row = raw.AsSpan(offset + 1, rowBytes);
                var prior = r == 0 ? default : raw.AsSpan(offset + 1 - (rowBytes + 1), rowBytes);
                if (filter > 4)
                    throw Fail(interlace == 0 ? $"bad filter byte {filter} in row {r}." : $"bad filter byte {filter} in row {r} of interlace pass {p + 1}.");
                Unfilter(filter, row, prior, bpp);
                int y = y0 + r * dy;
                if (depth == 8 && dx == 1)
                {
                    // Whole rows of 8-bit samples (every non-interlaced 8-bit image): one copy, one vectorised range check.
                    row.CopyTo(pixels.AsSpan((int)((long)y * width * channels), rowBytes));
                    if (entries > 0 && entries < 256 && row.IndexOfAnyInRange((byte)entries, (byte)255) is int bad and >= 0)
                        throw Fail($"palette index {row[bad]} out of range at ({x0 + bad}, {y}) (palette has {entries} entries).");
                    offset += rowBytes + 1;
                    continue;
                }
                for (int i = 0; i < pw; i++)
                {
                    long o = ((long)y * width + x0 + (long)i * dx) * channels;
                    for (int c = 0; c < channels; c++)
                    {
                        int s = i * channels + c;
                        if (depth == 8) pixels[o + c] = row[s];
                        else if (depth == 16)
                        {
                            ushort v = (ushort)(row[2 * s] << 8 | row[2 * s + 1]);
                            pixels16![o + c] = v;
                            pixels[o + c] = (byte)(v >> 8);
                        }
                        else
                        {
                            int bit = s * depth;
                            int v = (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
                            pixels[o + c] = (byte)(v * scale);
                        }
                    }
                    if (entries > 0 && pixels[o] >= entries)
                        throw Fail($"palette index {pixels[o]} out of range at ({x0 + i * dx}, {y}) (palette has {entries} entries).");
                }
                offset += rowBytes + 1;
            }
        }
        return new Image(width, height, channels, pixels, depth, pixels16, palette, paletteAlpha);
    }

    /// <summary>
    /// Encodes an image as PNG: 8-bit (or, with <see cref="Image.Pixels16"/>, 16-bit) grey, grey + alpha, RGB or RGBA,
    /// or an 8-bit palette image with its palette (and tRNS when it has alphas). Each row of a non-palette image uses
    /// the filter with the least sum of absolute (signed) filtered bytes; palette rows are not filtered, as the
    /// specification recommends.
    /// </summary>
    /// <param name="image">The image.</param>
    public static byte[] Encode(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        bool sixteen = image.Pixels16 is not null && image.Palette is null;
        int depth = sixteen ? 16 : 8;
        int colour = image.Palette is not null ? 3 : image.Channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 };
        int bpp = image.Channels * depth / 8;
        long rowBytesLong = (long)image.Width * bpp;
        if ((rowBytesLong + 1) * image.Height > Array.MaxLength) throw new ArgumentException($"Png.Encode: image {image.Width}x{image.Height}x{image.Channels} is too large.");
        int rowBytes = (int)rowBytesLong;

        var filtered = new byte[(rowBytes + 1) * (long)image.Height];
        var prior = new byte[rowBytes];
        var current = new byte[rowBytes];
        var candidate = new byte[rowBytes];
        for (int y = 0; y < image.Height; y++)
        {
            if (sixteen)
            {
                var src = image.Pixels16.AsSpan(y * image.Width * image.Channels, image.Width * image.Channels);
                for (int i = 0; i < src.Length; i++)
                {
                    current[2 * i] = (byte)(src[i] >> 8);
                    current[2 * i + 1] = (byte)src[i];
                }
            }
            else image.Pixels.AsSpan(y * rowBytes, rowBytes).CopyTo(current);

            var outRow = filtered.AsSpan((rowBytes + 1) * y, rowBytes + 1);
            var priorSpan = y == 0 ? default : prior.AsSpan();
            if (image.Palette is not null)
            {
                outRow[0] = 0;
                current.CopyTo(outRow[1..]);
            }
            else
            {
                long best = long.MaxValue;
                for (int f = 0; f <= 4; f++)
                {
                    Filter(f, current, priorSpan, candidate, bpp);
                    long sum = 0;
                    foreach (var b in candidate) sum += Math.Abs((int)(sbyte)b);
                    if (sum < best)
                    {
                        best = sum;
                        outRow[0] = (byte)f;
                        candidate.CopyTo(outRow[1..]);
                    }
                }
            }
            (prior, current) = (current, prior);
        }

        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)image.Width);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)image.Height);
        header[8] = (byte)depth;
        header[9] = (byte)colour;
        header[10] = header[11] = header[12] = 0;
        WriteChunk(output, "IHDR", header);
        if (image.Palette is not null)
        {
            WriteChunk(output, "PLTE", image.Palette);
            if (image.PaletteAlpha is { } alpha)
            {
                int n = alpha.Length;
                while (n > 0 && alpha[n - 1] == 255) n--;
                if (n > 0) WriteChunk(output, "tRNS", alpha.AsSpan(0, n));
            }
        }
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) z.Write(filtered);
            var all = compressed.GetBuffer().AsSpan(0, (int)compressed.Length);
            const int ChunkSize = 1 << 20;
            for (int i = 0; i < all.Length; i += ChunkSize)
                WriteChunk(output, "IDAT", all.Slice(i, Math.Min(ChunkSize, all.Length - i)));
        }
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>Encodes and writes an image atomically: a temporary file in the same folder, flushed, then renamed over <paramref name="path"/>.</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="image">The image.</param>
    public static void Save(string path, Image image) => AtomicFile.Write(path, Encode(image));

    /// <summary>CRC-32 (ISO 3309, as PNG uses it) of <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The bytes (a chunk's type and data).</param>
    internal static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in bytes) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> body)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, (uint)body.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        output.Write(head);
        output.Write(body);
        uint crc = 0xFFFFFFFFu;
        foreach (var b in head[4..]) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        foreach (var b in body) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc ^ 0xFFFFFFFFu);
        output.Write(tail);
    }

    /// <summary>Inflates the IDAT stream, requiring exactly <paramref name="expected"/> bytes.</summary>
    private static byte[] Inflate(MemoryStream idat, int expected, string name)
    {
        idat.Position = 0;
        // The output grows with the data actually present, so a small file cannot make us allocate the full
        // (possibly huge) expected size before its data runs out; at most one buffer more than expected is read.
        using var result = new MemoryStream(Math.Min(expected, 1 << 20));
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress, leaveOpen: true);
            var buffer = new byte[1 << 16];
            int n;
            while ((n = z.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (result.Length + n > expected) throw new PngException($"PNG {name}: decompressed size mismatch (more than the expected {expected} bytes).");
                result.Write(buffer, 0, n);
            }
        }
        catch (InvalidDataException e)
        {
            throw new PngException($"PNG {name}: corrupt zlib data in IDAT ({e.Message})", e);
        }
        if (result.Length != expected) throw new PngException($"PNG {name}: decompressed size mismatch ({result.Length} bytes; expected {expected}).");
        return result.Length == result.Capacity ? result.GetBuffer() : result.ToArray();
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Reverses filter <paramref name="type"/> on <paramref name="row"/> in place; an empty <paramref name="prior"/> is a row of zeros.</summary>
    private static void Unfilter(int type, Span<byte> row, ReadOnlySpan<byte> prior, int bpp)
    {
        bool first = prior.IsEmpty;
        switch (type)
        {
            case 1:
                for (int i = bpp; i < row.Length; i++) row[i] += row[i - bpp];
                break;
            case 2:
                if (!first) System.Numerics.Tensors.TensorPrimitives.Add(row, prior, row); // bytes wrap modulo 256
                break;
            case 3:
                for (int i = 0; i < row.Length; i++)
                    row[i] += (byte)(((i >= bpp ? row[i - bpp] : 0) + (first ? 0 : prior[i])) >> 1);
                break;
            case 4:
                if (first)
                {
                    // Paeth with a zero prior row is the Sub filter.
                    for (int i = bpp; i < row.Length; i++) row[i] += row[i - bpp];
                    break;
                }
                for (int i = 0; i < Math.Min(bpp, row.Length); i++) row[i] += prior[i]; // a = c = 0: Paeth picks b
                for (int i = bpp; i < row.Length; i++) row[i] += (byte)Paeth(row[i - bpp], prior[i], prior[i - bpp]);
                break;
        }
    }

    /// <summary>Applies filter <paramref name="type"/> to <paramref name="row"/> into <paramref name="output"/>; an empty <paramref name="prior"/> is a row of zeros.</summary>
    private static void Filter(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, Span<byte> output, int bpp)
    {
        bool first = prior.IsEmpty;
        for (int i = 0; i < row.Length; i++)
        {
            int a = i >= bpp ? row[i - bpp] : 0, b = first ? 0 : prior[i], c = i >= bpp && !first ? prior[i - bpp] : 0;
            output[i] = type switch
            {
                0 => row[i],
                1 => (byte)(row[i] - a),
                2 => (byte)(row[i] - b),
                3 => (byte)(row[i] - ((a + b) >> 1)),
                _ => (byte)(row[i] - Paeth(a, b, c)),
            };
        }
    }
}
