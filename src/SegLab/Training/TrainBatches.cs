// Training mini-batches addressed by (epoch, batch index), on top of the data module's DataLoader, whose order and
// augmentation streams are functions of (seed, epoch, position): a resumed run that starts mid-epoch replays the
// epoch's first batches (decoding them again, without training) and then sees exactly the batches an uninterrupted
// run sees. Augmentation: random scale, crop with ignore padding, horizontal flip, colour jitter.
using SegLab.Data;

namespace SegLab.Training;

/// <summary>A reproducible stream of training batches.</summary>
public interface IBatchSource
{
    /// <summary>Batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>Batch <paramref name="index"/> of epoch <paramref name="epoch"/> (a pure function of both and the seed).</summary>
    /// <param name="epoch">0-based epoch.</param>
    /// <param name="index">0-based batch within the epoch.</param>
    Batch Get(int epoch, int index);
}

/// <summary>Batches of a <see cref="DataLoader"/> with the training augmentations of a <see cref="DataConfig"/> (last incomplete batch dropped).</summary>
public sealed class LoaderBatchSource : IBatchSource, IDisposable
{
    private readonly DataLoader _loader;
    private IEnumerator<Batch>? _epochBatches;
    private int _epoch = -1;
    private int _next;

    /// <summary>Creates the source.</summary>
    /// <param name="data">Labelled training samples.</param>
    /// <param name="config">Crop, scale, flip, jitter and batch size.</param>
    /// <param name="seed">Run seed.</param>
    /// <param name="ignoreIndex">Label of padded pixels.</param>
    /// <param name="prefetch">Batches prepared ahead on the loader's thread (0: on the caller's thread).</param>
    public LoaderBatchSource(ISegmentationDataset data, DataConfig config, int seed, int ignoreIndex, int prefetch = 2)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(config);
        if (data.Count < config.Batch)
            throw new ConfigException($"data.batch: {config.Batch} is more than the {data.Count} samples of '{data.Root}' split '{data.Split}'.");
        var transforms = new List<ISampleTransform>();
        if (config.Scale[0] != 1 || config.Scale[1] != 1) transforms.Add(new RandomScale(config.Scale[0], config.Scale[1]));
        transforms.Add(new RandomCrop(config.Crop[1], config.Crop[0], ignoreIndex));
        if (config.Flip) transforms.Add(new HorizontalFlip());
        if (config.Jitter > 0) transforms.Add(new ColorJitter(config.Jitter, config.Jitter, config.Jitter));
        _loader = new DataLoader(data, new DataLoaderOptions
        {
            BatchSize = config.Batch, Shuffle = true, Seed = seed, DropLast = true, Transform = new Compose([.. transforms]), PrefetchBatches = prefetch,
        });
    }

    /// <inheritdoc/>
    public int BatchesPerEpoch => _loader.BatchCount;

    /// <inheritdoc/>
    public Batch Get(int epoch, int index)
    {
        if (epoch != _epoch || index < _next)
        {
            _epochBatches?.Dispose();
            _epochBatches = _loader.Epoch(epoch).GetEnumerator();
            (_epoch, _next) = (epoch, 0);
        }
        while (true)
        {
            if (!_epochBatches!.MoveNext())
                throw new InvalidOperationException($"Epoch {epoch} of '{_loader.Dataset.Root}' ended after {_next} batches; batch {index} was asked for.");
            if (_next++ == index) return _epochBatches.Current;
        }
    }

    /// <summary>Stops the loader's thread.</summary>
    public void Dispose()
    {
        _epochBatches?.Dispose();
        _loader.Dispose();
    }
}
