// The pixel contract of each context variant: only_fg is exactly black outside the object and the image inside;
// mixed_* keep the object's pixels exactly and show the donor elsewhere; no_fg changes only the grown object region;
// no-information contexts keep the object and are fixed by the seed; corruptions on the context (object) leave the
// object (context) bit-identical. And the variant list: errors name the valid variants.
using SegLab.Attribution.Context;

namespace SegLab.Tests.Attribution.Context;

public sealed class ContextVariantsTests
{
    private const int H = 32, W = 32, N = H * W;
    private static readonly ContextTestData Data = new(4);

    private static (float[] Image, bool[] Mask) Object()
    {
        var s = Data.Load(1);
        var obj = ContextInstances.Extract(s.Id, 1, s.Label, H, W, [1], new InstanceOptions { MinArea = 1 })[0];
        return (s.Image, obj.Mask);
    }

    private static float[] Build(string name, float[]? donor = null, ulong seed = 5)
    {
        var (img, mask) = Object();
        var spec = ContextVariants.Parse(name, new FakeCorruptions().Names, [1, 3]).Last();
        return ContextVariants.Build(spec, img, H, W, mask, donor, seed, new FakeCorruptions());
    }

    [Fact]
    public void Only_fg_is_black_outside_the_mask_and_the_image_inside()
    {
        var (img, mask) = Object();
        var v = Build("only_fg");
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < N; i++) Assert.Equal(mask[i] ? img[(c * N) + i] : 0f, v[(c * N) + i]);
    }

    [Theory]
    [InlineData("mixed_rand")]
    [InlineData("mixed_same")]
    public void Mixed_variants_keep_the_object_pixels_exactly_and_show_the_donor_elsewhere(string name)
    {
        var (img, mask) = Object();
        var donor = Data.Load(3).Image;
        var v = Build(name, donor);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < N; i++) Assert.Equal(mask[i] ? img[(c * N) + i] : donor[(c * N) + i], v[(c * N) + i]);
    }

    [Fact]
    public void No_fg_changes_only_the_grown_object_region_and_fills_it_from_the_context()
    {
        var (img, mask) = Object();
        var grown = ContextVariants.Grow(mask, H, W, ContextVariants.RemovalGrowth);
        var v = Build("no_fg");
        double inside = 0, objectMean = 0;
        int count = 0;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < N; i++)
            {
                if (!grown[i]) Assert.Equal(img[(c * N) + i], v[(c * N) + i]);
                else
                {
                    Assert.InRange(v[(c * N) + i], 0f, 1f);
                    if (mask[i]) { inside += v[(c * N) + i]; objectMean += img[(c * N) + i]; count++; }
                }
            }
        // The object (class 1) is brighter than its class-0 context by 0.25: the fill is close to the context.
        Assert.True((objectMean - inside) / count > 0.2, $"fill mean {inside / count}, object mean {objectMean / count}");
    }

    [Theory]
    [InlineData("bg_mean")]
    [InlineData("bg_gaussian")]
    [InlineData("bg_uniform")]
    public void No_information_contexts_keep_the_object_and_are_fixed_by_the_seed(string name)
    {
        var (img, mask) = Object();
        var a = Build(name, seed: 1);
        Assert.Equal(a, Build(name, seed: 1));
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < N; i++)
            {
                if (mask[i]) Assert.Equal(img[(c * N) + i], a[(c * N) + i]);
                else Assert.InRange(a[(c * N) + i], 0f, 1f);
            }
        if (name == "bg_mean") Assert.Equal(123 / 255f, a[Array.IndexOf(mask, false)]);
        else Assert.NotEqual(a, Build(name, seed: 2));
    }

    [Theory]
    [InlineData("ctx:invert:1", false)]
    [InlineData("obj:invert:3", true)]
    [InlineData("ctx:noise:3", false)]
    [InlineData("obj:noise:1", true)]
    public void Corruption_variants_leave_the_other_region_bit_identical(string name, bool onObject)
    {
        var (img, mask) = Object();
        var v = Build(name);
        int changed = 0;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < N; i++)
            {
                if (mask[i] != onObject) Assert.Equal(BitConverter.SingleToInt32Bits(img[(c * N) + i]), BitConverter.SingleToInt32Bits(v[(c * N) + i]));
                else if (v[(c * N) + i] != img[(c * N) + i]) changed++;
            }
        Assert.True(changed > 0);
    }

    [Fact]
    public void All_expands_to_the_basic_variants_and_both_regions_at_every_severity()
    {
        var all = ContextVariants.Parse("all", ["invert", "noise"], [1, 3, 5]);
        Assert.Equal(8 + (2 * 2 * 3), all.Count);
        Assert.Equal("original", all[0].Name);
        Assert.Contains(all, v => v.Name == "obj:noise:5" && v.Kind == VariantKind.ObjectPerturbation && v.Severity == 5);
        Assert.Equal(["original", "only_fg"], ContextVariants.Parse("only_fg", [], [1]).Select(v => v.Name));   // the original is always there
    }

    [Theory]
    [InlineData("mixed")]
    [InlineData("ctx:fog:1")]
    [InlineData("ctx:invert:6")]
    public void An_unknown_variant_lists_the_valid_ones(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => ContextVariants.Parse(text, ["invert"], [1]));
        Assert.Contains($"unknown variant '{text}'", e.Message);
        Assert.Contains("mixed_rand", e.Message);
        Assert.Contains("invert", e.Message);
    }
}
