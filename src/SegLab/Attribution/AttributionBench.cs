// Time per image of one attribution method on one model (`seglab bench attribution`): the median over repeats
// after a warm-up, beside the median of one forward + input-gradient pass of the same target (the unit the issue's
// budgets are stated in: Grad-CAM about 1, IG with 32 steps at most 40), and the process's peak memory. Run one
// method per process to read the peak as that method's own.
using System.Diagnostics;
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>One timing.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Method">Method name.</param>
/// <param name="Layer">CAM layer, or null.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="MedianMs">Median milliseconds per map.</param>
/// <param name="GradPassMs">Median milliseconds of one forward + input-gradient pass.</param>
/// <param name="Passes">MedianMs / GradPassMs.</param>
/// <param name="Forwards">Forward passes per map (images).</param>
/// <param name="Backwards">Backward passes per map (images).</param>
/// <param name="PeakMemoryMB">Peak working set of the process.</param>
/// <param name="Repeats">Timed runs.</param>
public sealed record AttributionBenchResult(string Model, string Method, string? Layer, int Height, int Width, int Threads,
    double MedianMs, double GradPassMs, double Passes, int Forwards, int Backwards, double PeakMemoryMB, int Repeats);

/// <summary>Times attribution methods.</summary>
public static class AttributionBench
{
    /// <summary>Times <paramref name="method"/> on a seeded random image with a centred box target (or <paramref name="target"/>, e.g. a classifier's class).</summary>
    /// <param name="model">The model.</param>
    /// <param name="method">The method.</param>
    /// <param name="options">Its settings.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="repeats">Timed runs (after one warm-up run).</param>
    /// <param name="target">The target, or null: the box of the middle half of class min(8, C - 1).</param>
    public static AttributionBenchResult Run(SegmentationModel model, IAttribution method, AttributionOptions options, int height, int width, int repeats, AttributionTarget? target = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(method);
        if (repeats < 1) throw new ArgumentException($"bench: repeats must be at least 1, got {repeats}.");
        var rng = new Rng(1);
        var x = new float[3 * height * width];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        target ??= AttributionTarget.Box(Math.Min(8, model.NumClasses - 1), width / 4, height / 4, 3 * width / 4, 3 * height / 4, height, width);
        var saliency = new Saliency();
        double Time(Func<AttributionMap> f, out AttributionMap last)
        {
            last = f();
            var ms = new double[repeats];
            for (int r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                last = f();
                ms[r] = sw.Elapsed.TotalMilliseconds;
            }
            Array.Sort(ms);
            return ms[repeats / 2];
        }
        double grad = Time(() => saliency.Attribute(model, Tensor.FromArray((float[])x.Clone(), 3, height, width), target), out _);
        double median = Time(() => method.Attribute(model, Tensor.FromArray((float[])x.Clone(), 3, height, width), target, options), out var map);
        double peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
        return new AttributionBenchResult(model.Name, method.Name, map.Layer, height, width, SegLab.Engine.Threading.Parallelism.Threads,
            median, grad, median / grad, map.Forwards, map.Backwards, peak, repeats);
    }
}
