// Elementwise kernel throughput through the engine's own operations, in GB/s (bytes read + written / time).
using System.Diagnostics;
using SegLab.Engine;

namespace SegLab.Cli.Bench;

/// <summary>One elementwise measurement.</summary>
/// <param name="Kernel">Operation.</param>
/// <param name="Elements">Elements per array.</param>
/// <param name="GBps">Throughput.</param>
/// <param name="MedianMs">Median time of one call.</param>
internal sealed record ElementwiseRecord(string Kernel, int Elements, double GBps, double MedianMs);

internal static class ElementwiseBench
{
    public static IReadOnlyList<ElementwiseRecord> Run(int n)
    {
        if (n < 1) throw new ArgumentException($"--elements must be positive, got {n}.");
        var a = Tensor.Uniform([n], -2, 2, 1);
        var b = Tensor.Uniform([n], -2, 2, 2);
        var cases = new (string Name, int Arrays, Func<Tensor> Run)[]
        {
            ("add", 3, () => Ops.Add(a, b)),
            ("mul", 3, () => Ops.Mul(a, b)),
            ("exp", 2, () => Ops.Exp(a)),
            ("sigmoid", 2, () => Ops.Sigmoid(a)),
            ("relu", 2, () => Ops.Relu(a)),
        };
        var records = new List<ElementwiseRecord>();
        foreach (var (name, arrays, run) in cases)
        {
            run();
            var times = new List<double>();
            for (int i = 0; i < 9; i++)
            {
                var sw = Stopwatch.StartNew();
                run();
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            double ms = times[times.Count / 2];
            records.Add(new ElementwiseRecord(name, n, arrays * 4.0 * n / (ms * 1e6), ms));
        }
        return records;
    }
}
