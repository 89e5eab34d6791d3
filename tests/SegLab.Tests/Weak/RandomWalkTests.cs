// Tests of the random walk over sparse pixel affinities, cosine and learned: total mass kept (Spread), or constants and
// the degree-weighted mass kept (Average, PSA/IRN's x T^t), untagged classes staying zero, a seed spreading exactly over its connected region, and shape errors.
using SegLab.Engine;
using SegLab.Weak;

namespace SegLab.Tests.Weak;

public sealed class RandomWalkTests
{
    private static Tensor Random(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        var a = new float[shape.Aggregate(1, (x, y) => x * y)];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
        return Tensor.FromArray(a, shape);
    }

    [Fact]
    public void Radius_five_has_psa_and_irn_thirty_four_forward_offsets()
    {
        var o = PixelAffinity.ForwardOffsets(5);
        Assert.Equal(34, o.Count);
        Assert.Equal((0, 1), o[0]);
        Assert.DoesNotContain((3, 4), o); // 9 + 16 = 25 is not < 25
        Assert.Contains((4, 2), o);
    }

    // The two kinds of affinities the refine stage walks over: cosine of features (training-free) and AffinityNet's learned exp(-mean|f_i - f_j|).
    private static PixelAffinity Affinity(string kind, int seed) => kind == "cosine"
        ? PixelAffinity.FromFeatures(Random(seed, 6, 9, 11) - 0.5f)
        : AffinityHead.Affinities(Random(seed, 6, 9, 11) * 3f);

    [Theory]
    [InlineData("cosine")]
    [InlineData("learned")]
    public void Average_keeps_each_class_maps_degree_weighted_mass_but_not_its_total(string kind)
    {
        // PSA/IRN's x T^t with T = A / colsum: sum_p d_p x_p is invariant (d = degrees of A = a^beta), sum_p x_p is not
        var aff = Affinity(kind, 11);
        var options = new RandomWalkOptions { Beta = 2, LogT = 6 };
        var d = RandomWalk.Degrees(aff, options);
        var maps = Random(12, 3, 9, 11);
        var walked = RandomWalk.Propagate(maps, aff, options).ToArray();
        var x = maps.ToArray();
        bool totalMoved = false;
        for (int k = 0; k < 3; k++)
        {
            double before = 0, after = 0, plainBefore = 0, plainAfter = 0;
            for (int p = 0; p < 99; p++)
            {
                before += d[p] * x[k * 99 + p];
                after += d[p] * walked[k * 99 + p];
                plainBefore += x[k * 99 + p];
                plainAfter += walked[k * 99 + p];
            }
            Assert.Equal(1, after / before, 4);
            totalMoved |= Math.Abs(plainAfter - plainBefore) > 1e-3 * plainBefore;
        }
        Assert.True(totalMoved, "the plain total should change under Average, or the degrees are all equal and the test proves nothing");
        Assert.True(d.Max() > 1.2f * d.Min());
    }

    [Theory]
    [InlineData("cosine")]
    [InlineData("learned")]
    public void Spread_keeps_each_class_maps_total_mass(string kind)
    {
        var aff = Affinity(kind, 1);
        var maps = Random(2, 3, 9, 11);
        var walked = RandomWalk.Propagate(maps, aff, new RandomWalkOptions { Direction = WalkDirection.Spread, Beta = 2, LogT = 6 }).ToArray();
        var x = maps.ToArray();
        for (int k = 0; k < 3; k++)
        {
            double before = x.AsSpan(k * 99, 99).ToArray().Sum(v => (double)v), after = walked.AsSpan(k * 99, 99).ToArray().Sum(v => (double)v);
            Assert.Equal(before, after, 3);
        }
        // and it does move mass: the walked map is not the input
        Assert.True(x.Zip(walked).Max(p => Math.Abs(p.First - p.Second)) > 0.05);
    }

    [Fact]
    public void Average_keeps_a_constant_map_and_stays_within_the_input_range()
    {
        var aff = PixelAffinity.FromFeatures(Random(3, 4, 8, 10));
        var walked = RandomWalk.Propagate(Tensor.Full(0.7f, 1, 8, 10), aff, RandomWalkOptions.Irn).ToArray();
        Assert.All(walked, v => Assert.Equal(0.7f, v, 4));
        var maps = Random(4, 2, 8, 10);
        var w2 = RandomWalk.Propagate(maps, aff, RandomWalkOptions.Psa).ToArray();
        Assert.True(w2.Max() <= maps.ToArray().Max() + 1e-5f && w2.Min() >= maps.ToArray().Min() - 1e-5f);
    }

    [Theory]
    [InlineData(WalkDirection.Average)]
    [InlineData(WalkDirection.Spread)]
    public void A_seed_spreads_over_its_connected_region_and_nowhere_else(WalkDirection direction)
    {
        // 8 x 12 grid, a boundary wall in column 6: affinities across it (path through B = 1) are 0
        int h = 8, w = 12;
        var b = new float[h * w];
        for (int y = 0; y < h; y++) b[y * w + 6] = 1;
        var aff = PixelAffinity.FromBoundary(Tensor.FromArray(b, h, w));
        var seed = new float[h * w];
        seed[3 * w + 1] = 1;
        var r = RandomWalk.Propagate(Tensor.FromArray(seed, 1, h, w), aff, new RandomWalkOptions { Direction = direction, LogT = 6 }).ToArray();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (x < 6) Assert.True(r[y * w + x] > 0, $"({y}, {x}) not reached");
                else Assert.Equal(0f, r[y * w + x]);
        // uniform affinity 1 everywhere: the whole grid is reached
        var ones = PixelAffinity.FromValues(Tensor.Full(1f, 34, h, w));
        var all = RandomWalk.Propagate(Tensor.FromArray(seed, 1, h, w), ones, new RandomWalkOptions { Direction = direction, LogT = 6 }).ToArray();
        Assert.All(all, v => Assert.True(v > 0));
    }

    [Fact]
    public void Boundary_affinity_is_one_minus_the_max_on_the_path()
    {
        var b = new float[5 * 5];
        b[2 * 5 + 2] = 0.75f; // centre
        var aff = PixelAffinity.FromBoundary(Tensor.FromArray(b, 5, 5));
        var o = PixelAffinity.ForwardOffsets(5).ToList();
        // (2, 0) -> (2, 4) passes the centre; (0, 0) -> (0, 4) does not
        Assert.Equal(0.25f, aff.Forward[o.IndexOf((0, 4)) * 25 + 2 * 5 + 0], 6);
        Assert.Equal(1f, aff.Forward[o.IndexOf((0, 4)) * 25 + 0], 6);
        Assert.Equal(0f, aff.Forward[o.IndexOf((0, 4)) * 25 + 2 * 5 + 1]); // (2, 5) leaves the grid
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Untagged_classes_stay_zero_and_never_win(bool powerBackground)
    {
        var aff = PixelAffinity.FromFeatures(Random(5, 3, 6, 7));
        var cams = Random(6, 4, 6, 7); // class 2 is strongest everywhere but not tagged
        var a = cams.ToArray();
        for (int p = 0; p < 42; p++) a[2 * 42 + p] = 5;
        var bg = powerBackground ? BackgroundRule.Power(16) : BackgroundRule.Constant(0.25);
        var r = RandomWalk.Refine(Tensor.FromArray(a, 4, 6, 7), [0, 3], aff, bg);
        var m = r.Maps.ToArray();
        Assert.All(m.AsSpan(42, 84).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(powerBackground, r.Background is not null);
        var labels = RandomWalk.Labels(r, 12, 14, [0, 3], bg, 255);
        Assert.All(labels, l => Assert.Contains(l, new byte[] { 0, 3, 255 }));
        Assert.Contains(labels, l => l != 255);
    }

    [Fact]
    public void Shape_mismatches_and_bad_settings_name_the_problem()
    {
        var aff = PixelAffinity.FromFeatures(Random(7, 2, 6, 7));
        Assert.Contains("[C, 6, 7]", Assert.Throws<ArgumentException>(() => RandomWalk.Propagate(Tensor.Zeros(2, 6, 8), aff)).Message);
        Assert.Contains("[K, h, w]", Assert.Throws<ArgumentException>(() => PixelAffinity.FromFeatures(Tensor.Zeros(6, 7))).Message);
        Assert.Contains("[34, h, w]", Assert.Throws<ArgumentException>(() => PixelAffinity.FromValues(Tensor.Zeros(33, 6, 7))).Message);
        Assert.Contains("outside [0, 1]", Assert.Throws<ArgumentException>(() => PixelAffinity.FromValues(Tensor.Full(2f, 34, 6, 7))).Message);
        Assert.Contains("class 4", Assert.Throws<ArgumentException>(() => RandomWalk.Refine(Tensor.Zeros(3, 6, 7), [4], aff, BackgroundRule.Constant())).Message);
        Assert.Contains("beta", Assert.Throws<ArgumentException>(() => RandomWalk.Propagate(Tensor.Zeros(1, 6, 7), aff, new RandomWalkOptions { Beta = 0 })).Message);
        Assert.Contains("logt", Assert.Throws<ArgumentException>(() => RandomWalk.Propagate(Tensor.Zeros(1, 6, 7), aff, new RandomWalkOptions { LogT = -1 })).Message);
    }
}
