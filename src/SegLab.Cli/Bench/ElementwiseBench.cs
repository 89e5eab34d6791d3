// Elementwise kernel throughput for `seglab bench elementwise`: TensorPrimitives over plain float[] (the kernels the
// engine's elementwise operations call), in GB/s = (bytes read + bytes written) / median time. One thread.
using System.Diagnostics;
using System.Numerics.Tensors;

namespace SegLab.Cli.Bench;

/// <summary>One elementwise measurement.</summary>
/// <param name="Kernel">Operation.</param>
/// <param name="Elements">Elements per array.</param>
/// <param name="Gbps">Throughput in GB/s (bytes read + written per second, 1 GB = 1e9 bytes).</param>
/// <param name="MedianMs">Median time of one call.</param>
/// <param name="Repeats">Timed repeats.</param>
internal sealed record ElementwiseRecord(string Kernel, int Elements, double Gbps, double MedianMs, int Repeats);

/// <summary>Times add, mul, exp, sigmoid and relu over n-element float arrays.</summary>
internal static class ElementwiseBench
{
    /// <summary>Default array length: 16M floats (64 MB per array), far beyond any cache.</summary>
    public const int DefaultElements = 1 << 24;

    /// <summary>Runs every kernel; each is warmed up once, then timed <paramref name="repeats"/> times.</summary>
    /// <param name="n">Elements per array.</param>
    /// <param name="repeats">Timed repeats per kernel.</param>
    /// <param name="progress">Optional status lines.</param>
    public static IReadOnlyList<ElementwiseRecord> Run(int n = DefaultElements, int repeats = 9, IProgress<string>? progress = null)
    {
        if (n < 1) throw new ArgumentException($"--elements must be positive, got {n}.");
        if (repeats < 1) throw new ArgumentException($"--repeats must be positive, got {repeats}.");
        var rng = new Random(1);
        var a = new float[n];
        var b = new float[n];
        var d = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(rng.NextDouble() * 4 - 2);
            b[i] = (float)(rng.NextDouble() * 4 - 2);
        }
        // (name, arrays touched per element: inputs read + output written, kernel)
        var cases = new (string Name, int Arrays, Action Run)[]
        {
            ("add", 3, () => TensorPrimitives.Add(a, b, d)),
            ("mul", 3, () => TensorPrimitives.Multiply(a, b, d)),
            ("exp", 2, () => TensorPrimitives.Exp(a, d)),
            ("sigmoid", 2, () => TensorPrimitives.Sigmoid(a, d)),
            ("relu", 2, () => TensorPrimitives.Max(a, 0f, d)),
        };
        var records = new List<ElementwiseRecord>(cases.Length);
        var times = new double[repeats];
        foreach (var (name, arrays, run) in cases)
        {
            progress?.Report($"{name} over {n:N0} floats");
            // Warm up until the JIT has settled (tiered compilation): at least 3 calls and 100 ms, at most 30 calls.
            long warm = Stopwatch.GetTimestamp();
            for (int w = 0; w < 30 && (w < 3 || Stopwatch.GetElapsedTime(warm).TotalMilliseconds < 100); w++) run();
            for (int i = 0; i < repeats; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                run();
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            Array.Sort(times);
            double ms = times[repeats / 2];
            records.Add(new ElementwiseRecord(name, n, arrays * (double)sizeof(float) * n / (ms * 1e6), ms, repeats));
        }
        return records;
    }
}
