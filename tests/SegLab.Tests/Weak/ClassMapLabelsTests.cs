// Tests of the shared label step of CAM pseudo-masks and iSeg: normalisations, background rules, tag restriction.
using SegLab.Engine;
using SegLab.Weak;

namespace SegLab.Tests.Weak;

public sealed class ClassMapLabelsTests
{
    [Fact]
    public void Max_normalisation_clamps_negatives_and_scales_the_maximum_to_about_one()
    {
        var m = ClassMapLabels.Normalise(Tensor.FromArray([-1f, 2f, 4f, 1f], 1, 2, 2), MapNormalisation.Max).ToArray();
        Assert.Equal(0, m[0]);
        Assert.Equal(2 / (4 + 1e-5), m[1], 5);
        Assert.Equal(4 / (4 + 1e-5), m[2], 5);
    }

    [Fact]
    public void Min_max_normalisation_maps_to_zero_one_and_a_constant_plane_to_zero()
    {
        var m = ClassMapLabels.Normalise(Tensor.FromArray([1f, 3f, 5f, 2f, 2f, 2f], 2, 1, 3), MapNormalisation.MinMax).ToArray();
        Assert.Equal([0f, 0.5f, 1f, 0f, 0f, 0f], m);
    }

    [Fact]
    public void Constant_background_wins_below_its_threshold_and_ties_go_to_background()
    {
        // two classes, four pixels
        var maps = Tensor.FromArray([0.9f, 0.1f, 0.15f, 0.3f, /* class 1 */ 0.2f, 0.05f, 0.1f, 0.6f], 2, 2, 2);
        var l = ClassMapLabels.Labels(maps, null, BackgroundRule.Constant(0.15), 255);
        Assert.Equal(new byte[] { 0, 255, 255, 1 }, l);
    }

    [Fact]
    public void Power_background_follows_one_minus_max_to_the_alpha()
    {
        // max 0.5 -> bg (0.5)^2 = 0.25 < 0.5: class; max 0.3 -> bg 0.49 > 0.3: background
        var maps = Tensor.FromArray([0.5f, 0.3f], 1, 1, 2);
        Assert.Equal(new byte[] { 0, 9 }, ClassMapLabels.Labels(maps, null, BackgroundRule.Power(2), 9));
        Assert.Equal(new byte[] { 0, 0 }, ClassMapLabels.Labels(maps, null, BackgroundRule.Power(16), 9));
    }

    [Fact]
    public void Only_tagged_classes_can_win()
    {
        var maps = Tensor.FromArray([0.9f, 0.2f, /* class 1 */ 0.5f, 0.8f], 2, 1, 2);
        Assert.Equal(new byte[] { 1, 1 }, ClassMapLabels.Labels(maps, [1], BackgroundRule.Constant(0.15), 255));
        Assert.Equal(new byte[] { 255, 255 }, ClassMapLabels.Labels(maps, [], BackgroundRule.Constant(0.15), 255));
        Assert.Contains("class 5", Assert.Throws<ArgumentException>(() => ClassMapLabels.Labels(maps, [5], BackgroundRule.Constant(0.15), 255)).Message);
    }

    [Theory]
    [InlineData("0.15", 0.15, null)]
    [InlineData("pow:2", 0, 2.0)]
    [InlineData("POW:16", 0, 16.0)]
    public void Background_rules_parse(string text, double threshold, double? alpha)
        => Assert.Equal(new BackgroundRule(threshold, alpha), BackgroundRule.Parse(text));

    [Theory]
    [InlineData("1.5")]
    [InlineData("pow:0")]
    [InlineData("pow:x")]
    [InlineData("high")]
    public void Bad_background_rules_name_the_text(string text)
        => Assert.Contains($"'{text}'", Assert.Throws<ArgumentException>(() => BackgroundRule.Parse(text)).Message);

    [Fact]
    public void Resize_keeps_a_constant_plane_and_changes_the_size()
    {
        var r = ClassMapLabels.Resize(Tensor.Full(0.4f, 3, 4, 5), 8, 10);
        Assert.Equal(new[] { 3, 8, 10 }, r.ShapeArray());
        Assert.All(r.ToArray(), v => Assert.Equal(0.4f, v, 5));
    }
}
