// The engine's one threading policy: SEGLAB_THREADS workers (default: processor count), no spinning.
// STUB: to be replaced by the real pool (see issue 2, item 5).
namespace SegLab.Engine.Threading;

/// <summary>Engine-wide thread policy and parallel loops.</summary>
public static class Parallelism
{
    /// <summary>Number of threads the engine may use (SEGLAB_THREADS, default processor count).</summary>
    public static int Threads { get; private set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Sets the number of threads for the whole engine.</summary>
    /// <param name="threads">At least 1.</param>
    public static void SetThreads(int threads) => Threads = Math.Max(1, threads);

    /// <summary>Runs <paramref name="body"/> for every index in [0, count), spread over the pool when it pays.</summary>
    /// <param name="count">Number of work items.</param>
    /// <param name="workPerItem">Approximate cost of one item in floating-point operations or bytes touched; small totals run inline.</param>
    /// <param name="body">The work for one index.</param>
    public static void For(int count, long workPerItem, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        for (int i = 0; i < count; i++) body(i);
    }
}
