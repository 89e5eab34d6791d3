// Tests of the PNG codec: encode/decode round trips, hand-built files covering every filter type, bit depth,
// colour type and Adam7, every error a PngException with a useful message (corruption, truncation, fuzzing),
// and the real CamVid / VOC files of the shared data folder when present.
using SegLab.Imaging;
using Xunit.Abstractions;

namespace SegLab.Tests.Imaging;

public class PngTests(ITestOutputHelper output)
{
    private static Image RandomImage(int width, int height, int channels, int seed, int paletteEntries = 0)
    {
        var rng = new Random(seed);
        var pixels = new byte[width * height * channels];
        if (paletteEntries == 0)
        {
            // Smooth gradients plus noise, so that different filters win on different rows.
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    for (int c = 0; c < channels; c++)
                        pixels[(y * width + x) * channels + c] = (byte)((y % 3 == 0 ? rng.Next(256) : x * 7 + y * 3 + c * 50) & 0xFF);
            return new Image(width, height, channels, pixels);
        }
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)rng.Next(paletteEntries);
        var palette = new byte[paletteEntries * 3];
        rng.NextBytes(palette);
        var alpha = new byte[Math.Min(paletteEntries, 3)];
        rng.NextBytes(alpha);
        return new Image(width, height, 1, pixels, palette: palette, paletteAlpha: alpha);
    }

    public static TheoryData<int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var (w, h) in new[] { (1, 1), (7, 5), (33, 17) })
            foreach (var c in new[] { 1, 2, 3, 4 })
                data.Add(w, h, c);
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Encode_then_decode_gives_the_same_pixels(int width, int height, int channels)
    {
        var image = RandomImage(width, height, channels, width * 100 + channels);
        var back = Png.Decode(Png.Encode(image));
        Assert.Equal((width, height, channels, 8), (back.Width, back.Height, back.Channels, back.BitDepth));
        Assert.Equal(image.Pixels, back.Pixels);
        Assert.Null(back.Pixels16);
        Assert.False(back.IsPalette);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 5, 5)]
    [InlineData(33, 17, 256)]
    public void Palette_images_round_trip_with_palette_and_alpha(int width, int height, int entries)
    {
        var image = RandomImage(width, height, 1, entries, entries);
        var back = Png.Decode(Png.Encode(image));
        Assert.True(back.IsPalette);
        Assert.Equal(image.Pixels, back.Pixels);
        Assert.Equal(image.Palette, back.Palette);
        Assert.Equal(image.PaletteAlpha!.Reverse().SkipWhile(a => a == 255).Reverse(), back.PaletteAlpha ?? []);
        Assert.Equal(image.ExpandPalette().Pixels, back.ExpandPalette().Pixels);
    }

    [Fact]
    public void Sixteen_bit_images_round_trip()
    {
        var rng = new Random(3);
        var raw = new ushort[9 * 4 * 3];
        for (int i = 0; i < raw.Length; i++) raw[i] = (ushort)rng.Next(65536);
        var image = new Image(9, 4, 3, [.. raw.Select(v => (byte)(v >> 8))], 16, raw);
        var back = Png.Decode(Png.Encode(image));
        Assert.Equal(16, back.BitDepth);
        Assert.Equal(raw, back.Pixels16);
        Assert.Equal(image.Pixels, back.Pixels);
    }

    [Fact]
    public void Expand_palette_gives_rgb_or_rgba()
    {
        var image = new Image(2, 1, 1, [1, 0], palette: [10, 20, 30, 40, 50, 60], paletteAlpha: [7]);
        Assert.Equal(new byte[] { 40, 50, 60, 255, 10, 20, 30, 7 }, image.ExpandPalette().Pixels);
        Assert.Equal(new byte[] { 40, 50, 60, 10, 20, 30 }, image.ExpandPalette(withAlpha: false).Pixels);
        Assert.Equal(3, image.ExpandPalette(false).Channels);
    }

    [Fact]
    public void Image_checks_its_buffers()
    {
        Assert.Throws<ArgumentException>(() => new Image(2, 2, 3, new byte[11]));
        Assert.Throws<ArgumentException>(() => new Image(0, 2, 1, []));
        Assert.Throws<ArgumentException>(() => new Image(1, 1, 3, new byte[3], palette: [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => new Image(1, 1, 1, [2], palette: [1, 2, 3, 4, 5, 6]));
        Assert.Throws<ArgumentException>(() => new Image(1, 1, 1, [0], bitDepth: 16));
        Assert.Equal(5, new Image(2, 1, 2, [1, 2, 3, 5])[1, 0, 1]);
    }

    [Fact]
    public void Save_writes_atomically_and_load_reads_it_back()
    {
        var dir = Directory.CreateTempSubdirectory("seglab-png-");
        try
        {
            var path = Path.Combine(dir.FullName, "x.png");
            var image = RandomImage(13, 11, 3, 5);
            Png.Save(path, image);
            Png.Save(path, image); // overwrites
            Assert.Equal(image.Pixels, Png.Load(path).Pixels);
            Assert.Single(dir.GetFiles()); // no temporary file left behind
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    // ---- hand-built files: every colour type, bit depth, filter and interlacing ----

    public static TheoryData<int, int, bool> Formats()
    {
        var data = new TheoryData<int, int, bool>();
        var combos = new (int Colour, int[] Depths)[] { (0, [1, 2, 4, 8, 16]), (2, [8, 16]), (3, [1, 2, 4, 8]), (4, [8, 16]), (6, [8, 16]) };
        foreach (var (colour, depths) in combos)
            foreach (var depth in depths)
                foreach (var interlace in new[] { false, true })
                    data.Add(colour, depth, interlace);
        return data;
    }

    private static int[] Samples(int width, int height, int colour, int depth, int seed, int paletteEntries)
    {
        var rng = new Random(seed);
        var samples = new int[width * height * PngTestWriter.ChannelsOf(colour)];
        int max = colour == 3 ? paletteEntries : 1 << depth;
        for (int i = 0; i < samples.Length; i++) samples[i] = rng.Next(max);
        return samples;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Hand_built_files_decode_to_the_known_pixels(int colour, int depth, bool interlace)
    {
        foreach (var (width, height) in new[] { (1, 1), (3, 2), (11, 9), (17, 13) })
        {
            int entries = colour == 3 ? Math.Min(1 << depth, 6) : 0;
            var palette = colour == 3 ? Enumerable.Range(0, entries * 3).Select(i => (byte)(i * 11)).ToArray() : null;
            var samples = Samples(width, height, colour, depth, width * 31 + depth, entries);
            var file = PngTestWriter.Build(width, height, colour, depth, samples, interlace, (p, r) => (p + r) % 5, palette);
            var image = Png.Decode(file);
            Assert.Equal((width, height, PngTestWriter.ChannelsOf(colour), depth), (image.Width, image.Height, image.Channels, image.BitDepth));
            int scale = colour == 0 && depth < 8 ? 255 / ((1 << depth) - 1) : 1;
            var expected8 = samples.Select(s => (byte)(depth == 16 ? s >> 8 : s * scale)).ToArray();
            Assert.Equal(expected8, image.Pixels);
            if (depth == 16) Assert.Equal(samples.Select(s => (ushort)s).ToArray(), image.Pixels16);
            else Assert.Null(image.Pixels16);
            Assert.Equal(palette, image.Palette);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_filter_type_decodes(int filter)
    {
        foreach (var (colour, depth) in new[] { (2, 8), (6, 16), (0, 2), (4, 8) })
            foreach (var interlace in new[] { false, true })
            {
                var samples = Samples(19, 7, colour, depth, filter, 0);
                var image = Png.Decode(PngTestWriter.Build(19, 7, colour, depth, samples, interlace, (_, _) => filter));
                if (depth == 16) Assert.Equal(samples.Select(s => (ushort)s).ToArray(), image.Pixels16);
                else Assert.Equal(samples.Select(s => (byte)(s * (depth == 2 ? 85 : 1))).ToArray(), image.Pixels);
            }
    }

    [Fact]
    public void Palette_transparency_is_read()
    {
        var file = PngTestWriter.Build(2, 2, 3, 8, [0, 1, 2, 1], palette: [1, 2, 3, 4, 5, 6, 7, 8, 9], alpha: [0, 128]);
        var image = Png.Decode(file);
        Assert.Equal(new byte[] { 0, 128 }, image.PaletteAlpha);
        Assert.Equal(new byte[] { 1, 2, 3, 0, 4, 5, 6, 128, 7, 8, 9, 255, 4, 5, 6, 128 }, image.ExpandPalette().Pixels);
    }

    // ---- errors ----

    private static byte[] SmallFile() => PngTestWriter.Build(5, 4, 2, 8, Samples(5, 4, 2, 8, 1, 0));

    private static void AssertFails(byte[] file, params string[] fragments)
    {
        var e = Assert.Throws<PngException>(() => Png.Decode(file, "test.png"));
        Assert.Contains("test.png", e.Message, StringComparison.Ordinal);
        foreach (var f in fragments) Assert.Contains(f, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Bad_signature_and_crc_are_reported()
    {
        var file = SmallFile();
        file[1] ^= 1;
        AssertFails(file, "signature");
        file = SmallFile();
        file[8 + 8 + 3] ^= 0x40; // inside IHDR's data
        AssertFails(file, "CRC", "IHDR");
        var e = Assert.Throws<PngException>(() => Png.Decode(new byte[] { 1, 2 }));
        Assert.Contains("<bytes>", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_chunks_are_reported()
    {
        var header = ("IHDR", PngTestWriter.Header(1, 1, 8, 0));
        var idat = ("IDAT", PngTestWriter.Deflate([0, 7]));
        AssertFails(PngTestWriter.File(idat, ("IEND", [])), "missing IHDR");
        AssertFails(PngTestWriter.File(header, ("IEND", [])), "missing IDAT");
        AssertFails(PngTestWriter.File(header, idat), "missing IEND");
        Assert.Equal(7, Png.Decode(PngTestWriter.File(header, idat, ("IEND", []))).Pixels[0]);
        AssertFails(PngTestWriter.File(("IHDR", PngTestWriter.Header(1, 1, 8, 3)), idat, ("IEND", [])), "PLTE");
        AssertFails(PngTestWriter.File(header, ("ABCD", [1]), idat, ("IEND", [])), "critical chunk ABCD");
    }

    [Theory]
    [InlineData(0, 1, 8, 0, 0, 0, "dimensions")]
    [InlineData(1, 0, 8, 0, 0, 0, "dimensions")]
    [InlineData(20000, 1, 8, 0, 0, 0, "dimensions")]
    [InlineData(1, 1, 4, 2, 0, 0, "combination")]
    [InlineData(1, 1, 16, 3, 0, 0, "combination")]
    [InlineData(1, 1, 8, 5, 0, 0, "combination")]
    [InlineData(1, 1, 3, 0, 0, 0, "combination")]
    [InlineData(1, 1, 8, 0, 2, 0, "interlace")]
    [InlineData(1, 1, 8, 0, 0, 1, "compression")]
    public void Bad_headers_are_reported(int width, int height, int depth, int colour, int interlace, int compression, string problem)
    {
        var file = PngTestWriter.File(("IHDR", PngTestWriter.Header(width, height, depth, colour, interlace, compression)), ("IDAT", PngTestWriter.Deflate([0, 0])), ("IEND", []));
        AssertFails(file, problem);
    }

    [Fact]
    public void Bad_filter_byte_names_the_row()
    {
        var samples = Samples(4, 6, 0, 8, 2, 0);
        AssertFails(PngTestWriter.Build(4, 6, 0, 8, samples, filterOf: (_, r) => r == 3 ? 5 : 0), "bad filter byte 5 in row 3");
        AssertFails(PngTestWriter.Build(4, 6, 0, 8, samples, interlace: true, filterOf: (p, r) => p == 6 ? 9 : 1), "bad filter byte 9", "pass 7");
    }

    [Fact]
    public void Decompressed_size_and_zlib_errors_are_reported()
    {
        var header = ("IHDR", PngTestWriter.Header(3, 2, 8, 0));
        AssertFails(PngTestWriter.File(header, ("IDAT", PngTestWriter.Deflate([0, 1, 2, 3])), ("IEND", [])), "decompressed size mismatch");
        AssertFails(PngTestWriter.File(header, ("IDAT", PngTestWriter.Deflate(new byte[100])), ("IEND", [])), "decompressed size mismatch");
        AssertFails(PngTestWriter.File(header, ("IDAT", [0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]), ("IEND", [])), "zlib");
        AssertFails(PngTestWriter.File(header, ("IDAT", [1, 2, 3]), ("IEND", [])), "zlib");
    }

    [Fact]
    public void Palette_index_out_of_range_is_reported()
    {
        var file = PngTestWriter.Build(3, 1, 3, 4, [0, 3, 1], palette: [1, 1, 1, 2, 2, 2]);
        AssertFails(file, "palette index 3 out of range", "(1, 0)");
    }

    [Fact]
    public void Every_truncation_throws_a_png_exception()
    {
        var file = PngTestWriter.Build(6, 5, 6, 8, Samples(6, 5, 6, 8, 4, 0), interlace: true);
        for (int n = 0; n < file.Length; n++)
            Assert.Throws<PngException>(() => Png.Decode(file.AsSpan(0, n)));
        Png.Decode(file);
    }

    [Fact]
    public void Random_mutations_decode_or_throw_a_png_exception()
    {
        var rng = new Random(12345);
        var sources = new[]
        {
            PngTestWriter.Build(6, 5, 6, 8, Samples(6, 5, 6, 8, 4, 0), interlace: true),
            PngTestWriter.Build(9, 4, 3, 2, Samples(9, 4, 3, 2, 5, 3), palette: [1, 2, 3, 4, 5, 6, 7, 8, 9], alpha: [1]),
            PngTestWriter.Build(7, 3, 0, 16, Samples(7, 3, 0, 16, 6, 0)),
            Png.Encode(RandomImage(8, 8, 3, 9)),
        };
        int decoded = 0, failed = 0;
        for (int i = 0; i < 4000; i++)
        {
            var file = (byte[])sources[i % sources.Length].Clone();
            int flips = 1 + rng.Next(4);
            for (int k = 0; k < flips; k++) file[8 + rng.Next(file.Length - 8)] ^= (byte)(1 << rng.Next(8));
            if (i % 2 == 0) PngTestWriter.FixCrcs(file); // half the mutations get past the CRC check
            try
            {
                Png.Decode(file);
                decoded++;
            }
            catch (PngException)
            {
                failed++;
            }
        }
        output.WriteLine($"{decoded} mutations decoded, {failed} threw PngException");
        Assert.True(failed > 1000);
    }

    // ---- real files ----

    private static string FirstFile(string folder, string pattern)
    {
        var dir = Path.Combine(TestPaths.RequireShared($"{pattern} under data/{folder}"), "data", folder);
        var file = Directory.Exists(dir) ? Directory.GetFiles(dir, pattern).Order(StringComparer.Ordinal).FirstOrDefault() : null;
        return file ?? throw new FileNotFoundException($"the shared data folder has no {pattern} under data/{folder}");
    }

    [SkippableFact]
    public void Camvid_image_and_label_decode()
    {
        var imagePath = FirstFile("camvid/val", "*.png");
        var image = Png.Load(imagePath);
        Assert.Equal((480, 360, 3, 8), (image.Width, image.Height, image.Channels, image.BitDepth));
        Assert.True(image.Pixels.Distinct().Count() > 100);
        if (Path.GetFileName(imagePath) == "0016E5_07959.png") // SHA-256 of its pixels from an independent Python (zlib + unfilter) decode
            Assert.Equal("366cd2f5e6c9e655ed67d8bd5e033c04545edfff9183519c00151b91b840e7ca", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(image.Pixels)));

        var labelPath = Path.Combine(Path.GetDirectoryName(imagePath)!, "..", "valannot", Path.GetFileName(imagePath));
        var label = Png.Load(labelPath);
        Assert.Equal((480, 360, 1), (label.Width, label.Height, label.Channels));
        Assert.True(label.Pixels.Max() <= 11);
        Assert.True(label.Pixels.Distinct().Count() > 3);
        output.WriteLine($"{Path.GetFileName(imagePath)}: label classes {string.Join(",", label.Pixels.Distinct().Order())}");
    }

    [SkippableFact]
    public void Camvid_image_re_encodes_to_identical_pixels()
    {
        var imagePath = FirstFile("camvid/val", "*.png");
        var image = Png.Load(imagePath);
        var encoded = Png.Encode(image);
        var back = Png.Decode(encoded);
        Assert.Equal((image.Width, image.Height, image.Channels), (back.Width, back.Height, back.Channels));
        Assert.Equal(image.Pixels, back.Pixels);
        output.WriteLine($"original {new FileInfo(imagePath).Length} bytes, re-encoded {encoded.Length} bytes");
    }

    [SkippableFact]
    public void Voc_target_decodes()
    {
        var path = FirstFile("voc-samples", "*_target.png");
        var image = Png.Load(path);
        Assert.True(image.Width > 0 && image.Height > 0);
        var rgb = image.ExpandPalette();
        Assert.Equal(3, rgb.Channels);
        Assert.True(rgb.Pixels.Distinct().Count() > 1);
        output.WriteLine($"{Path.GetFileName(path)}: {image.Width}x{image.Height}, {image.Channels} channels, palette {image.IsPalette}");
    }
}
