// Tests of heat maps: the ramps' ends and middle, scaling to the largest absolute score or a given maximum,
// signed scores centred on white, blending over the image, and the ramp legend.
using SegLab.Reports;

namespace SegLab.Tests.Reports;

public class HeatmapTests
{
    [Fact]
    public void Ramps_run_from_their_first_to_their_last_colour()
    {
        Assert.Equal(((byte)0x44, (byte)0x01, (byte)0x54), Heatmap.Colour(0));
        Assert.Equal(((byte)0xfd, (byte)0xe7, (byte)0x25), Heatmap.Colour(1));
        Assert.Equal(((byte)0x21, (byte)0x91, (byte)0x8c), Heatmap.Colour(0.5));
        Assert.Equal(((byte)0xf7, (byte)0xf7, (byte)0xf7), Heatmap.Colour(0.5, signed: true));
        Assert.Equal(Heatmap.Colour(1), Heatmap.Colour(7));
        Assert.Equal(((byte)128, (byte)128, (byte)128), Heatmap.Colour(double.NaN));
    }

    [Fact]
    public void Scores_are_scaled_to_the_largest_absolute_score_unless_a_maximum_is_given()
    {
        float[] scores = [0, 2, 4, float.NaN, -4, float.PositiveInfinity];
        var auto = Heatmap.Draw(scores, 3, 2);
        Assert.Equal(Heatmap.Colour(0), auto.Pixel(0, 0));
        Assert.Equal(Heatmap.Colour(0.5), auto.Pixel(1, 0));
        Assert.Equal(Heatmap.Colour(1), auto.Pixel(2, 0));
        Assert.Equal(Heatmap.Colour(double.NaN), auto.Pixel(0, 1));
        Assert.Equal(Heatmap.Colour(0), auto.Pixel(1, 1)); // negative clamps to the low end
        Assert.Equal(Heatmap.Colour(1), auto.Pixel(2, 1));
        var fixedMax = Heatmap.Draw(scores, 3, 2, max: 8);
        Assert.Equal(Heatmap.Colour(0.25), fixedMax.Pixel(1, 0));
        var signed = Heatmap.Draw(scores, 3, 2, signed: true);
        Assert.Equal(Heatmap.Colour(0.5, signed: true), signed.Pixel(0, 0));
        Assert.Equal(Heatmap.Colour(0, signed: true), signed.Pixel(1, 1));
        Assert.Equal(Heatmap.Colour(0.75, signed: true), signed.Pixel(1, 0));
        Assert.All(Heatmap.Draw(new float[4], 2, 2).Rgb.Chunk(3), p => Assert.Equal([0x44, 0x01, 0x54], p));
        Assert.Throws<ArgumentException>(() => Heatmap.Draw(scores, 2, 2));
        Assert.Throws<ArgumentException>(() => Heatmap.Draw(scores, 3, 2, max: 0));
    }

    [Fact]
    public void Over_blends_the_heat_colour_with_the_image()
    {
        float[] image = [1, 0, 1, 0, 1, 0]; // 2x1: white-ish magenta then green, planar
        float[] scores = [0, 1];
        var none = Heatmap.Over(image, scores, 2, 1, alpha: 0);
        Assert.Equal(((byte)255, (byte)255, (byte)255), none.Pixel(0, 0));
        var full = Heatmap.Over(image, scores, 2, 1, alpha: 1);
        Assert.Equal(Heatmap.Colour(1), full.Pixel(1, 0));
        var half = Heatmap.Over(image, scores, 2, 1, alpha: 0.5);
        var (r, g, b) = Heatmap.Colour(0);
        Assert.Equal(((byte)Math.Round((255 + r) / 2.0), (byte)Math.Round((255 + g) / 2.0), (byte)Math.Round((255 + b) / 2.0)), half.Pixel(0, 0));
    }

    [Fact]
    public void Legend_labels_the_ends_and_middle()
    {
        var legend = Heatmap.Legend(0.5, signed: true, format: "F2").Render();
        Assert.Equal(["-0.50", "0.00", "0.50"], legend.Elements("span").Select(s => s.Value));
    }
}
