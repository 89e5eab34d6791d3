// Tests of iSeg's Ent-Self and iterative refinement (PAPERS.md D.3-D.4): a hand-computed 2x2 case, the
// invariances that fix which axis is normalised, ln against log10, the normalisation of refined maps, propagation
// within a block of a block-diagonal affinity and not across it, the base variant, and the errors.
using SegLab.Engine;
using SegLab.TrainingFree;

namespace SegLab.Tests.TrainingFree;

public sealed class AttentionRefinementTests
{
    [Fact]
    public void EntSelf_of_a_two_by_two_matrix_matches_the_hand_computation()
    {
        // S = [[1, 0.5], [0.25, 1]]: column maxima 1, 1. Entry v -> max(v + l*log10(e v), 0); then rows sum to 1.
        var s = Tensor.FromArray([1f, 0.5f, 0.25f, 1f], 2, 2);
        double l = 0.1;
        var p = AttentionRefinement.EntSelf(s, new RefinementOptions { Lambda = l });
        double F(double v) => Math.Max(v + l * Math.Log10(Math.E * v), 0);
        double r0 = F(1) + F(0.5), r1 = F(0.25) + F(1);
        Assert.Equal(F(1) / r0, p[0, 0], 6);
        Assert.Equal(F(0.5) / r0, p[0, 1], 6);
        Assert.Equal(F(0.25) / r1, p[1, 0], 6);
        Assert.Equal(F(1) / r1, p[1, 1], 6);
    }

    [Fact]
    public void Entries_below_one_over_e_shrink_relative_to_strong_ones_and_tiny_ones_are_clamped_to_zero()
    {
        var s = Tensor.FromArray([1f, 1e-6f, 0.3f, 1f], 2, 2);
        var p = AttentionRefinement.EntSelf(s, new RefinementOptions { Lambda = 0.1 });
        Assert.Equal(0, p[0, 1]); // 1e-6 + 0.1 * log10(e * 1e-6) < 0
        var raw = 0.3 / 1.3;
        Assert.True(p[1, 0] < raw, $"{p[1, 0]} should be below the raw share {raw}");
    }

    [Theory]
    [InlineData(AttentionNormalisation.ColumnMax)]
    [InlineData(AttentionNormalisation.RowMax)]
    public void Normalisation_axis_makes_the_result_invariant_to_scaling_that_axis(AttentionNormalisation how)
    {
        int n = 7;
        var s = Tensor.Uniform([n, n], 0.01, 1, 3);
        var scale = Tensor.Uniform([n], 0.5, 4, 4).ToArray();
        var scaled = s.ToArray();
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++) scaled[r * n + c] *= scale[how == AttentionNormalisation.ColumnMax ? c : r];
        var o = new RefinementOptions { Lambda = 0.2, Normalisation = how };
        var a = AttentionRefinement.EntSelf(s, o).ToArray();
        var b = AttentionRefinement.EntSelf(Tensor.FromArray(scaled, n, n), o).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 5);
        // and the other normalisation is not invariant to it (so the test can fail)
        var other = o with { Normalisation = how == AttentionNormalisation.ColumnMax ? AttentionNormalisation.RowMax : AttentionNormalisation.ColumnMax };
        var c1 = AttentionRefinement.EntSelf(s, other).ToArray();
        var c2 = AttentionRefinement.EntSelf(Tensor.FromArray(scaled, n, n), other).ToArray();
        Assert.Contains(Enumerable.Range(0, c1.Length), i => Math.Abs(c1[i] - c2[i]) > 1e-3);
    }

    [Fact]
    public void Ln_with_lambda_equals_log10_with_lambda_times_ln10()
    {
        var s = Tensor.Uniform([9, 9], 0, 1, 5);
        var a = AttentionRefinement.EntSelf(s, new RefinementOptions { Lambda = 0.05, Log = EntropyLog.Ln }).ToArray();
        var b = AttentionRefinement.EntSelf(s, new RefinementOptions { Lambda = 0.05 * Math.Log(10), Log = EntropyLog.Log10 }).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 5);
    }

    [Fact]
    public void Refined_maps_have_min_zero_and_sum_one_per_class()
    {
        int n = 16, c = 3;
        var refined = AttentionRefinement.Refine(Tensor.Uniform([n, n], 0, 1, 6), Tensor.Uniform([n, c], -1, 2, 7));
        Assert.Equal(new[] { n, c }, refined.ShapeArray());
        var a = refined.ToArray();
        for (int k = 0; k < c; k++)
        {
            var col = Enumerable.Range(0, n).Select(i => (double)a[i * c + k]).ToArray();
            Assert.Equal(0, col.Min(), 6);
            Assert.Equal(1, col.Sum(), 5);
        }
    }

    [Fact]
    public void A_seed_spreads_over_its_block_of_a_block_diagonal_affinity_and_not_across()
    {
        // Tokens 0..5 form object A, 6..11 object B; affinity 1 within a block, 0.02 across. Class 0 is seeded on
        // token 0 only, class 1 on token 11 only. After refinement each class covers its whole block.
        int n = 12;
        var s = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) s[i * n + j] = (i < 6) == (j < 6) ? 1f : 0.02f;
        var a0 = new float[n * 2];
        a0[0 * 2 + 0] = 1; a0[11 * 2 + 1] = 1;
        var r = AttentionRefinement.Refine(Tensor.FromArray(s, n, n), Tensor.FromArray(a0, n, 2), new RefinementOptions { Lambda = 0.015, Iterations = 10 }).ToArray();
        for (int i = 0; i < n; i++)
        {
            bool inA = i < 6;
            Assert.True(inA ? r[i * 2] > 5 * r[i * 2 + 1] : r[i * 2 + 1] > 5 * r[i * 2], $"token {i}: {r[i * 2]} vs {r[i * 2 + 1]}");
        }
        // within a block the seeded class is nearly uniform
        for (int i = 1; i < 6; i++) Assert.Equal(r[0], r[i * 2], 2);
        // without refinement the seed stays on one token
        Assert.Equal(0, a0[1 * 2]);
    }

    [Fact]
    public void Base_variant_is_one_product_with_the_raw_attention()
    {
        var s = Tensor.Uniform([5, 5], 0, 1, 8);
        var a0 = Tensor.Uniform([5, 2], 0, 1, 9);
        var got = AttentionRefinement.Refine(s, a0, new RefinementOptions { EntSelf = false }).ToArray();
        var sa = s.ToArray(); var aa = a0.ToArray();
        for (int i = 0; i < 5; i++)
            for (int k = 0; k < 2; k++)
            {
                double e = 0;
                for (int j = 0; j < 5; j++) e += sa[i * 5 + j] * aa[j * 2 + k];
                Assert.Equal(e, got[i * 2 + k], 5);
            }
    }

    [Fact]
    public void Image_maps_are_resized_and_min_max_normalised_per_class()
    {
        var refined = Tensor.Uniform([4 * 6, 2], 0, 1, 10);
        var maps = AttentionRefinement.ToImageMaps(refined, 4, 6, 16, 24);
        Assert.Equal(new[] { 2, 16, 24 }, maps.ShapeArray());
        var a = maps.ToArray();
        for (int k = 0; k < 2; k++)
        {
            var p = a.AsSpan(k * 16 * 24, 16 * 24).ToArray();
            Assert.Equal(0, p.Min(), 6);
            Assert.Equal(1, p.Max(), 6);
        }
        // token (row 1, col 2) of class 1 lands at the image's corresponding region: compare with a 1:1 resize
        var same = AttentionRefinement.ToImageMaps(refined, 4, 6, 4, 6).ToArray();
        var r = refined.ToArray();
        double min = Enumerable.Range(0, 24).Min(i => r[i * 2 + 1]), max = Enumerable.Range(0, 24).Max(i => r[i * 2 + 1]);
        Assert.Equal((r[(1 * 6 + 2) * 2 + 1] - min) / (max - min), same[24 + 1 * 6 + 2], 5);
    }

    [Fact]
    public void Bad_shapes_and_values_are_errors_that_say_so()
    {
        Assert.Contains("square", Assert.Throws<ArgumentException>(() => AttentionRefinement.EntSelf(Tensor.Zeros(3, 4))).Message);
        Assert.Contains("non-negative", Assert.Throws<ArgumentException>(() => AttentionRefinement.EntSelf(Tensor.FromArray([1f, -1f, 0f, 1f], 2, 2))).Message);
        Assert.Contains("N = 3", Assert.Throws<ArgumentException>(() => AttentionRefinement.Refine(Tensor.Zeros(3, 3), Tensor.Zeros(4, 2))).Message);
        Assert.Contains("lambda", Assert.Throws<ArgumentException>(() => AttentionRefinement.Refine(Tensor.Zeros(3, 3), Tensor.Zeros(3, 2), new RefinementOptions { Lambda = -1 })).Message);
    }

    [Fact]
    public void Memory_is_stated_for_a_64_by_64_grid()
    {
        // 4096 tokens, 21 classes: the N x N matrix dominates (64 MiB)
        Assert.Equal(4L * (4096L * 4096 + 2 * 4096 * 21), AttentionRefinement.MemoryBytes(4096, 21));
    }
}

public sealed class FeatureAffinityTests
{
    [Fact]
    public void Cosine_affinity_is_one_on_the_diagonal_symmetric_clamped_and_powered()
    {
        // 3 channels, 2x2 positions: p0 = (1,0,0), p1 = (2,0,0) (same direction), p2 = (0,1,0), p3 = (-1,0,0)
        var f = Tensor.FromArray([1f, 2f, 0f, -1f, 0f, 0f, 1f, 0f, 0f, 0f, 0f, 0f], 3, 2, 2);
        var s = FeatureAffinity.Cosine(f).ToArray();
        Assert.Equal(1, s[0 * 4 + 1], 5);
        Assert.Equal(0, s[0 * 4 + 2], 5);
        Assert.Equal(0, s[0 * 4 + 3], 5); // cos -1 clamped to 0
        for (int i = 0; i < 4; i++) Assert.Equal(1, s[i * 4 + i], 5);
        var g = Tensor.FromArray([1f, 1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 0f, 0f, 0f], 3, 2, 2);
        var p1 = FeatureAffinity.Cosine(g).ToArray();
        var p3 = FeatureAffinity.Cosine(g, 3).ToArray();
        Assert.Equal(Math.Sqrt(0.5), p1[0 * 4 + 1], 5);
        Assert.Equal(Math.Pow(0.5, 1.5), p3[0 * 4 + 1], 5);
        Assert.Equal(p1[1 * 4 + 0], p1[0 * 4 + 1]);
    }

    [Fact]
    public void Tokens_are_positions_by_classes()
    {
        var t = FeatureAffinity.Tokens(Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 1, 3)).ToArray();
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], t);
    }
}
