// Netpbm grey and colour maps (PGM P2/P5, PPM P3/P6; netpbm.sourceforge.net/doc/pgm.html, ppm.html): any maxval
// 1..65535, '#' comments, plain (ASCII) and raw (binary, big-endian for maxval > 255) rasters; every malformed or
// truncated input is an ImageException naming the source. Writes raw or plain files atomically.
using System.Text;

namespace SegLab.Imaging;

/// <summary>
/// Reads and writes PGM and PPM images. Samples are mapped to the <see cref="Image"/> conventions: a maxval of 255
/// gives the samples unchanged; another maxval up to 255 is scaled to 0..255 (rounded); a maxval above 255 gives a
/// 16-bit image whose raw samples are scaled to 0..65535 (unchanged for 65535) and whose 8-bit samples are those &gt;&gt; 8.
/// Label maps stored as PGM should therefore use maxval 255 (or 65535) so that ids are kept.
/// </summary>
public static class Pnm
{
    /// <summary>Largest accepted width or height (as for PNG).</summary>
    public const int MaxDimension = Png.MaxDimension;

    /// <summary>Reads and decodes a PGM or PPM file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ImageException">The file is not a valid P2, P3, P5 or P6 image.</exception>
    public static Image Load(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>Decodes a PGM or PPM held in memory (the first image of the data; anything after it is ignored).</summary>
    /// <param name="data">The file's bytes.</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="ImageException">The data is not a valid P2, P3, P5 or P6 image.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string? name = null)
    {
        var reader = new Reader(data, name ?? "<bytes>");
        if (data.Length < 2 || data[0] != 'P') throw reader.Fail("not a PGM/PPM file (no 'P' magic number).");
        char kind = (char)data[1];
        if (kind is '1' or '4' or '7') throw reader.Fail($"P{kind} (bitmap or PAM) is not supported; expected P2, P3, P5 or P6.");
        if (kind is not ('2' or '3' or '5' or '6')) throw reader.Fail("not a PGM/PPM file (bad magic number).");
        reader.Pos = 2;
        int channels = kind is '2' or '5' ? 1 : 3;
        bool plain = kind is '2' or '3';
        int width = reader.HeaderNumber("width", 1, MaxDimension);
        int height = reader.HeaderNumber("height", 1, MaxDimension);
        int maxVal = reader.HeaderNumber("maxval", 1, 65535);
        long count = (long)width * height * channels;
        if (count > int.MaxValue / 2) throw reader.Fail($"{width}x{height} is too large.");
        // The declared size is checked against the bytes present before the raster is allocated (found by fuzzing):
        // a plain sample takes at least one byte, a raw one 1 or 2 bytes.
        if (plain)
        {
            long room = data.Length - reader.Pos;
            if (count > room) throw reader.Fail($"truncated data: {count} samples declared, but only {room} bytes follow the header.");
            var samples = new ushort[count];
            for (long i = 0; i < count; i++) samples[i] = (ushort)reader.Sample(i, count, maxVal);
            return ToImage(width, height, channels, maxVal, samples);
        }
        // Exactly one whitespace byte separates the header from the raster.
        if (reader.Pos >= data.Length || !IsSpace(data[reader.Pos])) throw reader.Fail("truncated data (no raster after the header).");
        int start = reader.Pos + 1, bytes = maxVal > 255 ? 2 : 1;
        long need = count * bytes;
        if (data.Length - start < need) throw reader.Fail($"truncated data: raster needs {need} bytes, {data.Length - start} present.");
        var raw = new ushort[count];
        var raster = data.Slice(start, (int)need);
        for (int i = 0; i < count; i++)
        {
            int v = bytes == 1 ? raster[i] : raster[2 * i] << 8 | raster[2 * i + 1];
            if (v > maxVal) throw reader.Fail($"sample {v} at position {i} exceeds maxval {maxVal}.");
            raw[i] = (ushort)v;
        }
        return ToImage(width, height, channels, maxVal, raw);
    }

    /// <summary>Encodes a grey (1 channel) or RGB (3 channel) image; palette images are expanded to RGB.</summary>
    /// <param name="image">The image; 2- and 4-channel images (with alpha) are rejected.</param>
    /// <param name="plain">Write the plain (ASCII) P2/P3 form instead of raw P5/P6.</param>
    /// <param name="maxVal">Maxval to write (1..65535); default 65535 for 16-bit images, else 255. Samples are rescaled to it.</param>
    public static byte[] Encode(Image image, bool plain = false, int? maxVal = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        image = image.ExpandPalette(withAlpha: false);
        if (image.Channels is not (1 or 3)) throw new ArgumentException($"PNM: {image.Channels}-channel images cannot be written (grey or RGB only).", nameof(image));
        int max = maxVal ?? (image.BitDepth == 16 ? 65535 : 255);
        if (max is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(maxVal), max, "maxval must be 1..65535");
        bool sixteen = image.Pixels16 is not null;
        int full = sixteen ? 65535 : 255;
        int Scaled(int i) => Rescale(sixteen ? image.Pixels16![i] : image.Pixels[i], full, max);

        var header = Encoding.ASCII.GetBytes($"P{(image.Channels == 1 ? 2 : 3) + (plain ? 0 : 3)}\n{image.Width} {image.Height}\n{max}\n");
        using var output = new MemoryStream();
        output.Write(header);
        int count = image.Pixels.Length;
        if (plain)
        {
            var line = new StringBuilder();
            for (int i = 0; i < count; i++)
            {
                line.Append(Scaled(i)).Append((i + 1) % (image.Width * image.Channels) == 0 || line.Length > 60 ? '\n' : ' ');
                if (line[^1] == '\n') { output.Write(Encoding.ASCII.GetBytes(line.ToString())); line.Clear(); }
            }
            output.Write(Encoding.ASCII.GetBytes(line.ToString()));
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                int v = Scaled(i);
                if (max > 255) output.WriteByte((byte)(v >> 8));
                output.WriteByte((byte)v);
            }
        }
        return output.ToArray();
    }

    /// <summary>Encodes and writes an image atomically (temporary file in the same folder, flushed, renamed).</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="image">A grey or RGB image (palette images are expanded).</param>
    /// <param name="plain">Write the plain (ASCII) form.</param>
    /// <param name="maxVal">Maxval to write; see <see cref="Encode"/>.</param>
    public static void Save(string path, Image image, bool plain = false, int? maxVal = null) => SegLab.Engine.IO.AtomicFile.Write(path, Encode(image, plain, maxVal));

    private static Image ToImage(int width, int height, int channels, int maxVal, ushort[] raw)
    {
        var pixels = new byte[raw.Length];
        if (maxVal <= 255)
        {
            for (int i = 0; i < raw.Length; i++) pixels[i] = (byte)Rescale(raw[i], maxVal, 255);
            return new Image(width, height, channels, pixels);
        }
        if (maxVal != 65535)
            for (int i = 0; i < raw.Length; i++) raw[i] = (ushort)Rescale(raw[i], maxVal, 65535);
        for (int i = 0; i < raw.Length; i++) pixels[i] = (byte)(raw[i] >> 8);
        return new Image(width, height, channels, pixels, 16, raw);
    }

    /// <summary>Round(v * to / from), in integers.</summary>
    private static int Rescale(int v, int from, int to) => from == to ? v : (int)(((long)v * to * 2 + from) / (2L * from));

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;

    /// <summary>Header and plain-raster tokenizer over the data.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data, string name)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Pos;

        public readonly ImageException Fail(string problem) => new($"PNM {name}: {problem}");

        /// <summary>Skips whitespace and '#' comments (to the end of the line).</summary>
        private void SkipSpace()
        {
            while (Pos < _data.Length)
            {
                if (_data[Pos] == '#') { while (Pos < _data.Length && _data[Pos] is not ((byte)'\n' or (byte)'\r')) Pos++; }
                else if (IsSpace(_data[Pos])) Pos++;
                else break;
            }
        }

        /// <summary>The next decimal number, or -1 at the end of the data; throws on anything else.</summary>
        private int Number(string what, int max)
        {
            SkipSpace();
            if (Pos >= _data.Length) return -1;
            int start = Pos;
            long v = 0;
            while (Pos < _data.Length && _data[Pos] is >= (byte)'0' and <= (byte)'9')
            {
                v = v * 10 + (_data[Pos++] - '0');
                if (v > max) throw Fail($"{what} exceeds {max} (at byte {start}).");
            }
            if (Pos == start) throw Fail($"expected {what} at byte {start}, found '{(char)_data[Pos]}'.");
            if (Pos < _data.Length && !IsSpace(_data[Pos]) && _data[Pos] != '#') throw Fail($"bad {what} at byte {start}.");
            return (int)v;
        }

        public int HeaderNumber(string what, int min, int max)
        {
            int v = Number(what, max);
            if (v < 0) throw Fail($"truncated header (no {what}).");
            if (v < min) throw Fail($"{what} {v} is out of range {min}..{max}.");
            return v;
        }

        public int Sample(long index, long count, int maxVal)
        {
            int v = Number("sample", maxVal);
            if (v < 0) throw Fail($"truncated data: {index} of {count} samples present.");
            return v;
        }
    }
}
