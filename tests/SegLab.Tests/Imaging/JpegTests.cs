// Tests of JPEG decoding and encoding through SkiaSharp: JPEGs made in the test (Jpeg.Encode) decode to the encoded
// pixels within a stated tolerance (mean |error| under 2.5 levels at 4:4:4, 5 subsampled; max under 40), for RGB and
// grey, several subsamplings and odd sizes; truncated and mutated data give only ImageException naming the file; a
// machine where libSkiaSharp does not load gets a clear error. Tests that need libSkiaSharp skip where it is missing.
using SegLab.Imaging;
using Xunit.Abstractions;

namespace SegLab.Tests.Imaging;

public class JpegTests(ITestOutputHelper output)
{
    private static void RequireLibrary() =>
        Skip.IfNot(Jpeg.IsAvailable, $"SkiaSharp's native library does not load here ({SkiaCodec.LoadError})");

    /// <summary>Smooth colour gradients (what JPEG keeps well), so that a small error bound is fair.</summary>
    private static Image Smooth(int width, int height, int channels)
    {
        var pixels = new byte[width * height * channels];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    pixels[(y * width + x) * channels + c] = (byte)(128 + 100 * Math.Sin(0.11 * x * (c + 1) + 0.07 * y + c));
        return new Image(width, height, channels, pixels);
    }

    private static (double Mean, int Max) Difference(Image a, Image b)
    {
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.Pixels.Length; i++)
        {
            int d = Math.Abs(a.Pixels[i] - b.Pixels[i]);
            sum += d;
            max = Math.Max(max, d);
        }
        return ((double)sum / a.Pixels.Length, max);
    }

    [SkippableTheory]
    [InlineData(32, 24, 3, JpegSubsampling.None)]
    [InlineData(33, 17, 3, JpegSubsampling.Quarter)]
    [InlineData(9, 40, 3, JpegSubsampling.Half)]
    [InlineData(31, 13, 1, JpegSubsampling.None)]
    public void Encoded_images_decode_close_to_the_original(int width, int height, int channels, JpegSubsampling subsampling)
    {
        RequireLibrary();
        var image = Smooth(width, height, channels);
        var jpeg = Jpeg.Encode(image, quality: 95, subsampling);
        Assert.Equal(ImageFormat.Jpeg, ImageIO.Detect(jpeg));
        var back = Jpeg.Decode(jpeg, "made.jpg");
        Assert.Equal((width, height, channels, 8), (back.Width, back.Height, back.Channels, back.BitDepth));
        var (mean, max) = Difference(image, back);
        output.WriteLine($"{width}x{height}x{channels} subsampling {subsampling}: mean |error| {mean:F2}, max {max}");
        // Subsampled chroma loses detail of these colour gradients: a looser bound for it.
        Assert.True(mean < (subsampling == JpegSubsampling.None ? 2.5 : 5), $"mean error {mean}");
        Assert.True(max < 40, $"max error {max}");
    }

    [SkippableFact]
    public void Lower_quality_gives_larger_errors()
    {
        RequireLibrary();
        var image = Smooth(48, 32, 3);
        var (high, _) = Difference(image, Jpeg.Decode(Jpeg.Encode(image, quality: 98)));
        var (low, _) = Difference(image, Jpeg.Decode(Jpeg.Encode(image, quality: 10)));
        Assert.True(low > high, $"quality 10 error {low} should exceed quality 98 error {high}");
    }

    [Fact]
    public void Without_the_native_library_decoding_says_so_and_png_still_works()
    {
        var rgb = new Image(5, 3, 3, [.. Enumerable.Range(0, 45).Select(i => (byte)(i * 5))]);
        var png = Png.Encode(rgb);
        SkiaCodec.SimulateMissing = true;
        try
        {
            Assert.False(Jpeg.IsAvailable);
            var e = Assert.Throws<ImageException>(() => ImageIO.Decode(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0 }, "photo.jpg"));
            Assert.Contains("photo.jpg", e.Message);
            Assert.Contains("libSkiaSharp", e.Message);
            // PNG falls back to SegLab's own managed decoder.
            Assert.Equal(rgb.Pixels, ImageIO.Decode(png, "still.png").Pixels);
        }
        finally
        {
            SkiaCodec.SimulateMissing = false;
        }
    }

    [SkippableFact]
    public void Data_that_is_not_a_jpeg_is_rejected_with_the_name()
    {
        RequireLibrary();
        var e = Assert.Throws<ImageException>(() => Jpeg.Decode(new byte[] { 1, 2, 3, 4, 5 }, "x.jpg"));
        Assert.Contains("x.jpg", e.Message);
        Assert.Throws<ImageException>(() => Jpeg.Decode(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0 }));
    }

    [SkippableFact]
    public void Truncated_data_gives_image_exception()
    {
        RequireLibrary();
        var jpeg = Jpeg.Encode(Smooth(40, 30, 3), 90);
        for (int percent = 0; percent < 100; percent += 5)
        {
            int n = jpeg.Length * percent / 100;
            var e = Assert.Throws<ImageException>(() => Jpeg.Decode(jpeg.AsSpan(0, n), "cut.jpg"));
            Assert.Contains("cut.jpg", e.Message);
        }
    }

    [SkippableFact]
    public void Mutated_data_decodes_or_throws_only_image_exception()
    {
        RequireLibrary();
        var jpeg = Jpeg.Encode(Smooth(24, 16, 3), 85, JpegSubsampling.Quarter);
        var rng = new Random(5);
        int decoded = 0, failed = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var file = (byte[])jpeg.Clone();
            int edits = 1 + rng.Next(4);
            for (int k = 0; k < edits; k++)
            {
                // Half of the edits hit the headers (first 200 bytes), where most of the structure is.
                int at = rng.Next(2) == 0 ? rng.Next(Math.Min(200, file.Length)) : rng.Next(file.Length);
                file[at] = (byte)rng.Next(256);
            }
            if (trial % 10 == 0) file = file[..rng.Next(file.Length)];
            try
            {
                var image = Jpeg.Decode(file);
                Assert.True(image.Width > 0 && image.Height > 0);
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
}
