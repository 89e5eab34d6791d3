// The reduced metrics of a dataset (the "compute" half): dataset-wise and image-wise mIoU, accuracies, per-class
// values, foreground variants, the size-bias gap and the small-object bins. All metric values on a 0-100 scale;
// NaN where undefined (written as JSON null by MetricsJson). Definitions: docs PAPERS.md A.1 and A.6.
namespace SegLab.Metrics;

/// <summary>An image's score: image mIoU and pixel accuracy (0-100).</summary>
/// <param name="Id">The image's identifier.</param>
/// <param name="MIoU">Mean IoU over the classes present in ground truth or prediction.</param>
/// <param name="PixelAccuracy">Correct / valid pixels.</param>
public sealed record ImageScore(string Id, double MIoU, double PixelAccuracy);

/// <summary>Ground-truth components whose area lies in [MinArea, MaxArea): their count and recall (0-100).</summary>
/// <param name="Name">"small", "medium", "large" for three bins, else "[min, max)".</param>
/// <param name="MinArea">Smallest area in the bin (pixels).</param>
/// <param name="MaxArea">Exclusive upper bound, or null for no bound.</param>
/// <param name="Count">Number of components.</param>
/// <param name="MeanRecall">Mean over components of hits / area; NaN when empty.</param>
/// <param name="PooledRecall">Sum of hits / sum of areas; NaN when empty.</param>
/// <param name="PerClassCount">Per class: number of components.</param>
/// <param name="PerClassMeanRecall">Per class: mean recall; NaN where the class has no component in the bin.</param>
/// <param name="PerClassPooledRecall">Per class: pooled recall; NaN where the class has no component in the bin.</param>
public sealed record ComponentAreaBin(string Name, long MinArea, long? MaxArea, int Count, double MeanRecall, double PooledRecall,
    int[] PerClassCount, double[] PerClassMeanRecall, double[] PerClassPooledRecall);

/// <summary>
/// Per-image per-class IoU (0-100) of the (image, class) pairs whose ground-truth area, as a fraction of the image's
/// valid pixels, lies in [Lower, Upper) (the last bin includes 1). Classes absent from an image's ground truth are
/// not binned (their false positives count in the image mIoU instead).
/// </summary>
/// <param name="Lower">Lower edge (fraction of 1).</param>
/// <param name="Upper">Upper edge (fraction of 1).</param>
/// <param name="Count">Number of (image, class) pairs.</param>
/// <param name="MeanIoU">Mean IoU of those pairs; NaN when empty.</param>
/// <param name="PerClassCount">Per class: number of images.</param>
/// <param name="PerClassMeanIoU">Per class: mean IoU; NaN where empty.</param>
public sealed record AreaFractionBin(double Lower, double Upper, int Count, double MeanIoU, int[] PerClassCount, double[] PerClassMeanIoU);

/// <summary>The metrics of a set of images, all on a 0-100 scale, NaN where undefined.</summary>
public sealed record MetricSummary
{
    /// <summary>Number of classes K.</summary>
    public required int NumClasses { get; init; }

    /// <summary>Number of images added.</summary>
    public required int Images { get; init; }

    /// <summary>Images with at least one valid pixel (the ones image-wise means average over).</summary>
    public required int ImagesScored { get; init; }

    /// <summary>Valid (non-ignored) pixels over all images.</summary>
    public required long ValidPixels { get; init; }

    /// <summary>Dataset-wise mIoU: per class sum(tp) / sum(tp + fp + fn) over images, mean over classes with union &gt; 0.</summary>
    public required double MIoU { get; init; }

    /// <summary>Image-wise mIoU: per image the mean IoU over classes in ground truth or prediction, then the mean over images.</summary>
    public required double ImageMIoU { get; init; }

    /// <summary>Image-wise mIoU averaging per image only over classes present in the ground truth.</summary>
    public required double ImageMIoUGtOnly { get; init; }

    /// <summary>Pooled pixel accuracy: all correct pixels / all valid pixels.</summary>
    public required double PixelAccuracy { get; init; }

    /// <summary>Mean over images of each image's pixel accuracy.</summary>
    public required double MeanImagePixelAccuracy { get; init; }

    /// <summary>Mean over classes with ground truth of the class accuracy tp / (tp + fn).</summary>
    public required double MeanClassAccuracy { get; init; }

    /// <summary>Dataset-wise IoU per class; NaN where the union is 0.</summary>
    public required double[] PerClassIoU { get; init; }

    /// <summary>Class accuracy (recall) tp / (tp + fn) per class; NaN where the class has no ground truth.</summary>
    public required double[] PerClassAccuracy { get; init; }

    /// <summary>The classes the foreground variants leave out.</summary>
    public required int[] ExcludedClasses { get; init; }

    /// <summary>Dataset-wise mIoU over the classes not excluded.</summary>
    public required double ForegroundMIoU { get; init; }

    /// <summary>Image-wise mIoU over the classes not excluded (images with no such class in ground truth or prediction skipped).</summary>
    public required double ForegroundImageMIoU { get; init; }

    /// <summary>
    /// Pooled accuracy over the pixels whose ground truth is not an excluded class: their correct pixels / their count
    /// (a foreground pixel predicted as an excluded class counts as wrong; pixels of excluded classes are dropped).
    /// </summary>
    public required double ForegroundPixelAccuracy { get; init; }

    /// <summary>ImageMIoU - MIoU in points: negative when per-image scores, where small regions weigh as much as large ones, fall below the pooled mIoU (the size bias of A.6).</summary>
    public required double SizeBiasGap { get; init; }

    /// <summary>The images with the lowest image mIoU (ties by id), at most <see cref="MetricOptions.WorstCount"/>.</summary>
    public required IReadOnlyList<ImageScore> WorstImages { get; init; }

    /// <summary>Images that came with a small-object record (the component bins cover only these).</summary>
    public required int SmallObjectImages { get; init; }

    /// <summary>Component recall per area bin; empty when no small-object records were added.</summary>
    public required IReadOnlyList<ComponentAreaBin> ComponentBins { get; init; }

    /// <summary>Per-image per-class IoU binned by the class's ground-truth area fraction.</summary>
    public required IReadOnlyList<AreaFractionBin> AreaFractionBins { get; init; }
}
