// Tests of the PGM/PPM codec: hand-written files of every variant (P2, P3, P5, P6; maxval 1, small, 255, 16-bit)
// decoded to independently computed samples, encode/decode round trips, comments, malformed headers, truncation at
// every length and a mutation loop that must give only ImageException.
using System.Text;
using SegLab.Imaging;
using SegLab.Tests.Data;
using Xunit.Abstractions;

namespace SegLab.Tests.Imaging;

public class PnmTests(ITestOutputHelper output)
{
    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    private static byte Scale8(int v, int max) => (byte)Math.Round(v * 255.0 / max, MidpointRounding.AwayFromZero);

    [Fact]
    public void Plain_grey_with_comments_and_small_maxval_is_scaled_to_8_bits()
    {
        var image = Pnm.Decode(Ascii("P2\n# made by hand\n3 2 # width height\n# maxval next\n4\n0 1 2\n3 4 0\n"));
        Assert.Equal((3, 2, 1, 8), (image.Width, image.Height, image.Channels, image.BitDepth));
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 0 }.Select(v => Scale8(v, 4)), image.Pixels);
    }

    [Fact]
    public void Plain_colour_with_maxval_255_keeps_samples()
    {
        var image = Pnm.Decode(Ascii("P3 2 1 255  10 20 30\t255 0 7"));
        Assert.Equal((2, 1, 3), (image.Width, image.Height, image.Channels));
        Assert.Equal(new byte[] { 10, 20, 30, 255, 0, 7 }, image.Pixels);
        Assert.Null(image.Pixels16);
    }

    [Fact]
    public void Raw_16_bit_samples_are_big_endian()
    {
        var data = Ascii("P5\n2 1\n65535\n").Concat(new byte[] { 0x12, 0x34, 0xAB, 0xCD }).ToArray();
        var image = Pnm.Decode(data);
        Assert.Equal(16, image.BitDepth);
        Assert.Equal(new ushort[] { 0x1234, 0xABCD }, image.Pixels16);
        Assert.Equal(new byte[] { 0x12, 0xAB }, image.Pixels);
    }

    [Fact]
    public void Raw_colour_with_maxval_1_and_16_bit_maxval_1000_are_scaled()
    {
        var one = Pnm.Decode(Ascii("P6 2 1 1\n").Concat(new byte[] { 0, 1, 1, 1, 0, 0 }).ToArray());
        Assert.Equal(new byte[] { 0, 255, 255, 255, 0, 0 }, one.Pixels);
        var thousand = Pnm.Decode(Ascii("P5 3 1 1000 ").Concat(new byte[] { 0, 0, 0x01, 0xF4, 0x03, 0xE8 }).ToArray());
        Assert.Equal(new ushort[] { 0, (ushort)Math.Round(500 * 65535.0 / 1000, MidpointRounding.AwayFromZero), 65535 }, thousand.Pixels16);
    }

    public static TheoryData<int, bool, int?> Variants()
    {
        var data = new TheoryData<int, bool, int?>();
        foreach (var channels in new[] { 1, 3 })
            foreach (var plain in new[] { false, true })
                foreach (var max in new int?[] { null, 1, 100, 1000, 65535 })
                    data.Add(channels, plain, max);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Encode_then_decode_round_trips(int channels, bool plain, int? maxVal)
    {
        var rng = new Random(channels * 7 + (plain ? 1 : 0) + (maxVal ?? 0));
        int w = 7, h = 5, n = w * h * channels, max = maxVal ?? 255;
        // Samples on the maxval grid, given to the encoder at full range so that they survive the rescale exactly.
        var grid = Enumerable.Range(0, n).Select(_ => rng.Next(max + 1)).ToArray();
        Image image = max > 255
            ? new Image(w, h, channels, [.. grid.Select(v => (byte)((int)Math.Round(v * 65535.0 / max) >> 8))], 16, [.. grid.Select(v => (ushort)Math.Round(v * 65535.0 / max))])
            : new Image(w, h, channels, [.. grid.Select(v => Scale8(v, max))]);
        var bytes = Pnm.Encode(image, plain, maxVal);
        Assert.Equal($"P{(channels == 1 ? 2 : 3) + (plain ? 0 : 3)}", Encoding.ASCII.GetString(bytes, 0, 2));
        var back = Pnm.Decode(bytes);
        Assert.Equal((w, h, channels), (back.Width, back.Height, back.Channels));
        Assert.Equal(image.Pixels, back.Pixels);
        if (max > 255) Assert.Equal(image.Pixels16, back.Pixels16);
    }

    [Fact]
    public void Palette_images_are_written_as_rgb_and_alpha_is_rejected()
    {
        var palette = new Image(2, 1, 1, [1, 0], palette: [1, 2, 3, 4, 5, 6]);
        Assert.Equal(new byte[] { 4, 5, 6, 1, 2, 3 }, Pnm.Decode(Pnm.Encode(palette)).Pixels);
        Assert.Throws<ArgumentException>(() => Pnm.Encode(new Image(1, 1, 2, [1, 2])));
    }

    [Theory]
    [InlineData("", "no 'P' magic")]
    [InlineData("P", "no 'P' magic")]
    [InlineData("PX 1 1 255\n", "bad magic")]
    [InlineData("P7\nWIDTH 1\n", "not supported")]
    [InlineData("P4 1 1\n", "not supported")]
    [InlineData("P5\n", "no width")]
    [InlineData("P5 2\n", "no height")]
    [InlineData("P5 2 2", "no maxval")]
    [InlineData("P5 0 2 255\n", "width 0 is out of range")]
    [InlineData("P5 2 -2 255\n", "expected height")]
    [InlineData("P5 2x 2 255\n", "bad width")]
    [InlineData("P5 99999 2 255\n", "width exceeds")]
    [InlineData("P5 2 2 0\n", "maxval 0 is out of range")]
    [InlineData("P5 2 2 65536\n", "maxval exceeds 65535")]
    [InlineData("P5 1 1 255", "no raster")]
    [InlineData("P2 2 1 10 3 11", "sample exceeds 10")]
    [InlineData("P2 2 1 10 3", "1 of 2 samples")]
    [InlineData("P3 1 1 255 1 2 x", "expected sample")]
    public void Malformed_files_give_an_image_exception_naming_the_file(string text, string problem)
    {
        var e = Assert.Throws<ImageException>(() => Pnm.Decode(Ascii(text), "bad.pgm"));
        Assert.Contains("bad.pgm", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Raw_sample_above_maxval_is_rejected()
    {
        var e = Assert.Throws<ImageException>(() => Pnm.Decode(Ascii("P5 2 1 100\n").Concat(new byte[] { 5, 101 }).ToArray(), "x.pgm"));
        Assert.Contains("sample 101 at position 1 exceeds maxval 100", e.Message);
    }

    [Theory]
    [InlineData("P6", 65535)]
    [InlineData("P3", 255)]
    public void Truncation_at_every_length_is_an_image_exception(string kind, int max)
    {
        var image = new Image(3, 2, 3, [.. Enumerable.Range(0, 18).Select(i => (byte)(i * 13))]);
        var bytes = Pnm.Encode(image, plain: kind == "P3", maxVal: max);
        int checkedCuts = 0;
        for (int n = 0; n < bytes.Length; n++)
        {
            // A plain file cut inside its trailing whitespace is still complete.
            if (kind == "P3" && bytes.AsSpan(n).IndexOfAnyExcept((byte)' ', (byte)'\n') < 0) continue;
            // A plain file cut inside the last number is a shorter, valid sample: skip those cuts.
            if (kind == "P3" && n > 0 && char.IsAsciiDigit((char)bytes[n - 1]) && bytes.AsSpan(n).IndexOfAny((byte)' ', (byte)'\n') == bytes.Length - n - 1) continue;
            Assert.Throws<ImageException>(() => Pnm.Decode(bytes.AsSpan(0, n)));
            checkedCuts++;
        }
        Assert.True(checkedCuts > bytes.Length / 2);
    }

    [Fact]
    public void Mutated_files_decode_or_throw_only_image_exception()
    {
        var image = new Image(6, 4, 3, [.. Enumerable.Range(0, 72).Select(i => (byte)(i * 7))]);
        var files = new[] { Pnm.Encode(image), Pnm.Encode(image, plain: true), Pnm.Encode(image, maxVal: 1000) };
        var rng = new Random(11);
        int decoded = 0, failed = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            var file = (byte[])files[trial % files.Length].Clone();
            int edits = 1 + rng.Next(3);
            for (int k = 0; k < edits; k++) file[rng.Next(Math.Min(file.Length, 24))] = (byte)(rng.Next(3) == 0 ? rng.Next(256) : "0123456789 #\nP"[rng.Next(14)]);
            try
            {
                var back = Pnm.Decode(file);
                Assert.True(back.Width > 0 && back.Height > 0);
                decoded++;
            }
            catch (ImageException)
            {
                failed++;
            }
        }
        output.WriteLine($"{decoded} mutations decoded, {failed} threw ImageException");
        Assert.True(failed > 0);
    }

    [Fact]
    public void Save_writes_atomically_and_leaves_no_temporary_file()
    {
        using var dir = new TempDir();
        var path = dir.File("a.ppm");
        var image = new Image(2, 2, 3, [.. Enumerable.Range(0, 12).Select(i => (byte)(i * 20))]);
        Pnm.Save(path, image);
        Pnm.Save(path, image, plain: true);
        Assert.Equal(image.Pixels, Pnm.Load(path).Pixels);
        Assert.Equal(["a.ppm"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.StartsWith("P3", File.ReadAllText(path));
    }
}
