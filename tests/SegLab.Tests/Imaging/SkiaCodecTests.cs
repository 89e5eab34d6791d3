// Tests of the SkiaSharp codecs: round trips per format (PNG both ways and BMP exact, WebP lossless exact, lossy WebP
// only close), truncated and corrupted files give an ImageException naming the file at every length, a header that
// declares more pixels than the file can hold is refused before the pixels are allocated, and a missing libSkiaSharp
// gives one clear error.
using System.Buffers.Binary;
using SegLab.Imaging;

namespace SegLab.Tests.Imaging;

public class SkiaCodecTests
{
    // Noise, so that no codec can do well by smoothing; every value 0..255 occurs.
    private static Image Noise(int width, int height, int channels, int seed, bool opaqueAlpha = false)
    {
        var rng = new Random(seed);
        var pixels = new byte[width * height * channels];
        rng.NextBytes(pixels);
        if (channels == 4)
            for (int i = 3; i < pixels.Length; i += 4) pixels[i] = opaqueAlpha ? (byte)255 : (byte)Math.Max(1, (int)pixels[i]);
        return new Image(width, height, channels, pixels);
    }

    private static Image Rgb(Image grey)
    {
        var rgb = new byte[grey.Pixels.Length * 3];
        for (int i = 0; i < grey.Pixels.Length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey.Pixels[i];
        return new Image(grey.Width, grey.Height, 3, rgb);
    }

    private static void AssertSame(Image expected, Image actual)
    {
        Assert.Equal((expected.Width, expected.Height, expected.Channels), (actual.Width, actual.Height, actual.Channels));
        Assert.Equal(expected.Pixels, actual.Pixels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void Png_round_trips_are_exact_between_skiasharp_and_the_own_codec(int channels)
    {
        var image = Noise(37, 21, channels, seed: channels);
        AssertSame(image, Png.Decode(SkiaCodec.Encode(image, ImageFormat.Png), "skia.png"));
        AssertSame(image, SkiaCodec.Decode(Png.Encode(image), ImageFormat.Png, "own.png"));
        AssertSame(image, SkiaCodec.Decode(SkiaCodec.Encode(image, ImageFormat.Png), ImageFormat.Png, "skia.png"));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void Bmp_round_trips_are_exact(int channels)
    {
        var image = Noise(13, 7, channels, seed: 10 + channels); // 13 * 3 bytes: rows padded to 4
        var bmp = Bmp.Encode(image);
        Assert.Equal(ImageFormat.Bmp, ImageIO.Detect(bmp));
        AssertSame(image, ImageIO.Decode(bmp, "made.bmp"));
    }

    [Fact]
    public void Grey_images_come_back_as_rgb_from_bmp_and_webp()
    {
        var grey = Noise(9, 5, 1, seed: 3);
        AssertSame(Rgb(grey), Bmp.Decode(Bmp.Encode(grey), "grey.bmp"));
        AssertSame(Rgb(grey), Webp.Decode(Webp.Encode(grey), "grey.webp"));
    }

    [Theory]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(4, true)]
    public void Lossless_webp_round_trips_are_exact(int channels, bool opaqueAlpha)
    {
        var image = Noise(31, 17, channels, seed: 20 + channels, opaqueAlpha);
        var webp = Webp.Encode(image, quality: 100);
        Assert.Equal(ImageFormat.Webp, ImageIO.Detect(webp));
        var back = ImageIO.Decode(webp, "made.webp");
        // An RGBA image whose alpha is all 255 is opaque: it comes back as RGB.
        AssertSame(opaqueAlpha ? Rgb3(image) : image, back);
    }

    private static Image Rgb3(Image rgba)
    {
        var rgb = new byte[rgba.Width * rgba.Height * 3];
        for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3) (rgb[o], rgb[o + 1], rgb[o + 2]) = (rgba.Pixels[i], rgba.Pixels[i + 1], rgba.Pixels[i + 2]);
        return new Image(rgba.Width, rgba.Height, 3, rgb);
    }

    [Fact]
    public void Lossy_webp_is_close_but_not_exact()
    {
        var pixels = new byte[48 * 32 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(128 + 90 * Math.Sin(0.05 * (i / 3 % 48) + 0.08 * (i / 144) + i % 3));
        var image = new Image(48, 32, 3, pixels);
        var back = Webp.Decode(Webp.Encode(image, quality: 90), "lossy.webp");
        double mean = image.Pixels.Zip(back.Pixels, (a, b) => Math.Abs(a - b)).Average();
        Assert.NotEqual(image.Pixels, back.Pixels);
        Assert.True(mean < 4, $"mean |error| {mean}");
    }

    private static readonly string[] FormatNames = ["jpg", "webp", "bmp"];

    public static TheoryData<string> Formats() => [.. FormatNames];

    private static byte[] Encode(string format, Image image) => format switch
    {
        "jpg" => Jpeg.Encode(image, 90),
        "webp" => Webp.Encode(image),
        _ => Bmp.Encode(image),
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_truncation_is_an_image_exception_naming_the_file(string format)
    {
        var file = Encode(format, Noise(24, 16, 3, seed: 7));
        using var dir = new Data.TempDir();
        for (int n = 0; n < file.Length; n += Math.Max(1, file.Length / 97))
        {
            string path = dir.File($"cut-{n}.{format}");
            File.WriteAllBytes(path, file[..n]);
            var e = Assert.ThrowsAny<ImageException>(() => ImageIO.Load(path));
            Assert.Contains(path, e.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Garbage_after_the_magic_is_an_image_exception_naming_the_file(string format)
    {
        var file = Encode(format, Noise(24, 16, 3, seed: 8));
        int keep = format == "webp" ? 12 : format == "bmp" ? 2 : 3;
        var rng = new Random(9);
        for (int trial = 0; trial < 20; trial++)
        {
            var bad = (byte[])file.Clone();
            rng.NextBytes(bad.AsSpan(keep));
            var e = Assert.ThrowsAny<ImageException>(() => ImageIO.Decode(bad, $"garbage.{format}"));
            Assert.Contains($"garbage.{format}", e.Message);
        }
    }

    [Fact]
    public void A_header_declaring_more_pixels_than_the_file_can_hold_is_refused()
    {
        var bmp = Bmp.Encode(Noise(4, 4, 3, seed: 1));
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 30000);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), 30000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageException>(() => ImageIO.Decode(bmp, "huge.bmp"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("huge.bmp", e.Message);
        Assert.Contains("30000x30000", e.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes before refusing");
        Assert.True(SkiaCodec.PixelLimit(ImageFormat.Bmp, bmp.Length) < 30000L * 30000);
    }

    [Fact]
    public void The_decoder_is_not_fooled_by_a_format_it_was_not_asked_for()
    {
        var png = Png.Encode(Noise(3, 3, 3, seed: 2));
        var e = Assert.Throws<ImageException>(() => SkiaCodec.Decode(png, ImageFormat.Webp, "named.webp"));
        Assert.Contains("named.webp", e.Message);
        Assert.Contains("PNG", e.Message);
    }

    [Fact]
    public void Without_the_native_library_every_skia_format_fails_clearly()
    {
        var files = FormatNames.Select(f => (Format: f, Bytes: Encode(f, Noise(6, 4, 3, seed: 4)))).ToList();
        SkiaCodec.SimulateMissing = true;
        try
        {
            foreach (var (format, bytes) in files)
            {
                var e = Assert.ThrowsAny<ImageException>(() => ImageIO.Decode(bytes, $"x.{format}"));
                Assert.Contains($"x.{format}", e.Message);
                Assert.Contains("libSkiaSharp", e.Message);
            }
            Assert.Throws<ImageException>(() => Webp.Encode(Noise(2, 2, 3, seed: 5)));
        }
        finally
        {
            SkiaCodec.SimulateMissing = false;
        }
    }

    [Fact]
    public void Encoders_refuse_what_the_format_cannot_hold()
    {
        Assert.Throws<ArgumentException>(() => Jpeg.Encode(Noise(2, 2, 4, seed: 1)));
        Assert.Throws<ArgumentException>(() => SkiaCodec.Encode(Noise(2, 2, 2, seed: 1), ImageFormat.Webp));
        Assert.Throws<ArgumentException>(() => SkiaCodec.Encode(Noise(2, 2, 3, seed: 1), ImageFormat.Bmp));
        Assert.Throws<ArgumentException>(() => Webp.Encode(Noise(2, 2, 3, seed: 1), quality: 0));
    }
}
