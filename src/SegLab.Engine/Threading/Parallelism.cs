// The engine's one threading policy: SEGLAB_THREADS participants (default: processor count), the caller being one
// of them, and dedicated background workers that block when idle. No spinning anywhere (workers and the caller
// wait on events created with spinCount 0): on a shared 2-core VM whose second core is often taken, a busy-waiting
// pool runs several times slower than one thread. Work is parallelised only when it is large enough to pay for
// waking a worker and joining it, about 100 us here.
using System.Globalization;
using System.Runtime.ExceptionServices;

namespace SegLab.Engine.Threading;

/// <summary>Engine-wide thread policy and parallel loops.</summary>
public static class Parallelism
{
    /// <summary>The environment variable holding the thread count.</summary>
    public const string EnvironmentVariable = "SEGLAB_THREADS";

    /// <summary>
    /// Total work below which a loop runs inline, in scalar floating-point operations or bytes touched: waking a
    /// blocked worker and joining it costs about 100 us on the shared VMs, and 1e6 scalar operations take
    /// 100-300 us at 3-10 Gop/s, so below this a second thread cannot win. Vectorised kernels that run far faster
    /// than scalar code (GEMM's micro-kernel) should divide their flop counts accordingly.
    /// </summary>
    public const long MinParallelWork = 1_000_000;

    [ThreadStatic] private static bool t_inParallel;
    private static readonly WorkerPool s_pool = new();
    private static int s_threads; // 0: not yet read from the environment
    private static int s_busy;

    /// <summary>Number of threads the engine may use, the caller included (SEGLAB_THREADS, default processor count).</summary>
    /// <exception cref="InvalidOperationException">SEGLAB_THREADS is set to something other than a positive integer.</exception>
    public static int Threads
    {
        get
        {
            int t = Volatile.Read(ref s_threads);
            if (t > 0) return t;
            t = ParseThreadSetting(Environment.GetEnvironmentVariable(EnvironmentVariable));
            Interlocked.CompareExchange(ref s_threads, t, 0);
            return Volatile.Read(ref s_threads);
        }
    }

    /// <summary>Whether the current thread is inside a parallel loop (nested loops run inline).</summary>
    public static bool InParallelRegion => t_inParallel;

    /// <summary>Sets the number of threads for the whole engine (overrides SEGLAB_THREADS).</summary>
    /// <param name="threads">At least 1.</param>
    public static void SetThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least one thread is needed");
        Volatile.Write(ref s_threads, threads);
    }

    /// <summary>One line for `seglab info`.</summary>
    public static string Describe()
    {
        int t = Threads;
        string source = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } s ? $"{EnvironmentVariable}={s.Trim()}" : "processor count";
        return $"{t} thread(s) ({source}; {Environment.ProcessorCount} processor(s)): the caller plus up to {t - 1} blocking worker(s), "
            + $"{s_pool.Size} started; loops under {MinParallelWork:N0} work units run inline";
    }

    /// <summary>The thread count a SEGLAB_THREADS value asks for.</summary>
    /// <param name="value">The variable's value; null or blank means the processor count.</param>
    /// <exception cref="InvalidOperationException">The value is not a positive integer.</exception>
    internal static int ParseThreadSetting(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return Math.Max(1, Environment.ProcessorCount);
        if (!int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            throw new InvalidOperationException(
                $"{EnvironmentVariable}='{value}' is not a positive integer thread count; set it to e.g. 1 or {Environment.ProcessorCount}, or unset it to use all {Environment.ProcessorCount} processors.");
        return n;
    }

    /// <summary>Runs <paramref name="body"/> for every index in [0, count), spread over the pool when it pays.</summary>
    /// <remarks>
    /// Inline (on the caller, in index order) when <see cref="Threads"/> is 1, <paramref name="count"/> is 1, the
    /// total work is under <see cref="MinParallelWork"/>, the call is nested inside another loop, or another
    /// thread's loop holds the pool. Otherwise min(Threads, count) participants, the caller among them, claim
    /// indices one at a time until none are left, and the call returns when all have finished. An exception
    /// stops further indices from being claimed; it is rethrown as is when it is the only one, else all are
    /// thrown together in an <see cref="AggregateException"/>.
    /// </remarks>
    /// <param name="count">Number of work items.</param>
    /// <param name="workPerItem">Approximate cost of one item in scalar floating-point operations or bytes touched.</param>
    /// <param name="body">The work for one index; must be safe to run concurrently for different indices.</param>
    public static void For(int count, long workPerItem, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0) return;
        int threads = Threads;
        if (threads == 1 || count == 1 || t_inParallel || (double)count * Math.Max(workPerItem, 1) < MinParallelWork
            || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            int participants = Math.Min(threads, count);
            var job = new Job(body, count, participants);
            s_pool.Start(job, participants - 1);
            job.Work();
            // Workers that have not woken yet (their core busy elsewhere) are told not to bother: the caller does
            // not wait for a scheduler slice just to hear that nothing is left.
            s_pool.Revoke(job, participants - 1);
            job.WaitAndRethrow();
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

#pragma warning disable CA1001 // a job's event is disposed once every participant has left; workers live as long as the process

    /// <summary>One parallel loop: indices are claimed dynamically; the last participant out wakes the caller.</summary>
    private sealed class Job(Action<int> body, int count, int participants)
    {
        private readonly ManualResetEventSlim _done = new(false, spinCount: 0);
        private readonly List<Exception> _errors = [];
        private int _next = -1;
        private int _running = participants;
        private volatile bool _failed;

        public void Work()
        {
            bool was = t_inParallel;
            t_inParallel = true;
            try
            {
                int i;
                while (!_failed && (i = Interlocked.Increment(ref _next)) < count)
                    body(i);
            }
            catch (Exception e)
            {
                lock (_errors) _errors.Add(e);
                _failed = true;
            }
            finally
            {
                t_inParallel = was;
                if (Interlocked.Decrement(ref _running) == 0) _done.Set();
            }
        }

        /// <summary>Accounts for a participant that was revoked before it started.</summary>
        public void Leave()
        {
            if (Interlocked.Decrement(ref _running) == 0) _done.Set();
        }

        public void WaitAndRethrow()
        {
            _done.Wait();
            _done.Dispose(); // every participant has left: nobody touches the event again
            if (_errors.Count == 1) ExceptionDispatchInfo.Capture(_errors[0]).Throw();
            if (_errors.Count > 1) throw new AggregateException(_errors);
        }
    }

    /// <summary>Dedicated background threads, each blocked on its own event (no spinning) until given a job; grown on demand, never shrunk.</summary>
    private sealed class WorkerPool
    {
        private readonly List<Worker> _workers = [];

        public int Size => _workers.Count;

        /// <summary>Hands <paramref name="job"/> to the first <paramref name="workers"/> workers (only the loop holding the pool calls this).</summary>
        public void Start(Job job, int workers)
        {
            while (_workers.Count < workers) _workers.Add(new Worker(_workers.Count));
            for (int w = 0; w < workers; w++) _workers[w].Post(job);
        }

        /// <summary>Takes <paramref name="job"/> back from the workers that have not picked it up yet.</summary>
        public void Revoke(Job job, int workers)
        {
            for (int w = 0; w < workers; w++)
                if (_workers[w].TryRevoke(job)) job.Leave();
        }

        private sealed class Worker
        {
            private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
            private Job? _job;

            public Worker(int id) =>
                new Thread(Loop) { IsBackground = true, Name = $"seglab-worker-{id}" }.Start();

            public void Post(Job job)
            {
                Volatile.Write(ref _job, job);
                _wake.Set();
            }

            public bool TryRevoke(Job job) => ReferenceEquals(Interlocked.CompareExchange(ref _job, null, job), job);

            private void Loop()
            {
                while (true)
                {
                    _wake.Wait();
                    _wake.Reset(); // before taking the job: the next Post can only follow this job's completion
                    Interlocked.Exchange(ref _job, null)?.Work();
                }
            }
        }
    }
#pragma warning restore CA1001
}
