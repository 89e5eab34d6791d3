// Batches from a dataset: order (shuffled by seed and epoch), transform (its Rng seeded by seed, epoch and position, so
// results never depend on threads or timing), stacking, and prefetch on one dedicated worker thread bounded by a
// batch count and a byte budget. Errors reach the consumer naming the file; with SkipBad, bad files are logged and left out.
using System.Runtime.ExceptionServices;
using SegLab.Engine;

namespace SegLab.Data;

/// <summary>Yields batches of a dataset epoch by epoch, preparing them ahead on a background thread.</summary>
public sealed class DataLoader : IDisposable
{
    private readonly object _skippedLock = new();
    private readonly List<SkippedSample> _skipped = [];
    private Prefetcher? _running;
    private bool _disposed;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="options">Options (null: defaults).</param>
    public DataLoader(ISegmentationDataset dataset, DataLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        Options = options ?? new DataLoaderOptions();
        if (Options.BatchSize < 1) throw new ArgumentException($"DataLoader: batch size {Options.BatchSize} must be at least 1.");
        if (Options.PrefetchBatches < 0 || Options.PrefetchBytes < 0) throw new ArgumentException("DataLoader: prefetch limits must not be negative.");
        Dataset = dataset;
    }

    /// <summary>The dataset.</summary>
    public ISegmentationDataset Dataset { get; }

    /// <summary>The options.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Batches per epoch when no sample is skipped.</summary>
    public int BatchCount => Options.DropLast ? Dataset.Count / Options.BatchSize : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Samples left out so far because their files were bad, once each, in the order met (a snapshot).</summary>
    public IReadOnlyList<SkippedSample> Skipped
    {
        get { lock (_skippedLock) return [.. _skipped]; }
    }

    /// <summary>The prefetcher of the running epoch (for tests of the bounds).</summary>
    internal Prefetcher? Running => _running;

    /// <summary>The order of dataset indices in <paramref name="epoch"/>: 0..Count-1, or a permutation by seed and epoch.</summary>
    /// <param name="epoch">Epoch number (0-based).</param>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (!Options.Shuffle) return order;
        new Rng(Mix(Options.Seed, epoch, -1)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// The batches of one epoch. Starting another epoch (or disposing) stops this one's worker. A bad sample fails
    /// the enumeration with a <see cref="DatasetException"/> naming its file, after the batches before it.
    /// </summary>
    /// <param name="epoch">Epoch number (0-based): chooses the order and the transforms' random streams.</param>
    /// <param name="firstBatch">Batches of the epoch to leave out at its start (to resume mid-epoch): the rest are
    /// exactly those of a full epoch. Without <see cref="DataLoaderOptions.SkipBad"/> the left-out samples are not decoded.</param>
    public IEnumerable<Batch> Epoch(int epoch = 0, int firstBatch = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(firstBatch);
        return Options.PrefetchBatches == 0 ? Produce(epoch, firstBatch, () => false) : Prefetched(epoch, firstBatch);
    }

    /// <summary>Stops the worker thread, if one runs.</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _running, null)?.Stop();
    }

    private IEnumerable<Batch> Prefetched(int epoch, int firstBatch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var run = new Prefetcher(this, epoch, firstBatch);
        Interlocked.Exchange(ref _running, run)?.Stop();
        run.Start();
        try
        {
            while (run.Take() is { } batch) yield return batch;
        }
        finally
        {
            run.Stop();
            Interlocked.CompareExchange(ref _running, null, run);
        }
    }

    /// <summary>Builds the epoch's batches in order from batch <paramref name="firstBatch"/>; <paramref name="stopped"/> is polled between samples.</summary>
    private IEnumerable<Batch> Produce(int epoch, int firstBatch, Func<bool> stopped)
    {
        var order = Order(epoch);
        var pending = new List<SegmentationSample>(Options.BatchSize);
        // Without skipping, batch b starts at position b * BatchSize; with it, the bad samples before must be found.
        int start = Options.SkipBad ? 0 : (int)Math.Min((long)firstBatch * Options.BatchSize, order.Length);
        int dropped = Options.SkipBad ? 0 : firstBatch;
        for (int pos = start; pos < order.Length && !stopped(); pos++)
        {
            var sample = Prepare(order[pos], epoch, pos);
            if (sample is null) continue;
            if (pending.Count > 0 && (sample.Width != pending[0].Width || sample.Height != pending[0].Height))
                throw new DatasetException($"Sample {sample.Id} ({sample.ImagePath}) is {sample.Width}x{sample.Height} but its batch is {pending[0].Width}x{pending[0].Height}; batches need equal sizes (use a RandomCrop or Resize transform, or batch size 1).", sample.ImagePath);
            pending.Add(sample);
            if (pending.Count == Options.BatchSize)
            {
                if (dropped++ >= firstBatch) yield return Stack(pending);
                pending.Clear();
            }
        }
        if (pending.Count > 0 && !Options.DropLast && !stopped() && dropped >= firstBatch) yield return Stack(pending);
    }

    /// <summary>Loads and transforms one sample; null when it is bad and skipped.</summary>
    private SegmentationSample? Prepare(int index, int epoch, int position)
    {
        SegmentationSample sample;
        try
        {
            sample = Dataset.Load(index);
        }
        catch (DatasetException e) when (Options.SkipBad)
        {
            // Recorded and reported once per sample, however many epochs meet it.
            var skipped = new SkippedSample(Dataset.Id(index), e.FilePath ?? Dataset.Root, e.Message);
            bool first;
            lock (_skippedLock)
            {
                first = !_skipped.Exists(s => s.Id == skipped.Id);
                if (first) _skipped.Add(skipped);
            }
            if (first) Options.SkipLog?.Report(skipped);
            return null;
        }
        if (Options.Transform is null) return sample;
        try
        {
            return Options.Transform.Apply(sample, new Rng(Mix(Options.Seed, epoch, position)));
        }
        catch (Exception e) when (e is not (DatasetException or OutOfMemoryException))
        {
            throw new DatasetException($"Sample {sample.Id} ({sample.ImagePath}): the transform failed: {e.Message}", sample.ImagePath, e);
        }
    }

    private Batch Stack(List<SegmentationSample> samples)
    {
        int n = samples.Count, w = samples[0].Width, h = samples[0].Height, plane = w * h;
        var images = new float[n * 3 * plane];
        var labels = new int[n * plane];
        for (int i = 0; i < n; i++)
        {
            samples[i].Image.CopyTo(images, i * 3 * plane);
            if (samples[i].Label is { } label) label.CopyTo(labels, i * plane);
            else labels.AsSpan(i * plane, plane).Fill(Dataset.Classes.IgnoreIndex);
        }
        return new Batch(Tensor.FromArray(images, n, 3, h, w), labels, [.. samples.Select(s => s.Id)], h, w);
    }

    private static long Mix(long seed, long epoch, long position) =>
        unchecked(seed ^ (epoch + 1) * (long)0x9E3779B97F4A7C15 ^ (position + 2) * (long)0xC2B2AE3D27D4EB4F);

    /// <summary>One epoch's worker thread and its bounded queue of prepared batches (or the error that ended it).</summary>
    internal sealed class Prefetcher(DataLoader loader, int epoch, int firstBatch)
    {
        private readonly object _lock = new();
        private readonly Queue<Batch> _queue = new();
        private Thread? _worker;
        private long _queuedBytes;
        private bool _done, _stopped;
        private ExceptionDispatchInfo? _error;

        private bool _waiting;
        private int _peakCount;
        private long _peakBytes;

        /// <summary>Whether the worker holds a finished batch and waits for room in the queue.</summary>
        public bool WaitingForRoom { get { lock (_lock) return _waiting; } }

        /// <summary>Largest number of batches queued at once.</summary>
        public int PeakCount { get { lock (_lock) return _peakCount; } }

        /// <summary>Largest number of bytes queued at once.</summary>
        public long PeakBytes { get { lock (_lock) return _peakBytes; } }

        /// <summary>Whether the worker thread is still running.</summary>
        public bool WorkerAlive => _worker?.IsAlive == true;

        public void Start()
        {
            _worker = new Thread(Work) { IsBackground = true, Name = "SegLab DataLoader" };
            _worker.Start();
        }

        /// <summary>The next batch, or null at the end of the epoch; rethrows the worker's error.</summary>
        public Batch? Take()
        {
            lock (_lock)
            {
                while (_queue.Count == 0 && !_done && !_stopped) Monitor.Wait(_lock);
                if (_stopped) throw new InvalidOperationException("DataLoader: this epoch was stopped because another epoch started or the loader was disposed.");
                if (_queue.Count > 0)
                {
                    var batch = _queue.Dequeue();
                    _queuedBytes -= batch.Bytes;
                    _waiting = false; // the worker re-checks for room when it wakes, and says so again if there is none
                    Monitor.PulseAll(_lock);
                    return batch;
                }
            }
            _error?.Throw();
            return null;
        }

        /// <summary>Asks the worker to stop and waits for it.</summary>
        public void Stop()
        {
            lock (_lock)
            {
                _stopped = true;
                _queue.Clear();
                Monitor.PulseAll(_lock);
            }
            if (_worker is not null && _worker != Thread.CurrentThread) _worker.Join();
        }

        private bool Stopped()
        {
            lock (_lock) return _stopped;
        }

        private void Work()
        {
            try
            {
                foreach (var batch in loader.Produce(epoch, firstBatch, Stopped))
                {
                    lock (_lock)
                    {
                        while (!_stopped && _queue.Count > 0
                            && (_queue.Count >= loader.Options.PrefetchBatches || _queuedBytes + batch.Bytes > loader.Options.PrefetchBytes))
                        {
                            _waiting = true;
                            Monitor.Wait(_lock);
                        }
                        _waiting = false;
                        if (_stopped) return;
                        _queue.Enqueue(batch);
                        _queuedBytes += batch.Bytes;
                        _peakCount = Math.Max(_peakCount, _queue.Count);
                        _peakBytes = Math.Max(_peakBytes, _queuedBytes);
                        Monitor.PulseAll(_lock);
                    }
                }
            }
            catch (Exception e)
            {
                lock (_lock) _error = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                lock (_lock)
                {
                    _done = true;
                    Monitor.PulseAll(_lock);
                }
            }
        }
    }
}
