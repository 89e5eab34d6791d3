// Rng.Shuffle is the one Fisher-Yates of the code base (data loader, trainers, the greedy worst case): it leaves a
// permutation, the same one for the same seed, draws j = NextInt(i + 1) from the last element down (so the orders
// that runs and checkpoints recorded before it existed are unchanged), and spreads every value over every place.
using SegLab.Engine;

namespace SegLab.Engine.Tests;

public class RngShuffleTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(97)]
    public void Permutation_is_a_permutation_and_repeats_for_a_seed(int n)
    {
        var a = new Rng(42).Permutation(n);
        Assert.Equal(Enumerable.Range(0, n), a.Order());
        Assert.Equal(a, new Rng(42).Permutation(n));
    }

    [Fact]
    public void Shuffle_draws_from_the_last_element_down()
    {
        var expected = Enumerable.Range(0, 10).ToArray();
        var rng = new Rng(7);
        for (int i = expected.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (expected[i], expected[j]) = (expected[j], expected[i]);
        }
        Assert.Equal(expected, new Rng(7).Permutation(10));
    }

    [Fact]
    public void Every_value_reaches_every_place()
    {
        const int n = 5, draws = 5000;
        var counts = new int[n, n];
        var rng = new Rng(3);
        for (int d = 0; d < draws; d++)
        {
            var p = rng.Permutation(n);
            for (int place = 0; place < n; place++) counts[p[place], place]++;
        }
        foreach (int c in counts) Assert.InRange(c, draws / n * 0.8, draws / n * 1.2); // 1000 expected, sd about 28
    }
}
