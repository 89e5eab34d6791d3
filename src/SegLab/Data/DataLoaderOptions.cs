// The options of a DataLoader (batching, order, transform, prefetch bounds, bad-file handling) and the record
// of a sample it skipped because its files were bad.
namespace SegLab.Data;

/// <summary>A sample the loader left out because its files were bad (option <see cref="DataLoaderOptions.SkipBad"/>).</summary>
/// <param name="Id">Sample id.</param>
/// <param name="Path">The file at fault (or the dataset root when unknown).</param>
/// <param name="Message">What was wrong.</param>
public sealed record SkippedSample(string Id, string Path, string Message);

/// <summary>Options of a <see cref="DataLoader"/>.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Samples per batch (positive).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Whether to shuffle the order each epoch (by <see cref="Seed"/> and the epoch number).</summary>
    public bool Shuffle { get; init; }

    /// <summary>Seed of the order and of every random transform.</summary>
    public long Seed { get; init; }

    /// <summary>Whether to drop the last batch when it is smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    /// <summary>Transform applied to each sample (null: none); training needs one that gives equal sizes, e.g. a crop.</summary>
    public ISampleTransform? Transform { get; init; }

    /// <summary>Most batches prepared ahead on the worker thread; 0 prepares batches on the consumer's thread.</summary>
    public int PrefetchBatches { get; init; } = 2;

    /// <summary>Most bytes of prepared batches held ahead (one batch is always allowed).</summary>
    public long PrefetchBytes { get; init; } = 256L << 20;

    /// <summary>Whether a sample whose files are bad is recorded in <see cref="DataLoader.Skipped"/> and left out instead of failing.</summary>
    public bool SkipBad { get; init; }

    /// <summary>Told of every skipped sample as it happens (with <see cref="SkipBad"/>).</summary>
    public IProgress<SkippedSample>? SkipLog { get; init; }
}
