// The connected components of one image's ground truth with their areas and hits: the per-image record of the
// small-object analysis (SmallObjects.Analyze builds it; MetricAccumulator bins it). Mergeable by concatenation.
namespace SegLab.Metrics;

/// <summary>
/// The ground-truth connected components of one image (8-connected regions of one class): per component its class,
/// its area in pixels and its hits (its pixels predicted as its class). Components are listed in raster order of
/// their first pixel. Immutable once built.
/// </summary>
public sealed class SmallObjectRecord
{
    private readonly int[] _class;
    private readonly int[] _area;
    private readonly int[] _hits;

    private SmallObjectRecord(string id, int width, int height, int numClasses, int[] cls, int[] area, int[] hits)
    {
        Id = id;
        Width = width;
        Height = height;
        NumClasses = numClasses;
        _class = cls;
        _area = area;
        _hits = hits;
    }

    /// <summary>The image's identifier (the same as its <see cref="ImageConfusion.Id"/>).</summary>
    public string Id { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Number of classes K.</summary>
    public int NumClasses { get; }

    /// <summary>Number of components.</summary>
    public int Count => _class.Length;

    /// <summary>Class of each component.</summary>
    public ReadOnlySpan<int> ComponentClass => _class;

    /// <summary>Area of each component in pixels.</summary>
    public ReadOnlySpan<int> ComponentArea => _area;

    /// <summary>Pixels of each component predicted as the component's class.</summary>
    public ReadOnlySpan<int> ComponentHits => _hits;

    /// <summary>Recall of one component as a fraction (hits / area).</summary>
    /// <param name="i">Component index.</param>
    public double Recall(int i) => (double)_hits[i] / _area[i];

    /// <summary>Builds a record from component lists (for deserialisation), checking them.</summary>
    /// <param name="id">The image's identifier.</param>
    /// <param name="width">Image width (positive).</param>
    /// <param name="height">Image height (positive).</param>
    /// <param name="numClasses">Number of classes K.</param>
    /// <param name="componentClass">Class per component, in [0, K) (copied).</param>
    /// <param name="componentArea">Area per component, positive; all areas together at most width * height (copied).</param>
    /// <param name="componentHits">Hits per component, in [0, area] (copied).</param>
    /// <returns>The record.</returns>
    /// <exception cref="ArgumentException">A list has the wrong length or a value is out of range.</exception>
    public static SmallObjectRecord FromComponents(string id, int width, int height, int numClasses,
        ReadOnlySpan<int> componentClass, ReadOnlySpan<int> componentArea, ReadOnlySpan<int> componentHits)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (width <= 0 || height <= 0 || numClasses < 1)
            throw new ArgumentException($"SmallObjectRecord '{id}': size {width}x{height} and {numClasses} classes must be positive.");
        int n = componentClass.Length;
        if (componentArea.Length != n || componentHits.Length != n)
            throw new ArgumentException($"SmallObjectRecord '{id}': {n} classes, {componentArea.Length} areas and {componentHits.Length} hits; expected equal counts.");
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            if ((uint)componentClass[i] >= (uint)numClasses)
                throw new ArgumentException($"SmallObjectRecord '{id}': component {i} has class {componentClass[i]}, not in [0, {numClasses}).");
            if (componentArea[i] <= 0 || componentHits[i] < 0 || componentHits[i] > componentArea[i])
                throw new ArgumentException($"SmallObjectRecord '{id}': component {i} has area {componentArea[i]} and hits {componentHits[i]}; expected 0 <= hits <= area, area > 0.");
            total += componentArea[i];
        }
        if (total > (long)width * height)
            throw new ArgumentException($"SmallObjectRecord '{id}': components cover {total} pixels, more than the {width}x{height} image.");
        return new SmallObjectRecord(id, width, height, numClasses, componentClass.ToArray(), componentArea.ToArray(), componentHits.ToArray());
    }

    /// <summary>Wraps lists the caller owns and no longer changes (SmallObjects.Analyze, after its own checks).</summary>
    internal static SmallObjectRecord Wrap(string id, int width, int height, int numClasses, int[] cls, int[] area, int[] hits) =>
        new(id, width, height, numClasses, cls, area, hits);
}
