// Worst-case selections over an ensemble (PAPERS.md A.1, A.4, A.6): per image the strongest candidate by accuracy
// (SEA) or by image mIoU (Halmosi), and SEA's greedy local search for the worst-case dataset mIoU
// (tools/worse_only.py::worst_case_miou): start from the single attack with the lowest dataset mIoU (the paper's
// choice, so the result is never above any single attack's), visit images in a seeded random order, switch an
// image's attack whenever the dataset mIoU drops, until a pass improves by at most 1e-6 (at most 1000 passes).
using SegLab.Engine;

namespace SegLab.Robustness.Protocols;

/// <summary>Worst-case selection and dataset metrics from per-image counts.</summary>
public static class WorstCase
{
    /// <summary>Index of the strongest candidate (lowest score; the first on exact ties).</summary>
    /// <param name="candidates">Counts of each candidate for one image.</param>
    /// <param name="selection">Rule.</param>
    public static int Strongest(IReadOnlyList<ImageCounts> candidates, Selection selection)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0) throw new ArgumentException("worst case: no candidates.");
        int best = 0;
        for (int a = 1; a < candidates.Count; a++)
            if (ImageCounts.Stronger(candidates[a], candidates[best], selection == Selection.MeanIoU)) best = a;
        return best;
    }

    /// <summary>Dataset mIoU (0-1) from summed intersections and unions: mean over classes with a non-empty union.</summary>
    /// <param name="tp">Summed intersections.</param>
    /// <param name="union">Summed unions.</param>
    /// <param name="skipClass">Class left out (foreground variant), or -1.</param>
    public static double DatasetMeanIoU(ReadOnlySpan<long> tp, ReadOnlySpan<long> union, int skipClass = -1) =>
        DatasetMeanIoU(tp, union, skipClass < 0 ? [] : new ReadOnlySpan<int>(in skipClass));

    /// <summary>Dataset mIoU (0-1) from summed intersections and unions, leaving out <paramref name="excluded"/>.</summary>
    /// <param name="tp">Intersections per class.</param>
    /// <param name="union">Unions per class.</param>
    /// <param name="excluded">Classes left out (foreground metrics).</param>
    public static double DatasetMeanIoU(ReadOnlySpan<long> tp, ReadOnlySpan<long> union, ReadOnlySpan<int> excluded)
    {
        double s = 0;
        int k = 0;
        for (int c = 0; c < tp.Length; c++)
        {
            if (union[c] <= 0 || excluded.Contains(c)) continue;
            s += (double)tp[c] / union[c];
            k++;
        }
        return k == 0 ? double.NaN : s / k;
    }

    /// <summary>Dataset mIoU (0-1) of one selection of counts.</summary>
    /// <param name="selected">One counts record per image.</param>
    /// <param name="skipClass">Class left out, or -1.</param>
    public static double DatasetMeanIoU(IEnumerable<ImageCounts> selected, int skipClass = -1) =>
        DatasetMeanIoU(selected, skipClass < 0 ? [] : [skipClass]);

    /// <summary>Dataset mIoU (0-1) of one counts record per image, leaving out <paramref name="excluded"/>.</summary>
    /// <param name="selected">Counts per image.</param>
    /// <param name="excluded">Classes left out.</param>
    public static double DatasetMeanIoU(IEnumerable<ImageCounts> selected, IReadOnlyList<int> excluded)
    {
        ArgumentNullException.ThrowIfNull(selected);
        long[]? tp = null, un = null;
        foreach (var c in selected)
        {
            tp ??= new long[c.Tp.Length];
            un ??= new long[c.Tp.Length];
            for (int k = 0; k < tp.Length; k++)
            {
                tp[k] += c.Tp[k];
                un[k] += c.Union(k);
            }
        }
        return tp is null ? double.NaN : DatasetMeanIoU(tp, un!, excluded.ToArray());
    }

    /// <summary>SEA's greedy worst-case dataset mIoU: the value (0-1) and the chosen candidate per image.</summary>
    /// <param name="candidates">Per image, the counts of every candidate (the same number for each image).</param>
    /// <param name="seed">Seed of the visiting order (SEA: 225).</param>
    /// <param name="maxPasses">Pass limit.</param>
    public static (double MeanIoU, int[] Selection) GreedyMeanIoU(IReadOnlyList<IReadOnlyList<ImageCounts>> candidates, long seed = 225, int maxPasses = 1000)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        int n = candidates.Count;
        if (n == 0) return (double.NaN, []);
        int m = candidates[0].Count, k = candidates[0][0].Tp.Length;
        if (candidates.Any(c => c.Count != m)) throw new ArgumentException("greedy worst case: every image needs the same candidates.");
        // Start: the candidate whose selection for every image gives the lowest dataset mIoU.
        int start = 0;
        double startValue = double.PositiveInfinity;
        for (int a = 0; a < m; a++)
        {
            double v = DatasetMeanIoU(candidates.Select(c => c[a]));
            if (v < startValue) { startValue = v; start = a; }
        }
        var sel = Enumerable.Repeat(start, n).ToArray();
        long[] tp = new long[k], un = new long[k], tTp = new long[k], tUn = new long[k];
        for (int i = 0; i < n; i++) Add(candidates[i][start], tp, un, 1);
        double best = DatasetMeanIoU(tp, un);
        var rng = new Rng(seed);
        var order = Enumerable.Range(0, n).ToArray();
        for (int pass = 0; pass < maxPasses; pass++)
        {
            double before = best;
            rng.Shuffle(order);
            foreach (int i in order)
            {
                for (int a = 0; a < m; a++)
                {
                    if (a == sel[i]) continue;
                    tp.CopyTo(tTp, 0);
                    un.CopyTo(tUn, 0);
                    Add(candidates[i][sel[i]], tTp, tUn, -1);
                    Add(candidates[i][a], tTp, tUn, 1);
                    double v = DatasetMeanIoU(tTp, tUn);
                    if (v < best)
                    {
                        best = v;
                        sel[i] = a;
                        tTp.CopyTo(tp, 0);
                        tUn.CopyTo(un, 0);
                    }
                }
            }
            if (before - best <= 1e-6) break;
        }
        return (best, sel);
    }

    private static void Add(ImageCounts c, long[] tp, long[] un, int sign)
    {
        for (int k = 0; k < tp.Length; k++)
        {
            tp[k] += sign * c.Tp[k];
            un[k] += sign * c.Union(k);
        }
    }
}
