// The size-binned reductions of the small-object analysis (docs PAPERS.md A.6): ground-truth component recall by
// component area (COCO-style bins by default), and per-image per-class IoU by the class's ground-truth area fraction.
// Inputs come in a canonical order (images by id, components in raster order), so shards merge to identical sums.
namespace SegLab.Metrics;

/// <summary>Reductions of per-image records into size bins.</summary>
internal static class SizeBins
{
    /// <summary>Component recall per area bin; the bins are [0, e0), [e0, e1), ..., [e_last, infinity).</summary>
    public static ComponentAreaBin[] Components(IReadOnlyList<SmallObjectRecord> records, int k, IReadOnlyList<int> edges)
    {
        int bins = edges.Count + 1;
        var count = new int[bins, k];
        var recallSum = new double[bins, k];
        var hits = new long[bins, k];
        var area = new long[bins, k];
        foreach (var r in records)
        {
            var cls = r.ComponentClass;
            var areas = r.ComponentArea;
            var hit = r.ComponentHits;
            for (int i = 0; i < r.Count; i++)
            {
                int b = 0;
                while (b < edges.Count && areas[i] >= edges[b]) b++;
                int c = cls[i];
                count[b, c]++;
                recallSum[b, c] += (double)hit[i] / areas[i];
                hits[b, c] += hit[i];
                area[b, c] += areas[i];
            }
        }
        var result = new ComponentAreaBin[bins];
        for (int b = 0; b < bins; b++)
        {
            long lo = b == 0 ? 0 : edges[b - 1];
            long? hi = b == bins - 1 ? null : edges[b];
            var perCount = new int[k];
            var perMean = new double[k];
            var perPooled = new double[k];
            int total = 0;
            double sum = 0;
            long totalHits = 0, totalArea = 0;
            for (int c = 0; c < k; c++)
            {
                perCount[c] = count[b, c];
                perMean[c] = count[b, c] == 0 ? double.NaN : 100.0 * recallSum[b, c] / count[b, c];
                perPooled[c] = area[b, c] == 0 ? double.NaN : 100.0 * hits[b, c] / area[b, c];
                total += count[b, c];
                sum += recallSum[b, c];
                totalHits += hits[b, c];
                totalArea += area[b, c];
            }
            result[b] = new ComponentAreaBin(BinName(b, bins, lo, hi), lo, hi, total,
                total == 0 ? double.NaN : 100.0 * sum / total,
                totalArea == 0 ? double.NaN : 100.0 * totalHits / totalArea,
                perCount, perMean, perPooled);
        }
        return result;
    }

    /// <summary>Per-image per-class IoU of classes present in the image's ground truth, binned by their area fraction.</summary>
    public static AreaFractionBin[] AreaFractions(IReadOnlyList<ImageConfusion> images, int k, IReadOnlyList<double> edges)
    {
        int bins = edges.Count - 1;
        var count = new int[bins, k];
        var iouSum = new double[bins, k];
        foreach (var img in images)
        {
            if (img.Valid == 0) continue;
            for (int c = 0; c < k; c++)
            {
                long gt = img.GroundTruth(c);
                if (gt == 0) continue;
                double f = (double)gt / img.Valid;
                int b = 0;
                while (b < bins - 1 && f >= edges[b + 1]) b++;
                count[b, c]++;
                iouSum[b, c] += img.IoU(c);
            }
        }
        var result = new AreaFractionBin[bins];
        for (int b = 0; b < bins; b++)
        {
            var perCount = new int[k];
            var perMean = new double[k];
            int total = 0;
            double sum = 0;
            for (int c = 0; c < k; c++)
            {
                perCount[c] = count[b, c];
                perMean[c] = count[b, c] == 0 ? double.NaN : 100.0 * iouSum[b, c] / count[b, c];
                total += count[b, c];
                sum += iouSum[b, c];
            }
            result[b] = new AreaFractionBin(edges[b], edges[b + 1], total, total == 0 ? double.NaN : 100.0 * sum / total, perCount, perMean);
        }
        return result;
    }

    private static string BinName(int b, int bins, long lo, long? hi) =>
        bins == 3 ? (b == 0 ? "small" : b == 1 ? "medium" : "large") : hi is null ? $"[{lo}, inf)" : $"[{lo}, {hi})";
}
