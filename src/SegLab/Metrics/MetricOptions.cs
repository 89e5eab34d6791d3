// Settings of the "compute" half of the metrics: which classes the foreground variants drop, the bin edges of the
// small-object analysis and how many worst images to list. Typed and serialisable (no string-keyed dicts).
namespace SegLab.Metrics;

/// <summary>Options for <see cref="MetricAccumulator.Summarize"/>.</summary>
public sealed record MetricOptions
{
    /// <summary>The defaults: no excluded classes, COCO area bins, area-fraction bins at 0.1%, 1% and 10%, 10 worst images.</summary>
    public static MetricOptions Default { get; } = new();

    /// <summary>Class ids dropped from the class averages of the foreground variants (e.g. [0] for a background class).</summary>
    public IReadOnlyList<int> ExcludedClasses { get; init; } = [];

    /// <summary>
    /// Inner edges of the component-area bins in pixels, ascending: bin i holds areas in [edge[i-1], edge[i]) with
    /// 0 and infinity at the ends. The default [1024, 9216] gives COCO's small (&lt; 32²), medium and large (&gt;= 96²).
    /// </summary>
    public IReadOnlyList<int> ComponentAreaEdges { get; init; } = [SmallObjects.SmallArea, SmallObjects.LargeArea];

    /// <summary>
    /// Edges of the bins of a class's ground-truth area as a fraction of the image's valid pixels, ascending, from 0
    /// to 1: bin i holds [edge[i], edge[i+1]), the last one also its upper edge. Default [0, 0.001, 0.01, 0.1, 1].
    /// </summary>
    public IReadOnlyList<double> AreaFractionEdges { get; init; } = [0, 0.001, 0.01, 0.1, 1];

    /// <summary>How many images <see cref="MetricSummary.WorstImages"/> lists (lowest image mIoU first).</summary>
    public int WorstCount { get; init; } = 10;

    /// <summary>Checks the options against a class count.</summary>
    /// <param name="numClasses">Number of classes K.</param>
    /// <exception cref="ArgumentException">An excluded class is out of range or an edge list is not ascending.</exception>
    public void Validate(int numClasses)
    {
        foreach (int c in ExcludedClasses)
            if ((uint)c >= (uint)numClasses) throw new ArgumentException($"MetricOptions: excluded class {c} is not in [0, {numClasses}).");
        for (int i = 0; i < ComponentAreaEdges.Count; i++)
            if (ComponentAreaEdges[i] <= 0 || (i > 0 && ComponentAreaEdges[i] <= ComponentAreaEdges[i - 1]))
                throw new ArgumentException($"MetricOptions: component area edges [{string.Join(", ", ComponentAreaEdges)}] must be positive and strictly ascending.");
        var f = AreaFractionEdges;
        bool ok = f.Count >= 2 && f[0] == 0 && f[^1] == 1;
        for (int i = 1; ok && i < f.Count; i++) ok = f[i] > f[i - 1];
        if (!ok) throw new ArgumentException($"MetricOptions: area fraction edges [{string.Join(", ", f)}] must rise strictly from 0 to 1.");
        if (WorstCount < 0) throw new ArgumentException($"MetricOptions: worst count {WorstCount} must not be negative.");
    }

    /// <summary>Per class, whether it is excluded from the foreground variants.</summary>
    internal bool[] ExcludedMask(int numClasses)
    {
        var mask = new bool[numClasses];
        foreach (int c in ExcludedClasses) mask[c] = true;
        return mask;
    }
}
