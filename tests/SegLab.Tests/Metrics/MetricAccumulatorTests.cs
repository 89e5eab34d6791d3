// Tests of MetricAccumulator: summaries of tiny hand-made datasets against brute-force pixel recounts, the
// foreground variants, worst images, random shards merging to exactly the whole, and the bins of size analysis.
using SegLab.Metrics;

namespace SegLab.Tests.Metrics;

public sealed class MetricAccumulatorTests
{
    private const int Ignore = 255;

    [Fact]
    public void RandomDataset_MatchesBruteForceDefinitions()
    {
        var rng = new Random(5);
        const int k = 4;
        var data = RandomDataset(rng, 12, k);
        var acc = new MetricAccumulator(k);
        foreach (var (id, pred, gt, _, _) in data) acc.Add(ImageConfusion.Compute(id, pred, gt, k, Ignore));
        var s = acc.Summarize(new MetricOptions { ExcludedClasses = [0] });

        // Dataset-wise, straight from the pooled pixels.
        var allPred = data.SelectMany(d => d.Pred).ToArray();
        var allGt = data.SelectMany(d => d.Gt).ToArray();
        var iou = new double[k];
        for (int c = 0; c < k; c++) iou[c] = BruteIoU(allPred, allGt, c);
        Assert.Equal(100 * iou.Where(v => !double.IsNaN(v)).Average(), s.MIoU, 10);
        Assert.Equal(100 * iou.Skip(1).Where(v => !double.IsNaN(v)).Average(), s.ForegroundMIoU, 10);
        for (int c = 0; c < k; c++) Assert.Equal(100 * iou[c], s.PerClassIoU[c], 10);
        int valid = allGt.Count(g => g != Ignore);
        Assert.Equal(valid, s.ValidPixels);
        Assert.Equal(100.0 * Enumerable.Range(0, allGt.Length).Count(i => allGt[i] != Ignore && allGt[i] == allPred[i]) / valid, s.PixelAccuracy, 10);
        var classAcc = Enumerable.Range(0, k).Select(c => BruteRecall(allPred, allGt, c)).Where(v => !double.IsNaN(v)).ToArray();
        Assert.Equal(100 * classAcc.Average(), s.MeanClassAccuracy, 10);
        int fg = Enumerable.Range(0, allGt.Length).Count(i => allGt[i] != Ignore && allGt[i] != 0);
        int fgOk = Enumerable.Range(0, allGt.Length).Count(i => allGt[i] != Ignore && allGt[i] != 0 && allPred[i] == allGt[i]);
        Assert.Equal(100.0 * fgOk / fg, s.ForegroundPixelAccuracy, 10);

        // Image-wise: per image the mean over classes in GT or prediction (or GT only), images without valid pixels skipped.
        var scored = data.Where(d => d.Gt.Any(g => g != Ignore)).ToArray();
        double ImageMean(Func<(string, int[] Pred, int[] Gt, int, int), double> f) => 100 * scored.Select(f).Average();
        Assert.Equal(ImageMean(d => ClassMean(d.Pred, d.Gt, k, c => d.Gt.Any(g => g == c) || Enumerable.Range(0, d.Gt.Length).Any(i => d.Gt[i] != Ignore && d.Pred[i] == c))), s.ImageMIoU, 10);
        Assert.Equal(ImageMean(d => ClassMean(d.Pred, d.Gt, k, c => d.Gt.Any(g => g == c))), s.ImageMIoUGtOnly, 10);
        Assert.Equal(ImageMean(d => (double)Enumerable.Range(0, d.Gt.Length).Count(i => d.Gt[i] != Ignore && d.Gt[i] == d.Pred[i]) / d.Gt.Count(g => g != Ignore)), s.MeanImagePixelAccuracy, 10);
        Assert.Equal(data.Count, s.Images);
        Assert.Equal(scored.Length, s.ImagesScored);
        Assert.Equal(s.ImageMIoU - s.MIoU, s.SizeBiasGap, 12);

        // The dataset-wide matrix and the per-image scores.
        var m = acc.ConfusionMatrix()!;
        for (int g = 0; g < k; g++)
            for (int p = 0; p < k; p++)
                Assert.Equal(Enumerable.Range(0, allGt.Length).Count(i => allGt[i] == g && allPred[i] == p), m[g, p]);
        var scores = acc.ImageScores();
        Assert.Equal(data.Select(d => d.Id).Order(StringComparer.Ordinal), scores.Select(x => x.Id));
        Assert.Equal(s.ImageMIoU, scores.Where(x => !double.IsNaN(x.MIoU)).Average(x => x.MIoU), 10);
    }

    [Fact]
    public void AllVoidImage_IsSkippedInImageMeans()
    {
        var acc = new MetricAccumulator(2);
        acc.Add(ImageConfusion.Compute("a", [0, 1], [0, 0], 2, Ignore));       // image mIoU (0.5 + 0) / 2
        acc.Add(ImageConfusion.Compute("void", [0, 1], [Ignore, Ignore], 2, Ignore));
        var s = acc.Summarize();
        Assert.Equal(2, s.Images);
        Assert.Equal(1, s.ImagesScored);
        Assert.Equal(25, s.ImageMIoU, 12);
        Assert.Equal(50, s.ImageMIoUGtOnly, 12);
        Assert.Equal(50, s.MeanImagePixelAccuracy, 12);
        Assert.True(double.IsNaN(s.PerClassAccuracy[1]));
        Assert.Equal(0, s.PerClassIoU[1]);
    }

    [Fact]
    public void WorstImages_AreLowestImageMIoUFirst()
    {
        var acc = new MetricAccumulator(2);
        acc.Add(ImageConfusion.Compute("good", [0, 1], [0, 1], 2, Ignore));
        acc.Add(ImageConfusion.Compute("bad", [1, 0], [0, 1], 2, Ignore));
        acc.Add(ImageConfusion.Compute("half", [0, 0], [0, 1], 2, Ignore));
        acc.Add(ImageConfusion.Compute("half0", [0, 0], [0, 1], 2, Ignore));
        Assert.Equal(["bad", "half", "half0"], acc.WorstIds(3));
        var s = acc.Summarize(new MetricOptions { WorstCount = 2 });
        Assert.Equal(2, s.WorstImages.Count);
        Assert.Equal(0, s.WorstImages[0].MIoU);
        Assert.Equal(25, s.WorstImages[1].MIoU, 12);
    }

    [Fact]
    public void RandomShards_MergeToExactlyTheWhole()
    {
        var rng = new Random(9);
        const int k = 3;
        var data = RandomDataset(rng, 20, k);
        var records = data.Select(d => (ImageConfusion.Compute(d.Id, d.Pred, d.Gt, k, Ignore), SmallObjects.Analyze(d.Id, d.Pred, d.Gt, d.W, d.H, k, Ignore))).ToArray();
        var whole = new MetricAccumulator(k);
        foreach (var (c, so) in records) whole.Add(c, so);
        var options = new MetricOptions { ExcludedClasses = [1], ComponentAreaEdges = [4, 16], AreaFractionEdges = [0, 0.2, 0.5, 1] };
        string expected = MetricsJson.SummaryToJson(whole.Summarize(options), ["a", "b", "c"]);
        for (int trial = 0; trial < 5; trial++)
        {
            var shards = Enumerable.Range(0, 1 + rng.Next(4)).Select(_ => new MetricAccumulator(k)).ToArray();
            foreach (var (c, so) in records.OrderBy(_ => rng.Next())) shards[rng.Next(shards.Length)].Add(c, so);
            var merged = new MetricAccumulator(k);
            foreach (var shard in shards.OrderBy(_ => rng.Next())) merged.Merge(shard);
            Assert.Equal(expected, MetricsJson.SummaryToJson(merged.Summarize(options), ["a", "b", "c"]));
            Assert.Equal(whole.ConfusionMatrix(), merged.ConfusionMatrix());
        }
    }

    [Fact]
    public void DuplicatesAndMismatches_AreRejected()
    {
        var a = new MetricAccumulator(2);
        a.Add(ImageConfusion.Compute("x", [0], [0], 2, Ignore));
        Assert.Throws<ArgumentException>(() => a.Add(ImageConfusion.Compute("x", [0], [0], 2, Ignore)));
        Assert.Throws<ArgumentException>(() => a.Add(ImageConfusion.Compute("y", [0], [0], 3, Ignore)));
        var b = new MetricAccumulator(2);
        b.Add(ImageConfusion.Compute("z", [0], [0], 2, Ignore));
        b.Add(ImageConfusion.Compute("x", [0], [0], 2, Ignore));
        var e = Assert.Throws<ArgumentException>(() => a.Merge(b));
        Assert.Contains("'x'", e.Message);
        Assert.Equal(1, a.Count);
        Assert.Throws<ArgumentException>(() => a.Merge(new MetricAccumulator(3)));
        Assert.Throws<ArgumentException>(() => a.Summarize(new MetricOptions { ExcludedClasses = [2] }));
    }

    [Fact]
    public void ComponentBins_CountMeanAndPooledRecall()
    {
        var acc = new MetricAccumulator(2);
        // Image 1: a small class-0 component (area 10, 5 hit), a medium class-1 one (2000, 2000), a large class-1 one (10000, 0).
        acc.Add(ImageConfusion.FromCounts("i1", [5, 2000], [0, 5], [5, 10000]),
            SmallObjectRecord.FromComponents("i1", 200, 100, 2, [0, 1, 1], [10, 2000, 10000], [5, 2000, 0]));
        // Image 2: two small components of class 1 (area 1 hit, area 3 with 0 hits) and one exactly 1024 (medium).
        acc.Add(ImageConfusion.FromCounts("i2", [1, 1024], [0, 0], [0, 3]),
            SmallObjectRecord.FromComponents("i2", 100, 100, 2, [0, 1, 1], [1, 3, 1024], [1, 0, 1024]));
        var bins = acc.Summarize().ComponentBins;
        Assert.Equal(["small", "medium", "large"], bins.Select(b => b.Name));
        Assert.Equal(3, bins[0].Count);
        Assert.Equal(100 * (0.5 + 1 + 0) / 3, bins[0].MeanRecall, 10);
        Assert.Equal(100.0 * 6 / 14, bins[0].PooledRecall, 10);
        Assert.Equal([2, 1], bins[0].PerClassCount);
        Assert.Equal(75, bins[0].PerClassMeanRecall[0], 10);
        Assert.Equal(2, bins[1].Count);
        Assert.Equal(100, bins[1].MeanRecall, 10);
        Assert.True(double.IsNaN(bins[1].PerClassMeanRecall[0]));
        Assert.Equal(1, bins[2].Count);
        Assert.Equal(0, bins[2].PooledRecall);
        Assert.Null(bins[2].MaxArea);
        Assert.Equal(9216, bins[2].MinArea);
    }

    [Fact]
    public void AreaFractionBins_BinClassesByGroundTruthShare()
    {
        var acc = new MetricAccumulator(3);
        // 1000 valid pixels: class 0 has 995 (99.5%), class 1 has 5 (0.5%: bin [0.1%, 1%)), class 2 only predicted.
        acc.Add(ImageConfusion.FromCounts("a", [990, 2, 0], [3, 0, 5], [5, 3, 0]));
        // 100 valid pixels: class 1 has 100 (100%: the last bin, upper edge included).
        acc.Add(ImageConfusion.FromCounts("b", [0, 50, 0], [50, 0, 0], [0, 50, 0]));
        var bins = acc.Summarize().AreaFractionBins;
        Assert.Equal(4, bins.Count);
        Assert.Equal(0, bins[0].Count);
        Assert.Equal(1, bins[1].Count);
        Assert.Equal(100 * 2.0 / 5, bins[1].MeanIoU, 10);
        Assert.Equal(0, bins[2].Count);
        Assert.Equal(2, bins[3].Count);
        Assert.Equal(100 * (990.0 / 998 + 0.5) / 2, bins[3].MeanIoU, 10);
        Assert.Equal([1, 1, 0], bins[3].PerClassCount);
    }

    private static List<(string Id, int[] Pred, int[] Gt, int W, int H)> RandomDataset(Random rng, int n, int k)
    {
        var list = new List<(string, int[], int[], int, int)>();
        for (int i = 0; i < n; i++)
        {
            int w = rng.Next(1, 12), h = rng.Next(1, 9);
            var gt = SmallObjectsTests.Blobby(rng, w, h, k, Ignore);
            if (i == 3) Array.Fill(gt, Ignore);
            var pred = gt.Select(g => g == Ignore || rng.Next(3) == 0 ? rng.Next(k) : g).ToArray();
            list.Add(($"img{i:D2}", pred, gt, w, h));
        }
        return list;
    }

    private static double BruteIoU(int[] pred, int[] gt, int c)
    {
        int inter = 0, union = 0;
        for (int i = 0; i < gt.Length; i++)
        {
            if (gt[i] == Ignore) continue;
            bool g = gt[i] == c, p = pred[i] == c;
            if (g && p) inter++;
            if (g || p) union++;
        }
        return union == 0 ? double.NaN : (double)inter / union;
    }

    private static double BruteRecall(int[] pred, int[] gt, int c)
    {
        int hit = 0, all = 0;
        for (int i = 0; i < gt.Length; i++)
            if (gt[i] == c) { all++; if (pred[i] == c) hit++; }
        return all == 0 ? double.NaN : (double)hit / all;
    }

    private static double ClassMean(int[] pred, int[] gt, int k, Func<int, bool> counted) =>
        Enumerable.Range(0, k).Where(counted).Select(c => BruteIoU(pred, gt, c)).Average();
}
