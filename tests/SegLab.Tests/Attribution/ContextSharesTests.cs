// The B.1 metric: shares sum to one, a uniform map gives the area fraction, and the statistics of a small map
// computed by hand.
using SegLab.Attribution;
using SegLab.Engine;

namespace SegLab.Tests.Attribution;

public sealed class ContextSharesTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Shares_sum_to_one_for_any_map(long seed)
    {
        var rng = new Rng(seed);
        int n = 200;
        var map = Enumerable.Range(0, n).Select(_ => (float)(rng.NextNormal() * 3)).ToArray();
        var mask = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.3).ToArray();
        var s = ContextShares.Compute(map, mask);
        Assert.Equal(1.0, s.ObjectShare + s.ContextShare, 1e-12);
        Assert.InRange(s.ObjectShare, 0, 1);
        Assert.Equal(mask.Count(b => b) / (double)n, s.AreaFraction, 1e-12);
    }

    [Fact]
    public void A_uniform_map_gives_the_area_fraction_as_its_object_share()
    {
        var map = Enumerable.Repeat(0.7f, 50).ToArray();
        var mask = Enumerable.Range(0, 50).Select(i => i % 5 == 0).ToArray();
        var s = ContextShares.Compute(map, mask);
        Assert.Equal(0.2, s.ObjectShare, 1e-12);
        Assert.Equal(s.AreaFraction, s.ObjectShare, 1e-12);
        Assert.Equal(1.0, s.ObjectNonZeroFraction);
    }

    // map [-1, 0, 2, 4, 1, 3] -> ReLU [0, 0, 2, 4, 1, 3] -> /4 [0, 0, .5, 1, .25, .75]; object = pixels 1, 2, 3.
    [Fact]
    public void Statistics_of_a_small_map_follow_the_definition()
    {
        float[] map = [-1, 0, 2, 4, 1, 3];
        bool[] mask = [false, true, true, true, false, false];
        var s = ContextShares.Compute(map, mask);
        Assert.Equal(2.5, s.Total, 1e-12);
        Assert.Equal(1.5 / 2.5, s.ObjectShare, 1e-12);
        Assert.Equal(1.5 / 3, s.ObjectPerPixel, 1e-12);
        Assert.Equal(1.0 / 3, s.ContextPerPixel, 1e-12);
        Assert.Equal(1.5 / 3, s.ObjectPerNonZero, 1e-12);   // 2 non-zero object pixels, + 1
        Assert.Equal(1.0 / 3, s.ContextPerNonZero, 1e-12);  // 2 non-zero context pixels, + 1
        Assert.Equal(2.0 / 3, s.ObjectNonZeroFraction, 1e-12);
        Assert.Equal(2.0 / 3, s.ContextNonZeroFraction, 1e-12);
        Assert.Equal(0.5, s.AreaFraction, 1e-12);
    }

    [Fact]
    public void An_empty_mask_or_a_mask_of_another_size_is_refused()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ContextShares.Compute(new float[4], new bool[4])).Message, StringComparison.Ordinal);
        Assert.Contains("5 pixels", Assert.Throws<ArgumentException>(() => ContextShares.Compute(new float[5], new bool[4])).Message, StringComparison.Ordinal);
    }
}
