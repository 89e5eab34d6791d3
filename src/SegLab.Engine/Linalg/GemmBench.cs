// GEMM throughput on the user's machine, for `seglab bench gemm`: every available provider, size and thread
// count, providers interleaved repeat by repeat so that machine noise hits them alike; medians reported.
using System.Diagnostics;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Linalg;

/// <summary>One GEMM measurement.</summary>
/// <param name="Provider">Provider name.</param>
/// <param name="Size">m = n = k.</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="Gflops">2 n^3 / median time.</param>
/// <param name="MedianMs">Median time of one product.</param>
/// <param name="Repeats">Timed repeats.</param>
public sealed record GemmBenchRecord(string Provider, int Size, int Threads, double Gflops, double MedianMs, int Repeats);

/// <summary>Times SGEMM.</summary>
public static class GemmBench
{
    /// <summary>Runs the benchmark; the engine's thread setting is restored afterwards.</summary>
    /// <param name="sizes">Square sizes.</param>
    /// <param name="threadCounts">Thread counts.</param>
    /// <param name="progress">Optional status lines.</param>
    public static IReadOnlyList<GemmBenchRecord> Run(IEnumerable<int> sizes, IEnumerable<int> threadCounts, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(threadCounts);
        var providers = new List<IGemmProvider> { Gemm.Managed };
        if (Gemm.OpenBlas is { } ob) providers.Add(ob);
        var records = new List<GemmBenchRecord>();
        int saved = Parallelism.Threads;
        try
        {
            foreach (int t in threadCounts)
            {
                Parallelism.SetThreads(t);
                foreach (int n in sizes)
                {
                    progress?.Report($"{n}^3 on {t} thread(s)");
                    var a = Tensor.Uniform([n, n], -1, 1, 1).Span.ToArray();
                    var b = Tensor.Uniform([n, n], -1, 1, 2).Span.ToArray();
                    var c = new float[n * n];
                    double flops = 2.0 * n * n * n;
                    int repeats = Math.Clamp((int)(4e9 / flops), 3, 30);
                    var times = providers.Select(_ => new List<double>()).ToList();
                    foreach (var p in providers) p.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
                    for (int r = 0; r < repeats; r++)
                    {
                        for (int q = 0; q < providers.Count; q++)
                        {
                            var sw = Stopwatch.StartNew();
                            providers[q].Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
                            times[q].Add(sw.Elapsed.TotalMilliseconds);
                        }
                    }
                    for (int q = 0; q < providers.Count; q++)
                    {
                        times[q].Sort();
                        double ms = times[q][times[q].Count / 2];
                        records.Add(new GemmBenchRecord(providers[q].Name, n, t, flops / (ms * 1e6), ms, repeats));
                    }
                }
            }
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
        return records;
    }
}
