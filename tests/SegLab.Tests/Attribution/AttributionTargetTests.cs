// Targets as values: the score is the class logit summed over the mask, and empty or outside targets are refused
// with a message that says so.
using SegLab.Attribution;

namespace SegLab.Tests.Attribution;

public sealed class AttributionTargetTests
{
    [Fact]
    public void The_score_is_the_class_logit_summed_over_the_mask_and_the_seed_is_its_gradient()
    {
        const int h = 3, w = 4, c = 2;
        var logits = Enumerable.Range(0, c * h * w).Select(i => (float)(i * 0.5)).ToArray();
        var t = AttributionTarget.Box(1, 1, 0, 3, 2, h, w); // columns 1-2, rows 0-1 of class 1
        double expected = 0;
        foreach (int y in new[] { 0, 1 })
            foreach (int x in new[] { 1, 2 }) expected += logits[(1 * h * w) + (y * w) + x];
        Assert.Equal(expected, t.Score(logits), 1e-9);
        var seed = new float[logits.Length];
        t.Seed(seed);
        Assert.Equal(4, seed.Count(v => v == 1f));
        Assert.Equal(expected, seed.Zip(logits).Sum(p => (double)p.First * p.Second), 1e-9);
        Assert.Equal(4, t.Pixels);
    }

    [Fact]
    public void Region_targets_take_the_pixels_of_their_class()
    {
        int[] labels = [0, 1, 1, 2, 1, 0];
        var t = AttributionTarget.FromLabels(1, labels, 2, 3, TargetRegion.GroundTruth);
        Assert.Equal(3, t.Pixels);
        Assert.Equal(TargetRegion.GroundTruth, t.Region);
        Assert.Equal([false, true, true, false, true, false], t.Mask.ToArray());
    }

    [Fact]
    public void Empty_and_outside_targets_are_refused_saying_so()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AttributionTarget.FromMask(0, new bool[6], 2, 3)).Message, StringComparison.Ordinal);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AttributionTarget.FromLabels(5, [0, 1, 2, 3], 2, 2)).Message, StringComparison.Ordinal);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AttributionTarget.Box(0, 3, 1, 3, 2, 4, 4)).Message, StringComparison.Ordinal);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => AttributionTarget.Pixel(0, 4, 0, 4, 4)).Message, StringComparison.Ordinal);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => AttributionTarget.Pixel(0, 0, -1, 4, 4)).Message, StringComparison.Ordinal);
        Assert.Contains("not inside", Assert.Throws<ArgumentException>(() => AttributionTarget.Box(0, 0, 0, 5, 2, 4, 4)).Message, StringComparison.Ordinal);
        Assert.Contains("3x2", Assert.Throws<ArgumentException>(() => AttributionTarget.FromMask(0, new bool[5], 2, 3)).Message, StringComparison.Ordinal);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => AttributionTarget.Pixel(-1, 0, 0, 4, 4)).Message, StringComparison.Ordinal);
    }
}
