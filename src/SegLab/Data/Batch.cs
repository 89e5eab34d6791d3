// What the loader yields: equal-sized samples stacked into one image tensor [N, 3, H, W] and one flat label array,
// plus the options of the loader and the record of a skipped bad file.
using SegLab.Engine;

namespace SegLab.Data;

/// <summary>A batch of samples of equal size.</summary>
public sealed class Batch
{
    /// <summary>Creates a batch, checking the sizes.</summary>
    /// <param name="images">Images [N, 3, H, W] in [0, 1].</param>
    /// <param name="labels">N * H * W class ids (ignore id where a sample had no label).</param>
    /// <param name="ids">The N sample ids.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    public Batch(Tensor images, int[] labels, string[] ids, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(ids);
        if (images.Shape.Length != 4 || images.Size(0) != ids.Length || images.Size(1) != 3 || images.Size(2) != height || images.Size(3) != width)
            throw new ArgumentException($"Batch: images of shape [{string.Join(", ", images.Shape.ToArray())}] for {ids.Length} samples of {width}x{height}.");
        if (labels.LongLength != (long)ids.Length * height * width) throw new ArgumentException($"Batch: {labels.Length} labels for {ids.Length} samples of {width}x{height}.");
        (Images, Labels, Ids, Height, Width) = (images, labels, ids, height, width);
    }

    /// <summary>Images [N, 3, H, W] in [0, 1].</summary>
    public Tensor Images { get; }

    /// <summary>N * H * W class ids, sample-major then row-major.</summary>
    public int[] Labels { get; }

    /// <summary>Sample ids, in batch order.</summary>
    public string[] Ids { get; }

    /// <summary>Height of every sample.</summary>
    public int Height { get; }

    /// <summary>Width of every sample.</summary>
    public int Width { get; }

    /// <summary>Number of samples N.</summary>
    public int Count => Ids.Length;

    /// <summary>Bytes held by the images and labels.</summary>
    public long Bytes => 4L * Count * Height * Width * 4;
}

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
