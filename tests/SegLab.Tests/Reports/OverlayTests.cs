// Tests of the report images: planar floats to bytes, label maps in palette colours with ignored pixels black,
// blends, error maps, magnified perturbations, box and nearest down-scaling, and embedded PNGs that decode to the
// expected size with the repository's decoder.
using SegLab.Imaging;
using SegLab.Reports;

namespace SegLab.Tests.Reports;

public class OverlayTests
{
    private static readonly byte[] Palette = [128, 64, 128, 70, 70, 70, 250, 170, 30];
    private const int Ignore = 255;

    private static int[] RandomLabels(int n, int seed, double ignoreShare = 0.2)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextDouble() < ignoreShare ? Ignore : rng.Next(3)).ToArray();
    }

    [Fact]
    public void Label_colours_equal_the_palette_and_ignored_pixels_are_black()
    {
        const int W = 13, H = 7;
        var labels = RandomLabels(W * H, seed: 3);
        Assert.Contains(Ignore, labels);
        var image = Overlay.Labels(labels, W, H, Palette, Ignore);
        Assert.Equal(ImageScaling.Nearest, image.Scaling);
        for (int i = 0; i < labels.Length; i++)
        {
            var expected = labels[i] == Ignore ? Overlay.IgnoreColour : (Palette[3 * labels[i]], Palette[3 * labels[i] + 1], Palette[3 * labels[i] + 2]);
            Assert.Equal(expected, image.Pixel(i % W, i / W));
        }
        Assert.Throws<ArgumentException>(() => Overlay.Labels([0, 3], 2, 1, Palette, Ignore));
        Assert.Throws<ArgumentException>(() => Overlay.Labels([0, -1], 2, 1, Palette, Ignore));
        Assert.Throws<ArgumentException>(() => Overlay.Labels([0, 1, 2], 2, 1, Palette, Ignore));
    }

    [Fact]
    public void Blend_mixes_image_and_class_colour_and_leaves_ignored_pixels_alone()
    {
        float[] rgb = [0.4f, 1.0f, 0.4f, 1.0f, 0.8f, 0.6f]; // 2x1 pixels, planar
        int[] labels = [2, Ignore];
        var half = Overlay.Blend(rgb, labels, 2, 1, Palette, Ignore, alpha: 0.5);
        Assert.Equal(((byte)176, (byte)136, (byte)117), half.Pixel(0, 0)); // (102 + 250) / 2, (102 + 170) / 2, (204 + 30) / 2
        Assert.Equal(((byte)255, (byte)255, (byte)153), half.Pixel(1, 0));
        var full = Overlay.Blend(rgb, labels, 2, 1, Palette, Ignore, alpha: 1);
        Assert.Equal(((byte)250, (byte)170, (byte)30), full.Pixel(0, 0));
        Assert.Throws<ArgumentException>(() => Overlay.Blend(rgb, labels, 2, 1, Palette, Ignore, alpha: 1.5));
    }

    [Fact]
    public void Error_map_shows_correct_wrong_and_ignored()
    {
        int[] gt = [0, 1, 2, Ignore, 1, 0];
        int[] pred = [0, 2, 2, 1, 1, 1];
        var e = Overlay.Error(pred, gt, 3, 2, Ignore);
        Assert.Equal(Overlay.CorrectColour, e.Pixel(0, 0));
        Assert.Equal(Overlay.WrongColour, e.Pixel(1, 0));
        Assert.Equal(Overlay.CorrectColour, e.Pixel(2, 0));
        Assert.Equal(Overlay.IgnoreColour, e.Pixel(0, 1));
        Assert.Equal(Overlay.CorrectColour, e.Pixel(1, 1));
        Assert.Equal(Overlay.WrongColour, e.Pixel(2, 1));
        Assert.Equal(3, Overlay.ErrorLegend().Count);
    }

    [Fact]
    public void Thin_errors_survive_shrinking_an_error_map()
    {
        const int W = 64, H = 16;
        var gt = new int[W * H];
        var pred = new int[W * H];
        for (int y = 0; y < H; y++) pred[y * W + 33] = 1; // a one-pixel-wide wrong column at an odd x
        var small = Overlay.Error(pred, gt, W, H, Ignore).Downscale(W / 2);
        var column = small.Pixel(16, 3);
        Assert.NotEqual(Overlay.CorrectColour, column);
        Assert.Equal((byte)((Overlay.CorrectColour.R + Overlay.WrongColour.R + 1) / 2), column.R);
        Assert.Equal(Overlay.CorrectColour, small.Pixel(5, 3));
    }

    [Fact]
    public void Magnify_maps_minus_eps_zero_plus_eps_to_black_grey_white()
    {
        const double Eps = 8 / 255.0;
        float e = (float)Eps;
        float[] delta = [-e, 0, e, 2 * e, e / 2, 0, 0, 0, -e, 0, 0, 0]; // 4x1, planar
        var m = Overlay.Magnify(delta, 4, 1, Eps);
        Assert.Equal(((byte)0, (byte)191, (byte)0), m.Pixel(0, 0));
        Assert.Equal(((byte)128, (byte)128, (byte)128), m.Pixel(1, 0));
        Assert.Equal(((byte)255, (byte)128, (byte)128), m.Pixel(2, 0));
        Assert.Equal(((byte)255, (byte)128, (byte)128), m.Pixel(3, 0));
        Assert.Throws<ArgumentException>(() => Overlay.Magnify(delta, 4, 1, 0));
    }

    [Fact]
    public void FromRgb_reads_planar_floats_clamped()
    {
        float[] planar = [0f, 0.5f, 1f, 2f, -1f, float.NaN, 0.2f, 0.4f, 0.6f];
        var image = ReportImage.FromRgb(planar, 3, 1);
        Assert.Equal(((byte)0, (byte)255, (byte)51), image.Pixel(0, 0));
        Assert.Equal(((byte)128, (byte)0, (byte)102), image.Pixel(1, 0));
        Assert.Equal(((byte)255, (byte)0, (byte)153), image.Pixel(2, 0));
        Assert.Throws<ArgumentException>(() => ReportImage.FromRgb(planar, 2, 2));
    }

    [Fact]
    public void FromImage_expands_grey_and_palettes()
    {
        var grey = ReportImage.FromImage(new Image(2, 1, 1, [10, 200]));
        Assert.Equal(((byte)200, (byte)200, (byte)200), grey.Pixel(1, 0));
        var pal = ReportImage.FromImage(new Image(2, 1, 1, [1, 0], palette: [1, 2, 3, 4, 5, 6]));
        Assert.Equal(((byte)4, (byte)5, (byte)6), pal.Pixel(0, 0));
        Assert.Equal(ImageScaling.Nearest, pal.Scaling);
        var rgba = ReportImage.FromImage(new Image(1, 1, 4, [7, 8, 9, 0]));
        Assert.Equal(((byte)7, (byte)8, (byte)9), rgba.Pixel(0, 0));
    }

    [Fact]
    public void Box_downscale_averages_and_nearest_keeps_exact_colours()
    {
        var rgb = new byte[4 * 2 * 3];
        for (int x = 0; x < 4; x++)
            for (int y = 0; y < 2; y++)
                rgb[3 * (y * 4 + x)] = (byte)(x * 60 + y * 20);
        var box = new ReportImage(4, 2, rgb).Downscale(2);
        Assert.Equal((2, 1), (box.Width, box.Height));
        Assert.Equal(((byte)40, (byte)0, (byte)0), box.Pixel(0, 0)); // mean of 0, 60, 20, 80
        Assert.Equal(((byte)160, (byte)0, (byte)0), box.Pixel(1, 0)); // mean of 120, 180, 140, 200

        var labels = RandomLabels(640 * 360, seed: 11);
        var map = Overlay.Labels(labels, 640, 360, Palette, Ignore);
        var small = map.Downscale(320);
        Assert.Equal((320, 180), (small.Width, small.Height));
        var allowed = Enumerable.Range(0, 3).Select(i => (Palette[3 * i], Palette[3 * i + 1], Palette[3 * i + 2])).Append(Overlay.IgnoreColour).ToHashSet();
        for (int y = 0; y < small.Height; y += 7)
            for (int x = 0; x < small.Width; x += 5) Assert.Contains(small.Pixel(x, y), allowed);
        Assert.Same(map, map.Downscale(1000));
    }

    [Fact]
    public void Image_rows_embed_thumbnails_that_decode_to_the_expected_size()
    {
        var rng = new Random(5);
        var photo = new float[3 * 360 * 480];
        for (int i = 0; i < photo.Length; i++) photo[i] = (float)rng.NextDouble();
        var labels = RandomLabels(360 * 480, seed: 6);
        var row = new ImageRow("0016E5_07959: image mIoU 41.2")
            .Add(ReportImage.FromRgb(photo, 480, 360), "image")
            .Add(Overlay.Labels(labels, 480, 360, Palette, Ignore), "ground truth")
            .Add(new ReportImage(2, 3, new byte[18]), "tiny");
        var root = row.Render();
        var images = root.Descendants("img").ToList();
        Assert.Equal(3, images.Count);
        var sizes = images.Select(i => ReportXml.DecodeDataUri((string)i.Attribute("src")!)).Select(d => (d.Width, d.Height, d.Channels)).ToList();
        Assert.Equal([(320, 240, 3), (320, 240, 3), (2, 3, 3)], sizes);
        Assert.Equal(["320", "320", "2"], images.Select(i => (string?)i.Attribute("width")));
        Assert.Equal(["image", "ground truth", "tiny"], root.Descendants("figcaption").Select(f => f.Value));
        // The decoded label thumbnail holds exactly the downscaled colours.
        var decoded = ReportXml.DecodeDataUri((string)images[1].Attribute("src")!);
        Assert.Equal(row.Images[1].Rgb, decoded.Pixels);
    }

    [Fact]
    public void Legend_has_a_swatch_per_class_in_palette_colours()
    {
        var legend = new ColourLegend(["road", "building", "sign"], Palette);
        Assert.Equal(4, legend.Count);
        var swatches = legend.Render().Descendants("span").Where(s => (string?)s.Attribute("class") == "swatch").Select(s => (string?)s.Attribute("style")).ToList();
        Assert.Equal(["background:#804080", "background:#464646", "background:#faaa1e", "background:#000000"], swatches);
        Assert.Throws<ArgumentException>(() => new ColourLegend(["a", "b", "c", "d"], Palette));
        Assert.Equal("#faaa1e", Overlay.Hex(Palette, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Overlay.Hex(Palette, 3));
    }
}
