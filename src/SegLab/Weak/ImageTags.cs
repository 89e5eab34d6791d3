// Image-level labels from a segmentation dataset (issue 19, PAPERS.md C and F): whole images, or crops of a given
// size and stride, where a class is present when it covers at least MinPixels pixels of the crop (void ignored).
// On CamVid whole-image tags are nearly constant (about 9.3 of 11 classes per image), so crops are the default there.
// VOC style data (class 0 named "background", ClassMapLabels.BackgroundClass) takes whole images, and its background
// is never a tag: the image-level labels of the setting name the objects only.
using SegLab.Data;

namespace SegLab.Weak;

/// <summary>How image-level tags are taken.</summary>
/// <param name="CropHeight">Crop height in pixels, or 0 for whole images.</param>
/// <param name="CropWidth">Crop width in pixels, or 0 for whole images.</param>
/// <param name="StrideY">Vertical step between crops.</param>
/// <param name="StrideX">Horizontal step between crops.</param>
/// <param name="MinPixels">A class is present in a crop where it covers at least this many pixels.</param>
public sealed record TagOptions(int CropHeight, int CropWidth, int StrideY, int StrideX, int MinPixels)
{
    /// <summary>Whole images, a class present from <paramref name="minPixels"/> pixels on (VOC-style data).</summary>
    public static TagOptions WholeImage(int minPixels = 1) => new(0, 0, 0, 0, minPixels);

    /// <summary>CamVid's default: 120x160 crops at stride 120x160 (a 3x3 grid on 360x480), present from 200 pixels (about 1% of a crop).</summary>
    public static TagOptions CamVidCrops { get; } = new(120, 160, 120, 160, 200);

    /// <summary>True when tags are taken on whole images.</summary>
    public bool Whole => CropHeight == 0 && CropWidth == 0;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        if (MinPixels < 1) throw new ArgumentException($"tags: min pixels must be >= 1, got {MinPixels}.");
        if (Whole) return;
        if (CropHeight < 1 || CropWidth < 1) throw new ArgumentException($"tags: crop size {CropHeight}x{CropWidth} (HEIGHTxWIDTH) must be positive, or 0x0 for whole images.");
        if (StrideY < 1 || StrideX < 1) throw new ArgumentException($"tags: stride {StrideY}x{StrideX} must be positive.");
        if (MinPixels > CropHeight * CropWidth) throw new ArgumentException($"tags: min pixels {MinPixels} exceeds the crop's {CropHeight * CropWidth} pixels.");
    }

    /// <inheritdoc/>
    public override string ToString() => Whole ? $"whole images, present from {MinPixels} px"
        : $"{CropHeight}x{CropWidth} crops at stride {StrideY}x{StrideX}, present from {MinPixels} px";
}

/// <summary>One tagged region of one image.</summary>
/// <param name="Index">Index of the image in its dataset.</param>
/// <param name="ImageId">The image's id.</param>
/// <param name="Y">Top row of the crop.</param>
/// <param name="X">Left column of the crop.</param>
/// <param name="Height">Crop height.</param>
/// <param name="Width">Crop width.</param>
/// <param name="Tags">Present classes, ascending.</param>
public sealed record TaggedCrop(int Index, string ImageId, int Y, int X, int Height, int Width, int[] Tags)
{
    /// <summary>Multi-hot target of <paramref name="classes"/> entries.</summary>
    public float[] Target(int classes)
    {
        var t = new float[classes];
        foreach (var c in Tags) t[c] = 1;
        return t;
    }
}

/// <summary>How many tags each class got.</summary>
/// <param name="Crops">Number of tagged regions.</param>
/// <param name="PerClass">Regions in which each class is present.</param>
/// <param name="Empty">Regions with no class present (all void or below the threshold).</param>
public sealed record TagStatistics(int Crops, int[] PerClass, int Empty)
{
    /// <summary>Mean number of classes per region.</summary>
    public double MeanTags => Crops == 0 ? 0 : (double)PerClass.Sum() / Crops;
}

/// <summary>Turns label maps into image-level tags.</summary>
public static class ImageTags
{
    /// <summary>The tagged regions of one label map [height * width] (class ids; ids outside 0..classes-1 are void).</summary>
    /// <param name="index">Index of the image in its dataset.</param>
    /// <param name="imageId">The image's id, for messages.</param>
    /// <param name="label">The label map.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="options">Whole images or crops.</param>
    /// <param name="background">The background class, never a tag (VOC style), or null.</param>
    public static List<TaggedCrop> Of(int index, string imageId, ReadOnlySpan<int> label, int height, int width, int classes, TagOptions options, int? background = null)
    {
        options.Validate();
        if (label.Length != height * width) throw new ArgumentException($"tags: image {imageId} has {label.Length} labels for {height}x{width}.");
        var crops = new List<TaggedCrop>();
        if (options.Whole)
        {
            crops.Add(new TaggedCrop(index, imageId, 0, 0, height, width, Present(label, width, 0, 0, height, width, classes, options.MinPixels, background)));
            return crops;
        }
        if (options.CropHeight > height || options.CropWidth > width)
            throw new ArgumentException($"tags: crop {options.CropHeight}x{options.CropWidth} is larger than image {imageId} ({height}x{width}).");
        for (int y = 0; y + options.CropHeight <= height; y += options.StrideY)
            for (int x = 0; x + options.CropWidth <= width; x += options.StrideX)
                crops.Add(new TaggedCrop(index, imageId, y, x, options.CropHeight, options.CropWidth,
                    Present(label, width, y, x, options.CropHeight, options.CropWidth, classes, options.MinPixels, background)));
        return crops;
    }

    /// <summary>
    /// The tagged regions of every labelled sample of a dataset (decodes each; an unlabelled sample is an error naming
    /// it). The dataset's background class (<see cref="ClassMapLabels.BackgroundClass"/>), if it has one, is never a tag.
    /// </summary>
    public static List<TaggedCrop> Of(ISegmentationDataset dataset, TagOptions options, IProgress<int>? progress = null)
    {
        var all = new List<TaggedCrop>();
        int? background = ClassMapLabels.BackgroundClass(dataset.Classes);
        for (int i = 0; i < dataset.Count; i++)
        {
            var s = dataset.Load(i);
            if (s.Label is null) throw new DatasetException($"tags: sample {s.Id} ({s.ImagePath}) has no label map to take tags from.");
            all.AddRange(Of(i, s.Id, s.Label, s.Height, s.Width, dataset.Classes.Count, options, background));
            progress?.Report(i + 1);
        }
        return all;
    }

    /// <summary>Per-class tag counts of a list of regions.</summary>
    public static TagStatistics Statistics(IReadOnlyList<TaggedCrop> crops, int classes)
    {
        var per = new int[classes];
        int empty = 0;
        foreach (var c in crops)
        {
            if (c.Tags.Length == 0) empty++;
            foreach (var t in c.Tags) per[t]++;
        }
        return new TagStatistics(crops.Count, per, empty);
    }

    private static int[] Present(ReadOnlySpan<int> label, int stride, int y0, int x0, int h, int w, int classes, int minPixels, int? background)
    {
        var count = new int[classes];
        for (int y = y0; y < y0 + h; y++)
            foreach (var v in label.Slice(y * stride + x0, w))
                if ((uint)v < (uint)classes) count[v]++;
        return [.. Enumerable.Range(0, classes).Where(c => c != background && count[c] >= minPixels)];
    }
}
