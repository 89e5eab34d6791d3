// Connected components of the ground truth (8-connectivity, one raster pass with union-find) and each component's
// area and hits: the per-image half of the small-object analysis of docs PAPERS.md A.6 (size bias: attacks remove
// small objects while pooled metrics, dominated by large regions, hide it). Binning happens in MetricAccumulator.
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
        int[] parent = ArrayPool<int>.Shared.Rent(n);
        int[] component = ArrayPool<int>.Shared.Rent(n);
        try
        {
            Label(id, pred, gt, width, height, numClasses, ignoreIndex, parent);
            return Collect(id, pred, gt, width, height, numClasses, parent, component);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(parent);
            ArrayPool<int>.Shared.Return(component);
        }
    }

    /// <summary>First pass: a union-find forest over pixels (-1 for ignored ones), each root the component's first pixel.</summary>
    private static void Label(string id, ReadOnlySpan<int> pred, ReadOnlySpan<int> gt, int width, int height, int k, int ignoreIndex, int[] parent)
    {
        uint uk = (uint)k;
        for (int y = 0; y < height; y++)
        {
            int row = y * width;
            for (int x = 0; x < width; x++)
            {
                int i = row + x;
                int g = gt[i];
                if (g == ignoreIndex) { parent[i] = -1; continue; }
                if ((uint)g >= uk) throw Bad(id, "ground-truth", g, i, k, ignoreIndex);
                if ((uint)pred[i] >= uk) throw Bad(id, "prediction", pred[i], i, k, ignoreIndex);
                parent[i] = i;
                if (y == 0)
                {
                    if (x > 0 && gt[i - 1] == g) Union(parent, i, i - 1);
                    continue;
                }
                int up = i - width;
                // When the pixel above has the same class it touches W, NW and NE too: they are already joined to it.
                if (gt[up] == g) { Union(parent, i, up); continue; }
                if (x > 0 && gt[i - 1] == g) Union(parent, i, i - 1);
                else if (x > 0 && gt[up - 1] == g) Union(parent, i, up - 1);
                if (x < width - 1 && gt[up + 1] == g) Union(parent, i, up + 1);
            }
        }
    }

    /// <summary>Second pass: numbers the roots in raster order and counts each component's area and hits.</summary>
    private static SmallObjectRecord Collect(string id, ReadOnlySpan<int> pred, ReadOnlySpan<int> gt, int width, int height, int k, int[] parent, int[] component)
    {
        var cls = new List<int>();
        var area = new List<int>();
        var hits = new List<int>();
        int n = width * height;
        for (int i = 0; i < n; i++)
        {
            if (parent[i] < 0) continue;
            int root = Find(parent, i);
            int c;
            if (root == i)
            {
                c = cls.Count;
                component[i] = c;
                cls.Add(gt[i]);
                area.Add(0);
                hits.Add(0);
            }
            else c = component[root];
            area[c]++;
            if (pred[i] == gt[i]) hits[c]++;
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

    /// <summary>Joins two trees, keeping the smaller index as root (so the root is the component's first pixel).</summary>
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
