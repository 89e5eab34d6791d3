// One decoded dataset sample: the image as planar RGB floats in [0, 1] and, when labelled, the class id of every
// pixel (void pixels hold the class table's ignore id). Immutable by convention: transforms return new samples.
using SegLab.Engine;

namespace SegLab.Data;

/// <summary>One image and its label map, decoded.</summary>
public sealed class SegmentationSample
{
    /// <summary>Creates a sample, checking the buffer sizes.</summary>
    /// <param name="id">Sample id (file stem).</param>
    /// <param name="imagePath">The image file.</param>
    /// <param name="labelPath">The label file, or null for an unlabelled sample.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="image">Planar RGB [3, H, W] in [0, 1].</param>
    /// <param name="label">[H * W] class ids, or null.</param>
    public SegmentationSample(string id, string imagePath, string? labelPath, int width, int height, float[] image, int[]? label)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(imagePath);
        ArgumentNullException.ThrowIfNull(image);
        if (width <= 0 || height <= 0) throw new ArgumentException($"Sample {id}: size {width}x{height} must be positive.");
        if (image.LongLength != 3L * width * height) throw new ArgumentException($"Sample {id}: {image.Length} image values for {width}x{height}; expected {3L * width * height}.");
        if (label is not null && label.LongLength != (long)width * height) throw new ArgumentException($"Sample {id}: {label.Length} label values for {width}x{height}; expected {(long)width * height}.");
        Id = id;
        ImagePath = imagePath;
        LabelPath = labelPath;
        Width = width;
        Height = height;
        Image = image;
        Label = label;
    }

    /// <summary>Sample id (the file stem).</summary>
    public string Id { get; }

    /// <summary>The image file.</summary>
    public string ImagePath { get; }

    /// <summary>The label file, or null.</summary>
    public string? LabelPath { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Planar RGB [3, H, W] in [0, 1].</summary>
    public float[] Image { get; }

    /// <summary>[H * W] class ids (void pixels hold the ignore id), or null.</summary>
    public int[]? Label { get; }

    /// <summary>The image as a new tensor [1, 3, H, W] (a copy of <see cref="Image"/>).</summary>
    public Tensor ImageTensor() => Tensor.FromArray((float[])Image.Clone(), 1, 3, Height, Width);

    /// <summary>A sample with the same id and paths and new pixels (for transforms).</summary>
    /// <param name="width">New width.</param>
    /// <param name="height">New height.</param>
    /// <param name="image">New planar RGB.</param>
    /// <param name="label">New label map (null keeps the sample unlabelled).</param>
    public SegmentationSample With(int width, int height, float[] image, int[]? label) => new(Id, ImagePath, LabelPath, width, height, image, label);
}
