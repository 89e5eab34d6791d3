using SegLab.Engine.Threading;

namespace SegLab.Engine.Tests.Threading;

/// <summary>Tests that change the engine-wide thread count run alone, after the parallel ones.</summary>
[CollectionDefinition("EngineThreads", DisableParallelization = true)]
public sealed class EngineThreadsGroup;

[Collection("EngineThreads")]
public class ParallelismTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_index_runs_exactly_once(int threads)
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(threads);
            foreach (int count in new[] { 0, 1, 2, 5, 1000 })
            {
                var hits = new int[count];
                Parallelism.For(count, Parallelism.MinParallelWork, i => Interlocked.Increment(ref hits[i]));
                Assert.All(hits, h => Assert.Equal(1, h));
            }
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Fact]
    public void Large_work_uses_more_than_one_thread_when_allowed()
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(2);
            var ids = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
            using var barrier = new Barrier(2);
            // Two items that each wait for the other: only completes if they run on two threads at once.
            Parallelism.For(2, Parallelism.MinParallelWork, _ =>
            {
                ids[Environment.CurrentManagedThreadId] = true;
                Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(20)), "the two items did not run concurrently");
            });
            Assert.Equal(2, ids.Count);
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Fact]
    public void Small_work_runs_inline_on_the_caller()
    {
        int caller = Environment.CurrentManagedThreadId;
        Parallelism.For(8, 1, _ => Assert.Equal(caller, Environment.CurrentManagedThreadId));
    }

    [Fact]
    public void Exceptions_reach_the_caller()
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(2);
            var e = Assert.Throws<InvalidOperationException>(() =>
                Parallelism.For(100, Parallelism.MinParallelWork, i => { if (i == 57) throw new InvalidOperationException("item 57"); }));
            Assert.Equal("item 57", e.Message);
            // the pool still works afterwards
            int sum = 0;
            Parallelism.For(10, Parallelism.MinParallelWork, i => Interlocked.Add(ref sum, i));
            Assert.Equal(45, sum);
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Fact]
    public void Nested_loops_do_not_deadlock()
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(2);
            int total = 0;
            Parallelism.For(4, Parallelism.MinParallelWork, _ =>
                Parallelism.For(4, Parallelism.MinParallelWork, _ => Interlocked.Increment(ref total)));
            Assert.Equal(16, total);
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Fact]
    public void Thread_count_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.SetThreads(0));
        Assert.Contains("participant", Parallelism.Describe(), StringComparison.Ordinal);
    }
}
