// Tests of the sample transforms: resize values against hand-computed bilinear/nearest results, random scale
// bounds, crops as windows of the source with ignore padding, flips, colour jitter invariants, and determinism.
using SegLab.Data;
using SegLab.Engine;

namespace SegLab.Tests.Data;

public class TransformTests
{
    private static SegmentationSample Sample(int w, int h, int seed = 0)
    {
        var image = new float[3 * w * h];
        for (int i = 0; i < image.Length; i++) image[i] = (i * 37 + seed * 11) % 100 / 100f;
        var label = new int[w * h];
        for (int i = 0; i < label.Length; i++) label[i] = (i * 5 + seed) % 11;
        return new SegmentationSample("s", "s.png", "t.png", w, h, image, label);
    }

    [Fact]
    public void Resize_halving_averages_pixel_pairs_and_picks_even_labels()
    {
        var s = Sample(4, 4);
        var r = new Resize(2, 2).Apply(s, new Rng(0));
        Assert.Equal((2, 2), (r.Width, r.Height));
        // align_corners=false, 4 -> 2: output i samples source 2i + 0.5, the mean of source pixels 2i and 2i + 1 (both ways).
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 2; x++)
                {
                    float Src(int xx, int yy) => s.Image[(c * 4 + yy) * 4 + xx];
                    float expected = (Src(2 * x, 2 * y) + Src(2 * x + 1, 2 * y) + Src(2 * x, 2 * y + 1) + Src(2 * x + 1, 2 * y + 1)) / 4;
                    Assert.Equal(expected, r.Image[(c * 2 + y) * 2 + x], 5);
                }
        Assert.Equal(new[] { s.Label![0], s.Label[2], s.Label[8], s.Label[10] }, r.Label!);
        Assert.Same(s, new Resize(4, 4).Apply(s, new Rng(0)));
    }

    [Fact]
    public void Resize_up_keeps_constant_images_constant_and_labels_from_the_source()
    {
        var s = new SegmentationSample("c", "c.png", null, 3, 2, [.. Enumerable.Repeat(0.25f, 18)], null);
        var r = new Resize(7, 5).Apply(s, new Rng(0));
        Assert.All(r.Image, v => Assert.Equal(0.25f, v, 6));
        Assert.Null(r.Label);
        var labelled = Sample(3, 2);
        Assert.Subset(labelled.Label!.ToHashSet(), new Resize(7, 5).Apply(labelled, new Rng(0)).Label!.ToHashSet());
    }

    [Fact]
    public void Scale_by_a_factor_rounds_the_size_and_equals_resize()
    {
        var s = Sample(9, 5);
        var r = new ScaleBy(0.5).Apply(s, new Rng(0));
        Assert.Equal((5, 3), (r.Width, r.Height)); // 4.5 and 2.5 round up
        Assert.Equal(new Resize(5, 3).Apply(s, new Rng(0)).Image, r.Image);
        Assert.Same(s, new ScaleBy(1).Apply(s, new Rng(0)));
    }

    [Fact]
    public void Random_scale_stays_in_its_range_and_repeats_for_a_seed()
    {
        var s = Sample(40, 20);
        var t = new RandomScale(0.5, 1.5);
        var sizes = new HashSet<int>();
        for (int seed = 0; seed < 20; seed++)
        {
            var r = t.Apply(s, new Rng(seed));
            Assert.InRange(r.Width, 20, 60);
            Assert.Equal(Math.Round(r.Width / 2.0), r.Height, 1.0);
            Assert.Equal(r.Image, t.Apply(s, new Rng(seed)).Image);
            sizes.Add(r.Width);
        }
        Assert.True(sizes.Count > 5);
    }

    [Fact]
    public void Random_crop_is_a_window_of_the_source()
    {
        var s = Sample(9, 7);
        for (int seed = 0; seed < 10; seed++)
        {
            var r = new RandomCrop(4, 3, 11).Apply(s, new Rng(seed));
            Assert.Equal((4, 3), (r.Width, r.Height));
            // Find the offset by the first pixel's label and image; then the whole window must match.
            bool found = false;
            for (int oy = 0; oy + 3 <= 7 && !found; oy++)
                for (int ox = 0; ox + 4 <= 9 && !found; ox++)
                    found = Enumerable.Range(0, 12).All(i => r.Label![i] == s.Label![(oy + i / 4) * 9 + ox + i % 4]
                        && Enumerable.Range(0, 3).All(c => r.Image[c * 12 + i] == s.Image[(c * 7 + oy + i / 4) * 9 + ox + i % 4]));
            Assert.True(found, $"seed {seed}: crop is not a window of the source");
        }
    }

    [Fact]
    public void Random_crop_pads_small_samples_with_zero_and_the_ignore_id()
    {
        var s = Sample(3, 2);
        var r = new RandomCrop(5, 4, 11).Apply(s, new Rng(1));
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 5; x++)
            {
                bool inside = x < 3 && y < 2;
                Assert.Equal(inside ? s.Label![y * 3 + x] : 11, r.Label![y * 5 + x]);
                for (int c = 0; c < 3; c++) Assert.Equal(inside ? s.Image[(c * 2 + y) * 3 + x] : 0f, r.Image[(c * 4 + y) * 5 + x]);
            }
    }

    [Fact]
    public void Horizontal_flip_mirrors_image_and_label_or_leaves_them()
    {
        var s = Sample(5, 3);
        var f = new HorizontalFlip(1).Apply(s, new Rng(0));
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
            {
                Assert.Equal(s.Label![y * 5 + 4 - x], f.Label![y * 5 + x]);
                for (int c = 0; c < 3; c++) Assert.Equal(s.Image[(c * 3 + y) * 5 + 4 - x], f.Image[(c * 3 + y) * 5 + x]);
            }
        Assert.Same(s, new HorizontalFlip(0).Apply(s, new Rng(0)));
        int flips = Enumerable.Range(0, 200).Count(seed => !ReferenceEquals(s, new HorizontalFlip(0.5).Apply(s, new Rng(seed))));
        Assert.InRange(flips, 70, 130);
    }

    [Fact]
    public void Colour_jitter_changes_only_the_image_within_range()
    {
        var s = Sample(6, 5);
        var t = new ColorJitter(0.4, 0.4, 0.4);
        var a = t.Apply(s, new Rng(3));
        Assert.Same(s.Label, a.Label);
        Assert.All(a.Image, v => Assert.InRange(v, 0f, 1f));
        Assert.NotEqual(s.Image, a.Image);
        Assert.Equal(a.Image, t.Apply(s, new Rng(3)).Image);
        Assert.NotEqual(a.Image, t.Apply(s, new Rng(4)).Image);
        Assert.Equal(s.Image, new ColorJitter().Apply(s, new Rng(3)).Image);
    }

    [Fact]
    public void Brightness_scales_every_value_by_one_factor_and_saturation_keeps_grey_pixels()
    {
        var s = new SegmentationSample("g", "g.png", null, 4, 1, [0.1f, 0.2f, 0.3f, 0.4f, 0.1f, 0.2f, 0.3f, 0.4f, 0.1f, 0.2f, 0.3f, 0.4f], null);
        var b = new ColorJitter(brightness: 0.5).Apply(s, new Rng(9));
        float factor = b.Image[0] / s.Image[0];
        Assert.NotEqual(1f, factor);
        for (int i = 0; i < 12; i++) Assert.Equal(s.Image[i] * factor, b.Image[i], 5);
        var sat = new ColorJitter(saturation: 1).Apply(s, new Rng(9));
        for (int i = 0; i < 12; i++) Assert.Equal(s.Image[i], sat.Image[i], 5);
    }

    [Fact]
    public void Compose_applies_in_order()
    {
        var s = Sample(8, 6);
        var composed = new Compose(new Resize(4, 3), new HorizontalFlip(1)).Apply(s, new Rng(0));
        var manual = new HorizontalFlip(1).Apply(new Resize(4, 3).Apply(s, new Rng(0)), new Rng(0));
        Assert.Equal(manual.Image, composed.Image);
        Assert.Equal(manual.Label, composed.Label);
        Assert.Same(s, new Identity().Apply(s, new Rng(0)));
    }
}
