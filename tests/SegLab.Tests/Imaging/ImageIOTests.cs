// Tests of ImageIO: the codec is chosen by magic bytes (not the extension), every failure is an ImageException
// (an IOException) naming the file, PngException derives from ImageException, and Save picks the format by extension.
using SegLab.Imaging;
using SegLab.Tests.Data;

namespace SegLab.Tests.Imaging;

public class ImageIOTests
{
    private static readonly Image Rgb = new(3, 2, 3, [.. Enumerable.Range(0, 18).Select(i => (byte)(i * 14))]);

    [Fact]
    public void Detect_reads_the_magic_bytes()
    {
        Assert.Equal(ImageFormat.Png, ImageIO.Detect(Png.Encode(Rgb)));
        Assert.Equal(ImageFormat.Pnm, ImageIO.Detect(Pnm.Encode(Rgb)));
        Assert.Equal(ImageFormat.Pnm, ImageIO.Detect("P2 1 1 1 0"u8));
        Assert.Equal(ImageFormat.Jpeg, ImageIO.Detect([0xFF, 0xD8, 0xFF, 0xE0]));
        Assert.Equal(ImageFormat.Webp, ImageIO.Detect(Webp.Encode(Rgb)));
        Assert.Equal(ImageFormat.Bmp, ImageIO.Detect(Bmp.Encode(Rgb)));
        Assert.Equal(ImageFormat.Unknown, ImageIO.Detect("RIFF\0\0\0\0WAVE"u8));
        Assert.Equal(ImageFormat.Unknown, ImageIO.Detect("P4"u8));
        Assert.Equal(ImageFormat.Unknown, ImageIO.Detect("GIF89a"u8));
        Assert.Equal(ImageFormat.Unknown, ImageIO.Detect([]));
    }

    [Fact]
    public void Load_decodes_by_content_whatever_the_extension()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("png-named.jpg"), Png.Encode(Rgb));
        File.WriteAllBytes(dir.File("ppm-named.png"), Pnm.Encode(Rgb));
        Assert.Equal(Rgb.Pixels, ImageIO.Load(dir.File("png-named.jpg")).Pixels);
        Assert.Equal(Rgb.Pixels, ImageIO.Load(dir.File("ppm-named.png")).Pixels);
        File.WriteAllBytes(dir.File("jpeg-named.ppm"), Jpeg.Encode(Rgb, 100));
        File.WriteAllBytes(dir.File("webp-named.png"), Webp.Encode(Rgb));
        File.WriteAllBytes(dir.File("bmp-named.jpg"), Bmp.Encode(Rgb));
        var back = ImageIO.Load(dir.File("jpeg-named.ppm"));
        Assert.Equal((3, 2, 3), (back.Width, back.Height, back.Channels));
        Assert.Equal(Rgb.Pixels, ImageIO.Load(dir.File("webp-named.png")).Pixels);
        Assert.Equal(Rgb.Pixels, ImageIO.Load(dir.File("bmp-named.jpg")).Pixels);
    }

    [Fact]
    public void Every_error_is_an_image_exception_naming_the_file()
    {
        using var dir = new TempDir();
        var png = Png.Encode(Rgb);
        png[^10] ^= 0xFF;
        var cases = new Dictionary<string, byte[]?>
        {
            ["empty.png"] = [],
            ["text.png"] = "hello world"u8.ToArray(),
            ["badcrc.png"] = png,
            ["cut.ppm"] = Pnm.Encode(Rgb)[..12],
            ["cut.jpg"] = Jpeg.Encode(Rgb)[..40],
            ["cut.webp"] = Webp.Encode(Rgb)[..20],
            ["cut.bmp"] = Bmp.Encode(Rgb)[..60],
            ["missing.png"] = null,
        };
        foreach (var (name, bytes) in cases)
        {
            var path = dir.File(name);
            if (bytes is not null) File.WriteAllBytes(path, bytes);
            var e = Assert.ThrowsAny<ImageException>(() => ImageIO.Load(path));
            Assert.IsAssignableFrom<IOException>(e);
            Assert.Contains(path, e.Message);
        }
        Assert.IsType<PngException>(Assert.ThrowsAny<ImageException>(() => ImageIO.Load(dir.File("badcrc.png"))));
        Assert.Contains("empty", Assert.ThrowsAny<ImageException>(() => ImageIO.Load(dir.File("empty.png"))).Message);
    }

    [Fact]
    public void Save_chooses_the_format_by_extension()
    {
        using var dir = new TempDir();
        ImageIO.Save(dir.File("a.png"), Rgb);
        ImageIO.Save(dir.File("a.ppm"), Rgb);
        ImageIO.Save(dir.File("a.jpg"), Rgb);
        ImageIO.Save(dir.File("a.webp"), Rgb);
        ImageIO.Save(dir.File("a.bmp"), Rgb);
        Assert.Equal(ImageFormat.Jpeg, ImageIO.Detect(File.ReadAllBytes(dir.File("a.jpg"))));
        Assert.Equal(Rgb.Pixels, ImageIO.Load(dir.File("a.webp")).Pixels);
        Assert.Equal(Rgb.Pixels, ImageIO.Load(dir.File("a.bmp")).Pixels);
        Assert.Equal(ImageFormat.Png, ImageIO.Detect(File.ReadAllBytes(dir.File("a.png"))));
        Assert.Equal(ImageFormat.Pnm, ImageIO.Detect(File.ReadAllBytes(dir.File("a.ppm"))));
        Assert.Equal(Rgb.Pixels, ImageIO.Load(dir.File("a.ppm")).Pixels);
        Assert.Throws<ArgumentException>(() => ImageIO.Save(dir.File("a.gif"), Rgb));
    }
}
