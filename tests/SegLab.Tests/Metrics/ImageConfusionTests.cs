// Tests of ImageConfusion: counts against a brute-force recount on random and hand-made maps, the NaN cases,
// the raw-count factories and the errors that name the image, value and pixel.
using SegLab.Metrics;

namespace SegLab.Tests.Metrics;

public sealed class ImageConfusionTests
{
    [Fact]
    public void HandMadeMap_GivesHandCountedValues()
    {
        // gt:   0 0 1 | 1 2 9(ignored)      pred: 0 1 1 | 2 2 0
        int[] gt = [0, 0, 1, 1, 2, 9];
        int[] pred = [0, 1, 1, 2, 2, 0];
        var c = ImageConfusion.Compute("img", pred, gt, 4, 9);
        Assert.Equal([1L, 1, 1, 0], c.Tp);
        Assert.Equal([0L, 1, 1, 0], c.Fp);
        Assert.Equal([1L, 1, 0, 0], c.Fn);
        Assert.Equal(5, c.Valid);
        Assert.Equal(3, c.Correct);
        Assert.Equal(0.6, c.Accuracy, 12);
        Assert.Equal(0.5, c.IoU(0), 12);
        Assert.Equal(1.0 / 3, c.IoU(1), 12);
        Assert.Equal(0.5, c.IoU(2), 12);
        Assert.True(double.IsNaN(c.IoU(3)));
        Assert.Equal((0.5 + 1.0 / 3 + 0.5) / 3, c.MeanIoU(), 12);
        Assert.Equal(3, c.Union(1));
    }

    [Fact]
    public void RandomMaps_MatchBruteForceRecount()
    {
        var rng = new Random(7);
        const int k = 5, ignore = 255;
        for (int trial = 0; trial < 20; trial++)
        {
            int n = rng.Next(1, 300);
            var gt = new int[n];
            var pred = new int[n];
            for (int i = 0; i < n; i++)
            {
                gt[i] = rng.Next(6) == 0 ? ignore : rng.Next(k);
                pred[i] = rng.Next(k);
            }
            var c = ImageConfusion.Compute("r", pred, gt, k, ignore);
            for (int cls = 0; cls < k; cls++)
            {
                long tp = 0, fp = 0, fn = 0;
                for (int i = 0; i < n; i++)
                {
                    if (gt[i] == ignore) continue;
                    if (gt[i] == cls && pred[i] == cls) tp++;
                    else if (pred[i] == cls) fp++;
                    else if (gt[i] == cls) fn++;
                }
                Assert.Equal(tp, c.Tp[cls]);
                Assert.Equal(fp, c.Fp[cls]);
                Assert.Equal(fn, c.Fn[cls]);
            }
            Assert.Equal(gt.Count(g => g != ignore), c.Valid);
            Assert.Equal(Enumerable.Range(0, n).Count(i => gt[i] != ignore && gt[i] == pred[i]), c.Correct);
            var again = ImageConfusion.FromCounts("r", c.Tp, c.Fp, c.Fn);
            Assert.Equal(c.Valid, again.Valid);
            Assert.Equal(c.Correct, again.Correct);
            Assert.Equal(c.MeanIoU(true), again.MeanIoU(true));
        }
    }

    [Fact]
    public void GtPresentOnly_SkipsClassesOnlyPredicted()
    {
        int[] gt = [0, 0, 0, 0];
        int[] pred = [0, 0, 0, 1];
        var c = ImageConfusion.Compute("a", pred, gt, 3, -1);
        Assert.Equal((0.75 + 0.0) / 2, c.MeanIoU(), 12);
        Assert.Equal(0.75, c.MeanIoU(gtPresentOnly: true), 12);
    }

    [Fact]
    public void AllIgnored_GivesNaN()
    {
        int[] gt = [9, 9];
        int[] pred = [0, 1];
        var c = ImageConfusion.Compute("void", pred, gt, 2, 9);
        Assert.Equal(0, c.Valid);
        Assert.True(double.IsNaN(c.Accuracy));
        Assert.True(double.IsNaN(c.MeanIoU()));
    }

    [Fact]
    public void BadValues_NameImageValueAndIndex()
    {
        var e = Assert.Throws<ArgumentException>(() => ImageConfusion.Compute("pic7", [0, 3], [0, 1], 3, 255));
        Assert.Contains("pic7", e.Message);
        Assert.Contains("value 3", e.Message);
        Assert.Contains("pixel 1", e.Message);
        var g = Assert.Throws<ArgumentException>(() => ImageConfusion.Compute("pic8", [0, 0, 0], [0, 1, 200], 3, 255));
        Assert.Contains("pic8", g.Message);
        Assert.Contains("value 200", g.Message);
        Assert.Contains("pixel 2", g.Message);
        Assert.Throws<ArgumentException>(() => ImageConfusion.Compute("x", [0, -1], [0, 1], 3, 255));
        Assert.Throws<ArgumentException>(() => ImageConfusion.Compute("x", [0], [0, 1], 3, 255));
    }

    [Fact]
    public void FromMatrix_ExtraColumnIsFalseNegativeOnly()
    {
        // 2 classes + a "void" prediction column: rows gt, columns pred.
        long[] m = [5, 1, 2,
                    3, 4, 0];
        var c = ImageConfusion.FromMatrix("m", m, 2, 3);
        Assert.Equal([5L, 4], c.Tp);
        Assert.Equal([3L, 1], c.Fp);
        Assert.Equal([3L, 3], c.Fn);
        Assert.Equal(15, c.Valid);
        Assert.Equal(9, c.Correct);
        Assert.NotNull(c.Confusion);
        Assert.Equal([5L, 1, 3, 4], c.Confusion!);
    }

    [Fact]
    public void Sum_AddsCounts()
    {
        var a = ImageConfusion.Compute("a", [0, 1, 1], [0, 0, 1], 2, 9);
        var b = ImageConfusion.Compute("b", [1, 1], [1, 0], 2, 9);
        var s = ImageConfusion.Sum("ab", [a, b]);
        var whole = ImageConfusion.Compute("ab", [0, 1, 1, 1, 1], [0, 0, 1, 1, 0], 2, 9);
        Assert.Equal(whole.Tp, s.Tp);
        Assert.Equal(whole.Fp, s.Fp);
        Assert.Equal(whole.Fn, s.Fn);
        Assert.Equal(whole.Confusion, s.Confusion);
        Assert.Equal(5, s.Valid);
    }
}
