// `seglab bench iseg`: iSeg's refinement (PAPERS.md D.3-D.4) on N tokens and C classes at K iterations, per thread
// count: Ent-Self (scaling, entropy step, clamp, row normalisation of the N x N matrix) and the K propagations (engine
// GEMMs [N, N] x [N, C]) timed apart, medians of wall and CPU time, the process's peak working set, and the memory
// the refinement holds by AttentionRefinement.MemoryBytes. Input: a random row-stochastic S and random A0 (seed 20).
using SegLab.Engine;
using SegLab.Engine.Threading;
using SegLab.TrainingFree;

namespace SegLab.Cli.Bench;

/// <summary>One iSeg timing.</summary>
/// <param name="Tokens">N.</param>
/// <param name="Classes">C.</param>
/// <param name="Iterations">K.</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="EntSelfMs">Median wall time of Ent-Self.</param>
/// <param name="EntSelfCpuMs">Median processor time of Ent-Self.</param>
/// <param name="IterationsMs">Median wall time of the K propagations.</param>
/// <param name="IterationsCpuMs">Median processor time of the K propagations.</param>
/// <param name="HeldMB">Memory the refinement holds (N^2 + 2 N C floats), MiB.</param>
/// <param name="PeakMemoryMB">Peak working set of the process so far, MiB.</param>
/// <param name="Repeats">Timed repeats.</param>
internal sealed record IsegBenchRecord(int Tokens, int Classes, int Iterations, int Threads, double EntSelfMs, double EntSelfCpuMs, double IterationsMs, double IterationsCpuMs,
    double HeldMB, double PeakMemoryMB, int Repeats);

/// <summary>Times iSeg's refinement.</summary>
internal static class IsegBench
{
    /// <summary>Each N of <paramref name="tokens"/> at each thread count, warmed once, then timed <paramref name="repeats"/> times.</summary>
    public static IReadOnlyList<IsegBenchRecord> Run(int[] tokens, int classes, int iterations, int[] threads, int repeats, Action<string>? status = null)
    {
        if (classes < 1) throw new ArgumentException($"--classes must be positive, got {classes}.");
        if (iterations < 1) throw new ArgumentException($"--iterations must be positive, got {iterations}.");
        if (repeats < 1) throw new ArgumentException($"--repeats must be positive, got {repeats}.");
        foreach (var n in tokens) if (n < 2 || n > 40000) throw new ArgumentException($"--tokens: {n} is outside 2..40000 (N^2 floats must fit one array).");
        var records = new List<IsegBenchRecord>();
        int before = Parallelism.Threads;
        try
        {
            foreach (var n in tokens)
            {
                var (s, a0) = Inputs(n, classes);
                var options = new RefinementOptions { Iterations = iterations };
                foreach (var t in threads)
                {
                    status?.Invoke($"N = {n}, {t} thread(s)");
                    Parallelism.SetThreads(t);
                    var p = AttentionRefinement.EntSelf(s, options);
                    AttentionRefinement.Iterate(p, a0, iterations);
                    var (ent, entCpu) = RefineBench.Time(repeats, () => AttentionRefinement.EntSelf(s, options));
                    var (it, itCpu) = RefineBench.Time(repeats, () => AttentionRefinement.Iterate(p, a0, iterations));
                    records.Add(new IsegBenchRecord(n, classes, iterations, t, ent, entCpu, it, itCpu, AttentionRefinement.MemoryBytes(n, classes) / 1048576.0, RefineBench.Peak(), repeats));
                }
            }
        }
        finally
        {
            Parallelism.SetThreads(before);
        }
        return records;
    }

    private static (Tensor S, Tensor A0) Inputs(int n, int c)
    {
        var rng = new Random(20);
        var s = GC.AllocateUninitializedArray<float>(checked(n * n));
        for (int i = 0; i < n; i++)
        {
            var row = s.AsSpan(i * n, n);
            float sum = 0;
            for (int j = 0; j < n; j++) sum += row[j] = (float)rng.NextDouble();
            float inv = 1 / sum;
            for (int j = 0; j < n; j++) row[j] *= inv;
        }
        var a = new float[n * c];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
        return (Tensor.FromArray(s, n, n), Tensor.FromArray(a, n, c));
    }
}
