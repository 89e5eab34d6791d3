using SegLab.Engine.Threading;

namespace SegLab.Engine.Tests.Threading;

/// <summary>Tests that change the engine-wide thread count run alone, after the parallel ones.</summary>
[CollectionDefinition("EngineThreads", DisableParallelization = true)]
public sealed class EngineThreadsGroup;

[Collection("EngineThreads")]
public class ParallelismTests
{
    private static void WithThreads(int threads, Action body)
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(threads);
            body();
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void Every_index_runs_exactly_once(int threads) => WithThreads(threads, () =>
    {
        foreach (int count in new[] { 0, 1, 2, 3, 5, 7, 64, 1000, 10_007 })
        {
            foreach (long work in new[] { 1L, Parallelism.MinParallelWork })
            {
                var hits = new int[count];
                Parallelism.For(count, work, i => Interlocked.Increment(ref hits[i]));
                Assert.All(hits, h => Assert.Equal(1, h));
            }
        }
    });

    [Fact]
    public void Large_work_uses_more_than_one_thread_when_allowed() => WithThreads(2, () =>
    {
        var ids = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        using var barrier = new Barrier(2);
        // Two items that each wait for the other: only completes if they run on two threads at once.
        Parallelism.For(2, Parallelism.MinParallelWork, _ =>
        {
            ids[Environment.CurrentManagedThreadId] = true;
            Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(20)), "the two items did not run concurrently");
        });
        Assert.Equal(2, ids.Count);
    });

    [Theory]
    [InlineData(0)]      // workers block at once after each job
    [InlineData(200)]    // the default: workers stay awake a while and take the next job without blocking
    [InlineData(100000)] // awake through the whole test
    public void Back_to_back_loops_run_every_index_once_whether_workers_spin_or_block(int spinMicroseconds) => WithThreads(2, () =>
    {
        int saved = Parallelism.SpinMicroseconds;
        Parallelism.SpinMicroseconds = spinMicroseconds;
        try
        {
            var helpers = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
            int caller = Environment.CurrentManagedThreadId;
            for (int loop = 0; loop < 300; loop++)
            {
                var hits = new int[16];
                Parallelism.For(16, Parallelism.MinParallelWork, i =>
                {
                    if (Environment.CurrentManagedThreadId != caller) helpers[Environment.CurrentManagedThreadId] = true;
                    Thread.SpinWait(2000); // long enough for a worker to join in
                    Interlocked.Increment(ref hits[i]);
                });
                Assert.All(hits, h => Assert.Equal(1, h));
                if (loop % 50 == 0) Thread.Sleep(1); // now and then a gap longer than the spin, so workers block
            }
            Assert.NotEmpty(helpers); // the worker took part in some loops
        }
        finally
        {
            Parallelism.SpinMicroseconds = saved;
        }
    });

    [Fact]
    public void Participants_are_at_most_the_thread_count() => WithThreads(2, () =>
    {
        var ids = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        Parallelism.For(200, Parallelism.MinParallelWork, _ =>
        {
            ids[Environment.CurrentManagedThreadId] = true;
            Thread.Sleep(1);
        });
        Assert.InRange(ids.Count, 1, 2);
    });

    [Fact]
    public void Small_work_runs_inline_on_the_caller_in_order() => WithThreads(2, () =>
    {
        int caller = Environment.CurrentManagedThreadId;
        var order = new List<int>();
        Parallelism.For(8, 1, i =>
        {
            Assert.Equal(caller, Environment.CurrentManagedThreadId);
            order.Add(i);
        });
        Assert.Equal(Enumerable.Range(0, 8), order);
    });

    [Fact]
    public void One_thread_runs_everything_inline() => WithThreads(1, () =>
    {
        int caller = Environment.CurrentManagedThreadId;
        Parallelism.For(100, Parallelism.MinParallelWork, _ => Assert.Equal(caller, Environment.CurrentManagedThreadId));
    });

    [Fact]
    public void A_single_exception_reaches_the_caller_unwrapped() => WithThreads(2, () =>
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            Parallelism.For(100, Parallelism.MinParallelWork, i => { if (i == 57) throw new InvalidOperationException("item 57"); }));
        Assert.Equal("item 57", e.Message);
        // the pool still works afterwards
        int sum = 0;
        Parallelism.For(10, Parallelism.MinParallelWork, i => Interlocked.Add(ref sum, i));
        Assert.Equal(45, sum);
    });

    [Fact]
    public void Exceptions_on_two_threads_arrive_together() => WithThreads(2, () =>
    {
        using var barrier = new Barrier(2);
        var e = Assert.Throws<AggregateException>(() =>
            Parallelism.For(2, Parallelism.MinParallelWork, i =>
            {
                // both items are running before either throws
                Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(20)));
                throw new InvalidOperationException($"item {i}");
            }));
        Assert.Equal(["item 0", "item 1"], e.InnerExceptions.Select(x => x.Message).Order());
    });

    [Fact]
    public void Inline_exceptions_reach_the_caller() => WithThreads(1, () =>
        Assert.Throws<ArgumentException>(() => Parallelism.For(3, 1, i => { if (i == 2) throw new ArgumentException("x"); })));

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Nested_loops_do_not_deadlock_and_run_inline(int threads) => WithThreads(threads, () =>
    {
        int total = 0;
        Parallelism.For(6, Parallelism.MinParallelWork, _ =>
        {
            int outer = Environment.CurrentManagedThreadId;
            Assert.True(Parallelism.InParallelRegion);
            Parallelism.For(5, Parallelism.MinParallelWork, _ =>
            {
                Assert.Equal(outer, Environment.CurrentManagedThreadId);
                Interlocked.Increment(ref total);
            });
        });
        Assert.Equal(30, total);
        Assert.False(Parallelism.InParallelRegion);
    });

    [Fact]
    public void Loops_from_several_threads_at_once_all_complete() => WithThreads(2, () =>
    {
        // One loop holds the pool at a time; the others run inline rather than wait or deadlock.
        var totals = new int[4];
        var callers = Enumerable.Range(0, 4).Select(c => new Thread(() =>
        {
            for (int r = 0; r < 50; r++)
                Parallelism.For(64, Parallelism.MinParallelWork, _ => Interlocked.Increment(ref totals[c]));
        })).ToList();
        callers.ForEach(t => t.Start());
        callers.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(60))));
        Assert.All(totals, t => Assert.Equal(50 * 64, t));
    });

    [Fact]
    public void SetThreads_changes_the_count_and_refuses_nonsense()
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(3);
            Assert.Equal(3, Parallelism.Threads);
            Assert.Contains("3 thread(s)", Parallelism.Describe(), StringComparison.Ordinal);
            Parallelism.SetThreads(1);
            Assert.Equal(1, Parallelism.Threads);
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.SetThreads(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.SetThreads(-2));
        Assert.Equal(saved, Parallelism.Threads);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Unset_thread_setting_means_the_processor_count(string? value) =>
        Assert.Equal(Environment.ProcessorCount, Parallelism.ParseThreadSetting(value));

    [Theory]
    [InlineData("1", 1)]
    [InlineData(" 4 ", 4)]
    [InlineData("64", 64)]
    public void Thread_setting_is_parsed(string value, int expected) =>
        Assert.Equal(expected, Parallelism.ParseThreadSetting(value));

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("two")]
    [InlineData("1.5")]
    [InlineData("+3")]
    [InlineData("99999999999")]
    public void Bad_thread_setting_names_the_variable_and_the_value(string value)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Parallelism.ParseThreadSetting(value));
        Assert.Contains("SEGLAB_THREADS", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", e.Message, StringComparison.Ordinal);
    }
}
