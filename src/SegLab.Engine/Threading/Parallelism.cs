// The engine's one threading policy: SEGLAB_THREADS participants (default: processor count), the caller being one
// of them, and dedicated background workers. A worker stays awake (spinning, yielding now and then) for
// SpinMicroseconds after a job, then blocks on its event; the caller likewise waits awake that long for the
// workers' share before blocking. Unbounded busy-waiting is ruled out: on a shared 2-core VM whose second core is
// often taken, a pool that spins without limit ran several times slower than one thread. Work is parallelised
// only when it is large enough to pay for handing half of it to an awake worker (MinParallelWork).
using System.Globalization;
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace SegLab.Engine.Threading;

/// <summary>Engine-wide thread policy and parallel loops.</summary>
public static class Parallelism
{
    /// <summary>The environment variable holding the thread count.</summary>
    public const string EnvironmentVariable = "SEGLAB_THREADS";

    /// <summary>
    /// Total work below which a loop runs inline, in scalar floating-point operations or bytes touched. Waking a
    /// blocked worker costs about 100 us on the shared VMs, but workers stay awake for <see cref="SpinMicroseconds"/>
    /// after a job and a network's loops come tens of microseconds apart, so a worker is usually awake and handing
    /// it half a loop costs a few microseconds: 1e5 scalar operations (10-30 us) is where a second thread starts to
    /// win (measured on CGNet's and ESPNet's forwards with two threads: 1e6 and no spinning gave 123-135 and 89-95 ms,
    /// 1e5 with 200 us of spinning 102-110 and 81-85 ms; docs/benchmarks.md). Vectorised kernels that run far faster
    /// than scalar code (GEMM's micro-kernel) should divide their flop counts accordingly.
    /// </summary>
    public static long MinParallelWork { get; internal set; } = 100_000;

    /// <summary>
    /// How long a worker stays awake after its job, and the caller waits awake for the workers, before blocking
    /// (0: block at once). Bounded so that an idle engine leaves the cores to others within this time.
    /// </summary>
    internal static int SpinMicroseconds { get; set; } = 200;

    // Spins (with pause instructions, yielding now and then) until the condition holds or SpinMicroseconds pass.
    private static bool SpinUntil(Func<bool> done)
    {
        int us = SpinMicroseconds;
        if (us <= 0) return done();
        long end = Stopwatch.GetTimestamp() + us * Stopwatch.Frequency / 1_000_000;
        var spin = new SpinWait();
        while (!done())
        {
            if (Stopwatch.GetTimestamp() > end) return false;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        return true;
    }

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
            // the workers' share usually ends within microseconds of the caller's: wait for it awake first
            if (Volatile.Read(ref _running) > 0) SpinUntil(() => Volatile.Read(ref _running) == 0);
            _done.Wait();
            _done.Dispose(); // every participant has left: nobody touches the event again
            if (_errors.Count == 1) ExceptionDispatchInfo.Capture(_errors[0]).Throw();
            if (_errors.Count > 1) throw new AggregateException(_errors);
        }
    }

    /// <summary>Dedicated background threads, each awake for a short while after a job and then blocked on its own event until given one; grown on demand, never shrunk.</summary>
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

            private readonly Func<bool> _hasJob;

            public Worker(int id)
            {
                _hasJob = () => Volatile.Read(ref _job) is not null;
                new Thread(Loop) { IsBackground = true, Name = $"seglab-worker-{id}" }.Start();
            }

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
                    // A job posted while the worker still spins after its last one is taken at once; only then
                    // does it block. Waking a blocked thread costs about 100 us here, and a network's forward
                    // posts jobs tens of microseconds apart.
                    if (Volatile.Read(ref _job) is null && !SpinUntil(_hasJob))
                    {
                        _wake.Wait();
                        _wake.Reset(); // before taking the job: the next Post can only follow this job's completion
                    }
                    Interlocked.Exchange(ref _job, null)?.Work();
                }
            }
        }
    }
#pragma warning restore CA1001
}
