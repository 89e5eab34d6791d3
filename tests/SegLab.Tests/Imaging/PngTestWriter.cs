// A test-side PNG writer, independent of Png.Encode: any colour type and bit depth, a chosen filter per row,
// optional Adam7 interlacing, and raw access to the chunks so that malformed files can be built on purpose.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SegLab.Tests.Imaging;

internal static class PngTestWriter
{
    private static readonly (int X, int Y, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    public static int ChannelsOf(int colour) => colour switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };

    /// <summary>The zlib-compressed scanlines of <paramref name="samples"/> (width * height * channels values at <paramref name="depth"/> bits).</summary>
    /// <param name="filterOf">Filter type of each row, given the pass (0 when not interlaced) and the row within it; may return an invalid type.</param>
    public static byte[] Scanlines(int width, int height, int colour, int depth, int[] samples, bool interlace, Func<int, int, int> filterOf)
    {
        int channels = ChannelsOf(colour);
        int bits = channels * depth, bpp = Math.Max(1, bits / 8);
        var passes = interlace ? Adam7 : [(0, 0, 1, 1)];
        var raw = new MemoryStream();
        for (int p = 0; p < passes.Length; p++)
        {
            var (x0, y0, dx, dy) = passes[p];
            int pw = (width - x0 + dx - 1) / dx, ph = (height - y0 + dy - 1) / dy;
            if (pw <= 0 || ph <= 0) continue;
            int rowBytes = (pw * bits + 7) / 8;
            var prior = new byte[rowBytes];
            for (int r = 0; r < ph; r++)
            {
                var row = new byte[rowBytes];
                int y = y0 + r * dy;
                for (int i = 0; i < pw; i++)
                    for (int c = 0; c < channels; c++)
                    {
                        int v = samples[((y * width) + x0 + i * dx) * channels + c], s = i * channels + c;
                        if (depth == 16) { row[2 * s] = (byte)(v >> 8); row[2 * s + 1] = (byte)v; }
                        else if (depth == 8) row[s] = (byte)v;
                        else row[s * depth / 8] |= (byte)(v << (8 - depth - (s * depth % 8)));
                    }
                int f = filterOf(p, r);
                raw.WriteByte((byte)f);
                for (int i = 0; i < rowBytes; i++)
                {
                    int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], cc = i >= bpp ? prior[i - bpp] : 0;
                    int pred = f switch
                    {
                        1 => a,
                        2 => b,
                        3 => (a + b) / 2,
                        4 => Paeth(a, b, cc),
                        _ => 0,
                    };
                    raw.WriteByte((byte)(row[i] - pred));
                }
                prior = row;
            }
        }
        return Deflate(raw.ToArray());
    }

    public static byte[] Deflate(byte[] data)
    {
        var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        return output.ToArray();
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    public static byte[] Header(int width, int height, int depth, int colour, int interlace = 0, int compression = 0, int filter = 0)
    {
        var h = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(h, width);
        BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4), height);
        h[8] = (byte)depth;
        h[9] = (byte)colour;
        h[10] = (byte)compression;
        h[11] = (byte)filter;
        h[12] = (byte)interlace;
        return h;
    }

    /// <summary>A PNG file of the given chunks (signature prepended, CRCs computed).</summary>
    public static byte[] File(params (string Type, byte[] Data)[] chunks)
    {
        var output = new MemoryStream();
        output.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        foreach (var (type, data) in chunks)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
            Encoding.ASCII.GetBytes(type, head.AsSpan(4));
            output.Write(head);
            output.Write(data);
            var crcInput = head.AsSpan(4).ToArray().Concat(data).ToArray();
            var tail = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(tail, Crc32(crcInput));
            output.Write(tail);
        }
        return output.ToArray();
    }

    /// <summary>A complete PNG of <paramref name="samples"/>.</summary>
    public static byte[] Build(int width, int height, int colour, int depth, int[] samples, bool interlace = false, Func<int, int, int>? filterOf = null, byte[]? palette = null, byte[]? alpha = null)
    {
        var chunks = new List<(string, byte[])> { ("IHDR", Header(width, height, depth, colour, interlace ? 1 : 0)) };
        chunks.Add(("tEXt", Encoding.ASCII.GetBytes("Comment\0ancillary chunk, skipped")));
        if (palette is not null) chunks.Add(("PLTE", palette));
        if (alpha is not null) chunks.Add(("tRNS", alpha));
        var idat = Scanlines(width, height, colour, depth, samples, interlace, filterOf ?? ((_, r) => r % 5));
        int half = idat.Length / 2; // two IDAT chunks, to check they are concatenated
        chunks.Add(("IDAT", idat[..half]));
        chunks.Add(("IDAT", idat[half..]));
        chunks.Add(("IEND", []));
        return File([.. chunks]);
    }

    /// <summary>Bitwise CRC-32 (independent of the decoder's table).</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    /// <summary>Recomputes the CRC of every complete chunk (so that mutations reach the decoder past the CRC check).</summary>
    public static void FixCrcs(byte[] file)
    {
        int pos = 8;
        while (pos + 12 <= file.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos));
            if (pos + 12 + length > file.Length) return;
            BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(pos + 8 + (int)length), Crc32(file.AsSpan(pos + 4, 4 + (int)length)));
            pos += 12 + (int)length;
        }
    }
}
