// What the loader yields: equal-sized samples stacked into one image tensor [N, 3, H, W] and one flat label array,
// with the sample ids in batch order.
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
