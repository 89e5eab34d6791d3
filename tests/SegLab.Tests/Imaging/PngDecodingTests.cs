// Tests of the per-file PNG decoder choice: SkiaSharp takes only sound 8-bit grey, RGB and RGBA files and gives the
// same samples as the own codec; palette, 16-bit, grey + alpha, low-bit and tRNS files stay on the own codec (indices
// and 16-bit samples kept); a bad file gives the own codec's PngException either way; and every CamVid PNG (images and
// labels) decodes bit for bit the same with both decoders.
using SegLab.Imaging;
using Xunit.Abstractions;

namespace SegLab.Tests.Imaging;

public class PngDecodingTests(ITestOutputHelper output)
{
    private static int[] Samples(int count, int max, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => rng.Next(max + 1))];
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, false)]
    [InlineData(6, false)]
    [InlineData(2, true)]
    [InlineData(0, true)]
    public void Eligible_files_go_to_skiasharp_and_decode_as_the_own_codec_does(int colour, bool interlace)
    {
        int channels = PngTestWriter.ChannelsOf(colour);
        var file = PngTestWriter.Build(23, 19, colour, 8, Samples(23 * 19 * channels, 255, colour), interlace, (pass, row) => (pass + row) % 5);
        Assert.True(PngDecoding.SkiaDecodesExactly(file));
        var own = PngDecoding.Decode(file, "x.png", PngDecoder.Own);
        var auto = PngDecoding.Decode(file, "x.png", PngDecoder.Auto);
        var skia = SkiaCodec.Decode(file, ImageFormat.Png, "x.png");
        Assert.Equal((own.Width, own.Height, own.Channels), (skia.Width, skia.Height, skia.Channels));
        Assert.Equal(own.Pixels, skia.Pixels);
        Assert.Equal(own.Pixels, auto.Pixels);
    }

    [Fact]
    public void Palette_16_bit_grey_alpha_low_bit_and_trns_files_stay_on_the_own_codec()
    {
        var palette = Enumerable.Range(0, 5 * 3).Select(i => (byte)(i * 17)).ToArray();
        var indices = PngTestWriter.Build(6, 4, 3, 8, Samples(24, 4, 1), palette: palette);
        var deep = PngTestWriter.Build(6, 4, 0, 16, Samples(24, 65535, 2));
        var greyAlpha = PngTestWriter.Build(6, 4, 4, 8, Samples(48, 255, 3));
        var lowBit = PngTestWriter.Build(6, 4, 0, 2, Samples(24, 3, 4));
        var rgb = PngTestWriter.Build(6, 4, 2, 8, Samples(72, 255, 5));
        var keyed = PngTestWriter.File(("IHDR", PngTestWriter.Header(6, 4, 8, 2)), ("tRNS", [0, 1, 0, 2, 0, 3]),
            ("IDAT", PngTestWriter.Scanlines(6, 4, 2, 8, Samples(72, 255, 5), false, (_, _) => 0)), ("IEND", []));
        foreach (var file in new[] { indices, deep, greyAlpha, lowBit, keyed })
        {
            Assert.False(PngDecoding.SkiaDecodesExactly(file));
            var auto = ImageIO.Decode(file, "kept.png");
            var own = Png.Decode(file, "kept.png");
            Assert.Equal((own.Channels, own.BitDepth, own.PaletteCount), (auto.Channels, auto.BitDepth, auto.PaletteCount));
            Assert.Equal(own.Pixels, auto.Pixels);
            Assert.Equal(own.Pixels16, auto.Pixels16);
        }
        Assert.True(PngDecoding.SkiaDecodesExactly(rgb));
        // Label ids read as indices: never colour-converted.
        Assert.Equal(Samples(24, 4, 1).Select(v => (byte)v), ImageIO.Decode(indices, "label.png").Pixels);
        Assert.Equal(Samples(24, 65535, 2).Select(v => (ushort)v), ImageIO.Decode(deep, "deep.png").Pixels16!);
    }

    [Fact]
    public void A_damaged_file_gives_the_own_codecs_png_exception_whichever_decoder_is_chosen()
    {
        var good = PngTestWriter.Build(16, 8, 2, 8, Samples(16 * 8 * 3, 255, 6));
        int idat = good.AsSpan().IndexOf("IDAT"u8) + 4; // the first IDAT's data
        var badCrc = (byte[])good.Clone();
        badCrc[idat + 5] ^= 0x10; // its CRC no longer matches
        var badZlib = (byte[])good.Clone();
        badZlib[idat] = 0x7F; // the zlib header's CMF byte: compression method 15 does not exist
        PngTestWriter.FixCrcs(badZlib); // a sound chunk structure around a damaged deflate stream: SkiaSharp is tried first
        Assert.True(PngDecoding.SkiaDecodesExactly(badZlib));
        foreach (var (file, what) in new[] { (badCrc, "CRC"), (badZlib, "zlib"), (good[..(good.Length - 20)], "truncated") })
        {
            string own = Assert.Throws<PngException>(() => PngDecoding.Decode(file, $"{what}.png", PngDecoder.Own)).Message;
            string auto = Assert.Throws<PngException>(() => PngDecoding.Decode(file, $"{what}.png", PngDecoder.Auto)).Message;
            Assert.Equal(own, auto);
            Assert.Contains($"{what}.png", auto);
        }
    }

    [Fact]
    public void The_decoder_variable_is_parsed_strictly()
    {
        Assert.Equal(PngDecoder.Auto, PngDecoding.Parse(null));
        Assert.Equal(PngDecoder.Auto, PngDecoding.Parse(" Auto "));
        Assert.Equal(PngDecoder.Own, PngDecoding.Parse("own"));
        Assert.Contains(PngDecoding.Variable, Assert.Throws<ArgumentException>(() => PngDecoding.Parse("skia")).Message);
    }

    [SkippableFact]
    public void Every_camvid_png_decodes_identically_with_skiasharp_and_the_own_codec()
    {
        var root = Path.Combine(TestPaths.RequireShared("the CamVid PNGs"), "data", "camvid");
        Skip.IfNot(Directory.Exists(root), $"no CamVid folder at {root}");
        int files = 0, viaSkia = 0;
        foreach (var folder in new[] { "val", "valannot", "train", "trainannot" })
        {
            foreach (var path in Directory.EnumerateFiles(Path.Combine(root, folder), "*.png").Order(StringComparer.Ordinal))
            {
                var data = File.ReadAllBytes(path);
                var own = Png.Decode(data, path);
                var skia = SkiaCodec.Decode(data, ImageFormat.Png, path);
                Assert.True((own.Width, own.Height, own.Channels) == (skia.Width, skia.Height, skia.Channels), $"{path}: {own.Width}x{own.Height}x{own.Channels} own, {skia.Width}x{skia.Height}x{skia.Channels} SkiaSharp");
                Assert.True(own.Pixels.AsSpan().SequenceEqual(skia.Pixels), $"{path}: the samples differ");
                files++;
                if (PngDecoding.SkiaDecodesExactly(data)) viaSkia++;
            }
        }
        output.WriteLine($"{files} CamVid PNGs identical; {viaSkia} of them go to SkiaSharp by default");
        Assert.True(files >= 4, $"only {files} CamVid PNGs found");
        Assert.Equal(files, viaSkia);
    }
}
