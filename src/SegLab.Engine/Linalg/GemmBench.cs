// GEMM throughput on the user's machine, for `seglab bench gemm`: every available provider, size and thread
// count, providers interleaved in short blocks (alternating which goes first) so that machine noise hits them
// alike; medians reported. Writes nothing to the console: progress goes through IProgress.
using System.Diagnostics;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Linalg;

/// <summary>One GEMM measurement.</summary>
/// <param name="Provider">Provider name.</param>
/// <param name="Size">m = n = k.</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="Gflops">2 n^3 / median time, in 1e9 flop/s.</param>
/// <param name="MedianMs">Median time of one product.</param>
/// <param name="Repeats">Timed repeats.</param>
public sealed record GemmBenchRecord(string Provider, int Size, int Threads, double Gflops, double MedianMs, int Repeats);

/// <summary>Times SGEMM.</summary>
public static class GemmBench
{
    /// <summary>Timed seconds aimed at per (size, thread count) case, all providers together.</summary>
    public const double SecondsPerCase = 0.8;

    /// <summary>Fewest and most timed repeats per provider and case.</summary>
    public const int MinRepeats = 3, MaxRepeats = 40;

    /// <summary>Milliseconds one provider runs before the other takes over.</summary>
    private const double BlockMs = 100;

    /// <summary>Pause between providers' blocks when several threads are timed, longer than OpenBLAS's idle spin.</summary>
    private const int SettleMs = 150;

    /// <summary>
    /// Times C = A * B (no transposes, beta 0) for every available provider, size and thread count. Each case is
    /// warmed up, then repeated about <see cref="SecondsPerCase"/> seconds' worth (at least <see cref="MinRepeats"/>),
    /// providers alternating in blocks of about 0.1 s (with a 0.15 s pause between blocks when several threads are
    /// timed). The engine's thread setting is restored afterwards.
    /// </summary>
    /// <param name="sizes">Square sizes (positive).</param>
    /// <param name="threadCounts">Thread counts (positive).</param>
    /// <param name="progress">Optional status lines.</param>
    public static IReadOnlyList<GemmBenchRecord> Run(IEnumerable<int> sizes, IEnumerable<int> threadCounts, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(threadCounts);
        var sizeList = sizes.ToList();
        var threadList = threadCounts.ToList();
        if (sizeList.Any(s => s < 1)) throw new ArgumentException($"gemm bench: sizes must be positive, got {string.Join(", ", sizeList)}.", nameof(sizes));
        if (threadList.Any(t => t < 1)) throw new ArgumentException($"gemm bench: thread counts must be positive, got {string.Join(", ", threadList)}.", nameof(threadCounts));

        var providers = new List<IGemmProvider> { Gemm.Managed };
        if (Gemm.OpenBlas is { } ob) providers.Add(ob);
        var records = new List<GemmBenchRecord>();
        int saved = Parallelism.Threads;
        try
        {
            foreach (int t in threadList)
            {
                Parallelism.SetThreads(t);
                foreach (int n in sizeList)
                {
                    progress?.Report($"GEMM {n}^3 on {t} thread(s): {string.Join(" vs ", providers.Select(p => p.Name))}");
                    records.AddRange(Case(providers, n, t));
                }
            }
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
        return records;
    }

    private static List<GemmBenchRecord> Case(List<IGemmProvider> providers, int n, int threads)
    {
        var a = Tensor.Uniform([n, n], -1, 1, 1).Span.ToArray();
        var b = Tensor.Uniform([n, n], -1, 1, 2).Span.ToArray();
        var c = new float[n * n];
        double flops = 2.0 * n * n * n;

        // Warm-up: JIT, packing buffers, OpenBLAS's threads; at least 20 ms or two calls per provider.
        double perRound = 0;
        foreach (var p in providers)
        {
            double last = 0, spent = 0;
            for (int w = 0; w < 20 && (w < 2 || spent < 20); w++)
            {
                last = Time(p, n, a, b, c);
                spent += last;
            }
            perRound += last;
        }
        // Rounds of blocks: each provider runs a block of about BlockMs, in alternating order. With several threads
        // the blocks are separated by a pause: OpenBLAS's idle threads keep spinning (yielding) for about 0.1 s
        // after each call, taking the cores that the next provider's threads need.
        int repeats = Math.Clamp((int)(SecondsPerCase * 1000 / Math.Max(perRound, 1e-3)), MinRepeats, MaxRepeats);
        int block = Math.Clamp((int)(BlockMs * providers.Count / Math.Max(perRound, 1e-3)), 1, repeats);
        int rounds = (repeats + block - 1) / block;
        repeats = rounds * block;
        bool settle = threads > 1 && providers.Count > 1;
        var times = providers.Select(_ => new double[repeats]).ToList();
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < providers.Count; i++)
            {
                int q = r % 2 == 0 ? i : providers.Count - 1 - i;
                if (settle) Thread.Sleep(SettleMs);
                for (int x = 0; x < block; x++)
                    times[q][r * block + x] = Time(providers[q], n, a, b, c);
            }
        }
        var result = new List<GemmBenchRecord>(providers.Count);
        for (int q = 0; q < providers.Count; q++)
        {
            double ms = Median(times[q]);
            result.Add(new GemmBenchRecord(providers[q].Name, n, threads, flops / (ms * 1e6), ms, repeats));
        }
        return result;
    }

    private static double Time(IGemmProvider p, int n, float[] a, float[] b, float[] c)
    {
        long start = Stopwatch.GetTimestamp();
        p.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static double Median(double[] x)
    {
        var s = (double[])x.Clone();
        Array.Sort(s);
        int h = s.Length / 2;
        return s.Length % 2 == 1 ? s[h] : 0.5 * (s[h - 1] + s[h]);
    }
}
