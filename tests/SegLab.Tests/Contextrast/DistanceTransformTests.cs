using SegLab.Contextrast;
using SegLab.Engine;

namespace SegLab.Tests.Contextrast;

public class DistanceTransformTests
{
    [Theory]
    [InlineData(1, 7, 9, 0.3)]
    [InlineData(2, 13, 5, 0.7)]
    [InlineData(3, 16, 16, 0.9)]
    [InlineData(4, 1, 12, 0.5)]
    public void Matches_brute_force_on_random_masks(int seed, int h, int w, double density)
    {
        var rng = new Rng(seed);
        var mask = new bool[h * w];
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < density;
        mask[rng.NextInt(mask.Length)] = false;
        var d = DistanceTransform.Squared(mask, h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double best = double.MaxValue;
                for (int v = 0; v < h; v++)
                    for (int u = 0; u < w; u++)
                        if (!mask[v * w + u]) best = Math.Min(best, (double)(y - v) * (y - v) + (double)(x - u) * (x - u));
                Assert.Equal(best, d[y * w + x]);
            }
    }

    [Fact]
    public void A_mask_without_background_is_infinitely_far()
    {
        var d = DistanceTransform.Squared(Enumerable.Repeat(true, 6).ToArray(), 2, 3);
        Assert.All(d, v => Assert.Equal(DistanceTransform.Infinite, v));
    }
}
