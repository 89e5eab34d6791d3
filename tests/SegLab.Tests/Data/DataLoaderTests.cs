// Tests of the DataLoader: order and batch sizes, shuffling by seed and epoch, determinism of transformed batches
// (with and without the worker thread), the prefetch bounds (count and bytes), errors reaching the consumer with the
// file named, skipBad, and Dispose stopping the worker.
using SegLab.Data;

namespace SegLab.Tests.Data;

public class DataLoaderTests
{
    private static List<Batch> All(DataLoader loader, int epoch = 0) => [.. loader.Epoch(epoch)];

    [Fact]
    public void Batches_follow_the_dataset_order_and_stack_samples()
    {
        var data = new MemoryDataset(7);
        using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 3 });
        var batches = All(loader);
        Assert.Equal([3, 3, 1], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 7).Select(data.Id), batches.SelectMany(b => b.Ids));
        Assert.Equal(3, loader.BatchCount);
        var b1 = batches[1];
        Assert.Equal(new[] { 3, 3, 4, 6 }, b1.Images.Shape.ToArray());
        var s4 = data.Load(4);
        Assert.Equal(s4.Image, b1.Images.Span.Slice(1 * 3 * 24, 3 * 24).ToArray());
        Assert.Equal(s4.Label!, b1.Labels.AsSpan(24, 24).ToArray());
        Assert.Equal((4, 6), (b1.Height, b1.Width));

        using var dropping = new DataLoader(data, new DataLoaderOptions { BatchSize = 3, DropLast = true });
        Assert.Equal([3, 3], All(dropping).Select(b => b.Count));
        Assert.Equal(2, dropping.BatchCount);
    }

    [Fact]
    public void Shuffle_is_a_permutation_fixed_by_seed_and_epoch()
    {
        var data = new MemoryDataset(20);
        var options = new DataLoaderOptions { BatchSize = 4, Shuffle = true, Seed = 5 };
        using var a = new DataLoader(data, options);
        using var b = new DataLoader(data, options);
        var ids0 = All(a, 0).SelectMany(x => x.Ids).ToArray();
        Assert.Equal(Enumerable.Range(0, 20).Select(data.Id).Order(), ids0.Order());
        Assert.NotEqual(Enumerable.Range(0, 20).Select(data.Id), ids0);
        Assert.Equal(ids0, All(b, 0).SelectMany(x => x.Ids));
        Assert.NotEqual(ids0, All(a, 1).SelectMany(x => x.Ids));
        using var other = new DataLoader(data, options with { Seed = 6 });
        Assert.NotEqual(ids0, All(other, 0).SelectMany(x => x.Ids));
    }

    [Fact]
    public void Transformed_batches_repeat_for_a_seed_with_or_without_prefetch()
    {
        var data = new MemoryDataset(9, 10, 8);
        var transform = new Compose(new RandomScale(0.8, 1.5), new RandomCrop(6, 5, 11), new HorizontalFlip(), new ColorJitter(0.3, 0.3, 0.3));
        var options = new DataLoaderOptions { BatchSize = 2, Shuffle = true, Seed = 42, Transform = transform };
        using var threaded = new DataLoader(data, options);
        using var inline = new DataLoader(data, options with { PrefetchBatches = 0 });
        var x = All(threaded, 3);
        var y = All(inline, 3);
        Assert.Equal(5, x.Count);
        for (int i = 0; i < x.Count; i++)
        {
            Assert.Equal(x[i].Ids, y[i].Ids);
            Assert.Equal(x[i].Images.ToArray(), y[i].Images.ToArray());
            Assert.Equal(x[i].Labels, y[i].Labels);
            Assert.Equal((5, 6), (x[i].Height, x[i].Width));
        }
        Assert.NotEqual(x.SelectMany(b => b.Images.ToArray()), All(threaded, 4).SelectMany(b => b.Images.ToArray()));
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    [InlineData(false, 2)]
    public void Resuming_mid_epoch_gives_the_remaining_batches_of_a_full_epoch(bool skipBad, int prefetch)
    {
        var data = new MemoryDataset(11, 10, 8, bad: skipBad ? [2] : []);
        var options = new DataLoaderOptions
        {
            BatchSize = 3, Shuffle = true, Seed = 8, SkipBad = skipBad, PrefetchBatches = prefetch,
            Transform = new Compose(new RandomCrop(5, 5, 11), new ColorJitter(0.5)),
        };
        using var loader = new DataLoader(data, options);
        var full = All(loader, 2);
        int loadsBefore = data.Loads;
        var resumed = loader.Epoch(2, firstBatch: 2).ToList();
        Assert.Equal(full.Count - 2, resumed.Count);
        for (int i = 0; i < resumed.Count; i++)
        {
            Assert.Equal(full[i + 2].Ids, resumed[i].Ids);
            Assert.Equal(full[i + 2].Images.ToArray(), resumed[i].Images.ToArray());
        }
        // Without skipping, the left-out samples are not even decoded.
        if (!skipBad) Assert.Equal(11 - 6, data.Loads - loadsBefore);
        Assert.Empty(loader.Epoch(2, firstBatch: 10));
    }

    private static void WaitUntilBlocked(DataLoader loader)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (loader.Running is not { WaitingForRoom: true } && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.True(loader.Running!.WaitingForRoom, "the worker never filled its queue");
    }

    [Fact]
    public void Prefetch_stops_at_the_batch_count()
    {
        var data = new MemoryDataset(30);
        using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 1, PrefetchBatches = 3 });
        using var e = loader.Epoch().GetEnumerator();
        Assert.True(e.MoveNext());
        WaitUntilBlocked(loader);
        // One taken, three queued, one finished and waiting for room.
        Assert.Equal(1 + 3 + 1, data.Loads);
        Assert.Equal(3, loader.Running!.PeakCount);
    }

    [Fact]
    public void Prefetch_stops_at_the_byte_budget()
    {
        var data = new MemoryDataset(30);
        long batchBytes = 2L * 6 * 4 * 16; // two samples of 6x4, 3 image floats + 1 label int per pixel
        using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 2, PrefetchBatches = 100, PrefetchBytes = batchBytes * 5 / 2 });
        using var e = loader.Epoch().GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.Equal(batchBytes, e.Current.Bytes);
        WaitUntilBlocked(loader);
        // One batch taken, two queued (a third would pass the budget), one waiting: 4 batches of 2 loaded.
        Assert.Equal(2 * (1 + 2 + 1), data.Loads);
        Assert.True(loader.Running!.PeakBytes <= batchBytes * 5 / 2);
    }

    [Fact]
    public void A_bad_file_fails_the_epoch_after_the_batches_before_it()
    {
        var data = new MemoryDataset(10, bad: 5);
        using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 2 });
        var seen = new List<string>();
        var e = Assert.Throws<DatasetException>(() =>
        {
            foreach (var batch in loader.Epoch()) seen.AddRange(batch.Ids);
        });
        Assert.Equal(Enumerable.Range(0, 4).Select(data.Id), seen);
        Assert.Equal(MemoryDataset.PathOf(5), e.FilePath);
        Assert.Contains(MemoryDataset.PathOf(5), e.Message);
    }

    [Fact]
    public void Skip_bad_records_bad_files_and_continues()
    {
        var data = new MemoryDataset(8, bad: [1, 6]);
        var log = new List<SkippedSample>();
        var options = new DataLoaderOptions { BatchSize = 3, SkipBad = true, SkipLog = new SyncProgress(log) };
        using var loader = new DataLoader(data, options);
        var batches = All(loader);
        Assert.Equal([3, 3], batches.Select(b => b.Count));
        Assert.Equal(new[] { 0, 2, 3, 4, 5, 7 }.Select(data.Id), batches.SelectMany(b => b.Ids));
        Assert.Equal([data.Id(1), data.Id(6)], loader.Skipped.Select(s => s.Id));
        Assert.Equal(MemoryDataset.PathOf(6), loader.Skipped[1].Path);
        Assert.Contains("broken on purpose", loader.Skipped[0].Message);
        Assert.Equal(loader.Skipped, log);
        Assert.Equal(6, All(loader, 1).Sum(b => b.Count));
        Assert.Equal(2, loader.Skipped.Count); // once per sample, not once per epoch
        Assert.Equal(2, log.Count);
    }

    [Fact]
    public void Samples_of_different_sizes_in_one_batch_are_an_error_naming_the_sample()
    {
        var data = new MemoryDataset(4) { SizeOf = i => i == 1 ? (5, 4) : (6, 4) };
        using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 2 });
        var e = Assert.Throws<DatasetException>(() => All(loader));
        Assert.Contains(MemoryDataset.PathOf(1), e.Message);
        Assert.Contains("5x4", e.Message);
        using var cropped = new DataLoader(data, new DataLoaderOptions { BatchSize = 2, Transform = new RandomCrop(4, 4, 11) });
        Assert.Equal(2, All(cropped).Count);
    }

    [Fact]
    public void Dispose_stops_the_worker()
    {
        var data = new MemoryDataset(50);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 1, PrefetchBatches = 2 });
        var e = loader.Epoch().GetEnumerator();
        Assert.True(e.MoveNext());
        var run = loader.Running!;
        loader.Dispose();
        Assert.False(run.WorkerAlive);
        Assert.Null(loader.Running);
        Assert.True(data.Loads < 50);
        Assert.Throws<ObjectDisposedException>(() => loader.Epoch());
        e.Dispose();
    }

    [Fact]
    public void Starting_another_epoch_stops_the_first_loudly()
    {
        var data = new MemoryDataset(20);
        using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 1 });
        using var first = loader.Epoch(0).GetEnumerator();
        Assert.True(first.MoveNext());
        using var second = loader.Epoch(1).GetEnumerator();
        Assert.True(second.MoveNext());
        Assert.Throws<InvalidOperationException>(() => first.MoveNext());
        Assert.True(second.MoveNext());
    }

    /// <summary>An IProgress that records synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(List<SkippedSample> log) : IProgress<SkippedSample>
    {
        public void Report(SkippedSample value)
        {
            lock (log) log.Add(value);
        }
    }
}
