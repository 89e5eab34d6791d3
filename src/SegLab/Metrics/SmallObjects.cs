// Connected components of the ground truth (8-connectivity; one raster pass over horizontal runs joined by
// union-find) with each component's area and hits: the per-image half of the small-object analysis of docs PAPERS.md
// A.6 (attacks remove small objects while pooled metrics, dominated by large regions, hide it). Binning: SizeBins.
using System.Buffers;

namespace SegLab.Metrics;

/// <summary>Finds the ground-truth objects of an image and how much of each the prediction recovers.</summary>
public static class SmallObjects
{
    /// <summary>COCO's "small" bound: components with area below 32 x 32 pixels are small.</summary>
    public const int SmallArea = 32 * 32;

    /// <summary>COCO's "large" bound: components with area of 96 x 96 pixels or more are large.</summary>
    public const int LargeArea = 96 * 96;

    /// <summary>
    /// Labels the 8-connected components of each ground-truth class (ignored pixels belong to none and separate
    /// components) and counts, per component, its area and its pixels predicted as its class.
    /// </summary>
    /// <param name="id">The image's identifier, named in errors.</param>
    /// <param name="pred">Predicted class per pixel, row-major; read at valid pixels only.</param>
    /// <param name="gt">Ground-truth class per pixel, row-major, or <paramref name="ignoreIndex"/>.</param>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="numClasses">Number of classes K.</param>
    /// <param name="ignoreIndex">Ground-truth value of pixels not scored.</param>
    /// <returns>The components in raster order of their first pixel.</returns>
    /// <exception cref="ArgumentException">Sizes do not match, or a value is neither a class nor (ground truth) the ignore index.</exception>
    public static SmallObjectRecord Analyze(string id, ReadOnlySpan<int> pred, ReadOnlySpan<int> gt, int width, int height, int numClasses, int ignoreIndex)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (width <= 0 || height <= 0 || numClasses < 1)
            throw new ArgumentException($"SmallObjects '{id}': size {width}x{height} and {numClasses} classes must be positive.");
        int n = checked(width * height);
        if (pred.Length != n || gt.Length != n)
            throw new ArgumentException($"SmallObjects '{id}': prediction has {pred.Length} and ground truth {gt.Length} pixels; expected {width}x{height} = {n}.");
        var runs = new Runs(n);
        try
        {
            for (int y = 0; y < height; y++) ScanRow(id, pred, gt, y, width, numClasses, ignoreIndex, ref runs);
            return Collect(id, width, height, numClasses, ref runs);
        }
        finally
        {
            runs.Return();
        }
    }

    /// <summary>Horizontal runs of one ground-truth class (the union-find nodes), in raster order, in pooled arrays.</summary>
    private struct Runs(int capacity)
    {
        public int[] Start = ArrayPool<int>.Shared.Rent(capacity);
        public int[] End = ArrayPool<int>.Shared.Rent(capacity);     // exclusive
        public int[] Class = ArrayPool<int>.Shared.Rent(capacity);
        public int[] Hits = ArrayPool<int>.Shared.Rent(capacity);
        public int[] Parent = ArrayPool<int>.Shared.Rent(capacity);
        public int Count;
        public int PrevFirst, PrevEnd;                                  // the runs of the previous row

        public readonly void Return()
        {
            foreach (var a in (int[][])[Start, End, Class, Hits, Parent]) ArrayPool<int>.Shared.Return(a);
        }
    }

    /// <summary>
    /// Splits one row into runs, counting their hits, and joins each run with the previous row's runs of its class
    /// that touch it (8-connectivity: overlapping columns or touching diagonally at an end).
    /// </summary>
    private static void ScanRow(string id, ReadOnlySpan<int> pred, ReadOnlySpan<int> gt, int y, int width, int k, int ignoreIndex, ref Runs runs)
    {
        uint uk = (uint)k;
        int row = y * width;
        int first = runs.Count;
        int j = runs.PrevFirst;
        int x = 0;
        while (x < width)
        {
            int g = gt[row + x];
            if (g == ignoreIndex) { x++; continue; }
            if ((uint)g >= uk) throw Bad(id, "ground-truth", g, row + x, k, ignoreIndex);
            int start = x, hits = 0;
            for (; x < width && gt[row + x] == g; x++)
            {
                int p = pred[row + x];
                if ((uint)p >= uk) throw Bad(id, "prediction", p, row + x, k, ignoreIndex);
                if (p == g) hits++;
            }
            int r = runs.Count++;
            runs.Start[r] = start;
            runs.End[r] = x;
            runs.Class[r] = g;
            runs.Hits[r] = hits;
            runs.Parent[r] = r;
            // Previous-row runs ending left of start - 1 touch neither this run nor any later one of this row.
            while (j < runs.PrevEnd && runs.End[j] < start) j++;
            for (int q = j; q < runs.PrevEnd && runs.Start[q] <= x; q++)
                if (runs.Class[q] == g) Union(runs.Parent, r, q);
        }
        runs.PrevFirst = first;
        runs.PrevEnd = runs.Count;
    }

    /// <summary>Numbers the roots in raster order (a root is its component's first run) and adds up areas and hits.</summary>
    private static SmallObjectRecord Collect(string id, int width, int height, int k, ref Runs runs)
    {
        var cls = new List<int>();
        var area = new List<int>();
        var hits = new List<int>();
        var parent = runs.Parent;
        for (int r = 0; r < runs.Count; r++)
        {
            int root = Find(parent, r);
            int c;
            if (root == r)
            {
                c = cls.Count;
                cls.Add(runs.Class[r]);
                area.Add(0);
                hits.Add(0);
            }
            else c = runs.Class[root];                                   // the root's slot now holds its component index
            area[c] += runs.End[r] - runs.Start[r];
            hits[c] += runs.Hits[r];
            if (root == r) runs.Class[r] = c;
        }
        return SmallObjectRecord.Wrap(id, width, height, k, [.. cls], [.. area], [.. hits]);
    }

    private static int Find(int[] parent, int i)
    {
        while (parent[i] != i)
        {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }

    /// <summary>Joins two trees, keeping the smaller index as root (so the root is the component's first run).</summary>
    private static void Union(int[] parent, int a, int b)
    {
        int ra = Find(parent, a), rb = Find(parent, b);
        if (ra == rb) return;
        if (ra < rb) parent[rb] = ra;
        else parent[ra] = rb;
    }

    private static ArgumentException Bad(string id, string what, int value, int index, int k, int ignoreIndex) =>
        new($"SmallObjects '{id}': {what} value {value} at pixel {index} is not a class in [0, {k})"
            + (what == "ground-truth" ? $" nor the ignore index {ignoreIndex}." : "."));
}
