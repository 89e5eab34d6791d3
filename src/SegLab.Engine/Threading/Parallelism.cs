// The engine's one threading policy: SEGLAB_THREADS participants (default: processor count), the caller being one
// of them, and dedicated workers that block when idle. No spinning: on a shared 2-core VM whose second core is
// often taken, a busy-waiting pool runs several times slower than one thread. Work is parallelised only when
// it is large enough to pay for waking a worker (about 100 us here).
using System.Runtime.ExceptionServices;

namespace SegLab.Engine.Threading;

/// <summary>Engine-wide thread policy and parallel loops.</summary>
public static class Parallelism
{
    /// <summary>
    /// Total work (in the caller's units, flops or bytes) below which a loop runs inline: about 100 us of
    /// work for a kernel at a few GFLOP/s, the cost of waking a blocked worker and joining it.
    /// </summary>
    public const long MinParallelWork = 1_000_000;

    [ThreadStatic] private static bool t_inParallel;
    private static readonly object s_gate = new();
    private static WorkerPool? s_pool;
    private static int s_busy;

    /// <summary>Number of threads the engine may use (SEGLAB_THREADS, default processor count).</summary>
    public static int Threads { get; private set; } = ReadThreads();

    /// <summary>Sets the number of threads for the whole engine.</summary>
    /// <param name="threads">At least 1.</param>
    public static void SetThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least one thread is needed");
        lock (s_gate) Threads = threads;
    }

    /// <summary>One line for `seglab info`.</summary>
    public static string Describe() =>
        $"{Threads} participant(s): the caller plus {Threads - 1} blocking worker(s); loops under {MinParallelWork:N0} work units run inline";

    /// <summary>Runs <paramref name="body"/> for every index in [0, count), spread over the pool when it pays.</summary>
    /// <param name="count">Number of work items.</param>
    /// <param name="workPerItem">Approximate cost of one item in floating-point operations or bytes touched; small totals run inline.</param>
    /// <param name="body">The work for one index; must be safe to run concurrently for different indices.</param>
    public static void For(int count, long workPerItem, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0) return;
        int threads = Threads;
        // Inline when parallelism cannot pay, when nested, or when another caller holds the pool (one loop at a time).
        if (threads == 1 || count == 1 || t_inParallel || (long)count * Math.Max(workPerItem, 1) < MinParallelWork
            || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            int participants = Math.Min(threads, count);
            var job = new Job(body, count, participants);
            WorkerPool pool;
            lock (s_gate) pool = s_pool is { Size: var size } p && size >= participants - 1 ? p : s_pool = new WorkerPool(Math.Max(participants - 1, threads - 1));
            pool.Start(job, participants - 1);
            job.Work();
            job.WaitAll();
            job.Rethrow();
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static int ReadThreads()
    {
        var s = Environment.GetEnvironmentVariable("SEGLAB_THREADS");
        if (string.IsNullOrWhiteSpace(s)) return Math.Max(1, Environment.ProcessorCount);
        if (!int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) || n < 1)
            throw new InvalidOperationException($"SEGLAB_THREADS='{s}' is not a positive integer (unset it to use all {Environment.ProcessorCount} processors).");
        return n;
    }

    /// <summary>One parallel loop: indices are claimed dynamically; the last participant out signals the caller (which disposes the event).</summary>
#pragma warning disable CA1001 // the event is disposed in WaitAll, after every participant has left

    private sealed class Job(Action<int> body, int count, int participants)
    {
        private readonly ManualResetEventSlim _done = new(false, spinCount: 0);
        private int _next = -1;
        private int _running = participants;
        private Exception? _error;

        public void Work()
        {
            bool was = t_inParallel;
            t_inParallel = true;
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref _next)) < count && Volatile.Read(ref _error) is null)
                    body(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            finally
            {
                t_inParallel = was;
                if (Interlocked.Decrement(ref _running) == 0) _done.Set();
            }
        }

        public void WaitAll()
        {
            _done.Wait();
            _done.Dispose();
        }

        public void Rethrow()
        {
            if (_error is not null) ExceptionDispatchInfo.Capture(_error).Throw();
        }
    }

#pragma warning restore CA1001

    /// <summary>Dedicated background threads, each blocked on its own semaphore until given a job.</summary>
    private sealed class WorkerPool
    {
        private readonly SemaphoreSlim[] _wake;
        private readonly Job?[] _jobs;

        public WorkerPool(int size)
        {
            Size = size;
            _wake = new SemaphoreSlim[size];
            _jobs = new Job?[size];
            for (int w = 0; w < size; w++)
            {
                _wake[w] = new SemaphoreSlim(0);
                int id = w;
                new Thread(() => Loop(id)) { IsBackground = true, Name = $"seglab-worker-{w}" }.Start();
            }
        }

        public int Size { get; }

        public void Start(Job job, int workers)
        {
            for (int w = 0; w < workers; w++)
            {
                Volatile.Write(ref _jobs[w], job);
                _wake[w].Release();
            }
        }

        private void Loop(int id)
        {
            while (true)
            {
                _wake[id].Wait();
                var job = Interlocked.Exchange(ref _jobs[id], null);
                job?.Work();
            }
        }
    }
}
