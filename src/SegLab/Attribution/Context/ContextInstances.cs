// The objects of the context study (PAPERS.md B.3 and F): connected components (8-connectivity, as SmallObjects) of
// one class in an image's ground truth, kept from a stated minimum area on, with the size groups of B.3 by background
// ratio r = 1 - area / (H W) (bigger r in [0.3, 0.5], middle (0.5, 0.8), smaller [0.8, 1]; r < 0.3 is dropped, as
// the paper's 0.3 filter) and, since nearly every CamVid object is "smaller", COCO's area groups beside them.
namespace SegLab.Attribution.Context;

/// <summary>One object: a connected ground-truth component of one class in one image.</summary>
/// <param name="Id">"IMAGE#k" (k: the component's rank in raster order of its first pixel among the kept objects of the image).</param>
/// <param name="ImageId">Image id.</param>
/// <param name="ImageIndex">Index of the image in the split (before --limit and --shard).</param>
/// <param name="Class">Class id.</param>
/// <param name="Mask">Row-major H*W object mask.</param>
/// <param name="Height">H.</param>
/// <param name="Width">W.</param>
/// <param name="Area">Object pixels.</param>
/// <param name="Box">Bounding box, end exclusive.</param>
/// <param name="Ordinal">k of the id: the object's rank among the kept objects of its image.</param>
public sealed record ContextInstance(string Id, string ImageId, int ImageIndex, int Class, bool[] Mask, int Height, int Width, int Area,
    (int X0, int Y0, int X1, int Y1) Box, int Ordinal)
{
    /// <summary>Background ratio 1 - area / (H W) (B.3).</summary>
    public double BackgroundRatio => 1 - ((double)Area / (Height * Width));

    /// <summary>B.3 size group: bigger, middle or smaller.</summary>
    public string SizeGroup => ContextInstances.SizeGroupOf(BackgroundRatio);

    /// <summary>COCO area group: small (&lt; 32^2 px), medium, large (&gt;= 96^2 px).</summary>
    public string AreaGroup => Area < 32 * 32 ? "small" : Area < 96 * 96 ? "medium" : "large";
}

/// <summary>Settings of the object extraction.</summary>
public sealed record InstanceOptions
{
    /// <summary>Least object area kept, in pixels (default 100: smaller CamVid components are mostly label fragments of poles and signs).</summary>
    public int MinArea { get; init; } = 100;

    /// <summary>Objects kept per image and class, the largest first (default 3).</summary>
    public int MaxPerClass { get; init; } = 3;

    /// <summary>Least background ratio kept (B.3: 0.3).</summary>
    public double MinBackgroundRatio { get; init; } = 0.3;
}

/// <summary>Extracts <see cref="ContextInstance"/>s from a label map.</summary>
public static class ContextInstances
{
    /// <summary>B.3's size group of a background ratio.</summary>
    /// <param name="r">1 - object area fraction.</param>
    public static string SizeGroupOf(double r) => r <= 0.5 ? "bigger" : r < 0.8 ? "middle" : "smaller";

    /// <summary>The objects of <paramref name="classes"/> in one label map, in raster order of their first pixel.</summary>
    /// <param name="imageId">Image id.</param>
    /// <param name="imageIndex">Index of the image in its split.</param>
    /// <param name="label">Row-major H*W class ids (ignored pixels hold any other value).</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="classes">Object classes.</param>
    /// <param name="options">Size filter and cap.</param>
    public static List<ContextInstance> Extract(string imageId, int imageIndex, ReadOnlySpan<int> label, int height, int width,
        IReadOnlyCollection<int> classes, InstanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(options);
        int n = height * width;
        if (label.Length != n) throw new ArgumentException($"instances of {imageId}: the label map has {label.Length} pixels, expected {width}x{height}.");
        var comp = new int[n];
        Array.Fill(comp, -1);
        var found = new List<(int Class, int First, List<int> Pixels)>();
        var stack = new Stack<int>();
        for (int p = 0; p < n; p++)
        {
            int c = label[p];
            if (comp[p] >= 0 || !classes.Contains(c)) continue;
            var pixels = new List<int>();
            int id = found.Count;
            comp[p] = id;
            stack.Push(p);
            while (stack.Count > 0)
            {
                int q = stack.Pop();
                pixels.Add(q);
                int qy = q / width, qx = q % width;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int y = qy + dy, x = qx + dx;
                        if (y < 0 || y >= height || x < 0 || x >= width) continue;
                        int r = (y * width) + x;
                        if (comp[r] < 0 && label[r] == c)
                        {
                            comp[r] = id;
                            stack.Push(r);
                        }
                    }
            }
            found.Add((c, p, pixels));
        }
        var kept = found.Where(f => f.Pixels.Count >= options.MinArea && 1 - ((double)f.Pixels.Count / n) >= options.MinBackgroundRatio)
            .GroupBy(f => f.Class)
            .SelectMany(g => g.OrderByDescending(f => f.Pixels.Count).ThenBy(f => f.First).Take(options.MaxPerClass))
            .OrderBy(f => f.First)
            .ToList();
        var result = new List<ContextInstance>(kept.Count);
        foreach (var (c, _, pixels) in kept)
        {
            var mask = new bool[n];
            int x0 = width, y0 = height, x1 = 0, y1 = 0;
            foreach (int q in pixels)
            {
                mask[q] = true;
                int y = q / width, x = q % width;
                x0 = Math.Min(x0, x);
                y0 = Math.Min(y0, y);
                x1 = Math.Max(x1, x + 1);
                y1 = Math.Max(y1, y + 1);
            }
            result.Add(new ContextInstance($"{imageId}#{result.Count}", imageId, imageIndex, c, mask, height, width, pixels.Count, (x0, y0, x1, y1), result.Count));
        }
        return result;
    }
}
