// An attribution target as a value (PAPERS.md B.2). For a segmentation model ([N, C, H, W] logits): a class and a
// pixel mask of the image (the predicted region of that class, the ground-truth region, one pixel, a box, any mask);
// its score is the class logit summed over the mask, the convention of the Lost-in-Context code and of
// pytorch-grad-cam's SemanticSegmentationTarget. For a classifier ([N, C] logits): a class or a set of classes (a
// superclass); its score is the class's logit (pytorch-grad-cam's ClassifierOutputTarget, which the paper uses) and,
// for a superclass, the sum of its members' logits (B.2 does not say how a superclass is scored: the paper targets one
// ImageNet class; the sum is this library's convention, linear in the logits like the segmentation target's sum).
// An empty target, one outside the image, or a class the model does not have is refused with a message saying so.
namespace SegLab.Attribution;

/// <summary>Where a target's mask came from.</summary>
public enum TargetRegion
{
    /// <summary>The pixels the model predicts as the class.</summary>
    Predicted,

    /// <summary>The ground-truth pixels of the class.</summary>
    GroundTruth,

    /// <summary>One pixel.</summary>
    Pixel,

    /// <summary>An axis-aligned box.</summary>
    Box,

    /// <summary>A mask the caller gave.</summary>
    Mask,

    /// <summary>No mask: a classifier's class or set of classes (the whole image is the input).</summary>
    Classes,
}

/// <summary>
/// A class and a pixel mask (segmentation: the class logit summed over the mask), or a class or set of classes of a
/// classifier (the class logit, or the sum of the set's logits).
/// </summary>
public sealed class AttributionTarget
{
    private readonly bool[] _mask;
    private readonly int[] _classes;

    private AttributionTarget(int cls, bool[] mask, int height, int width, TargetRegion region, string description)
    {
        Class = cls;
        _classes = [cls];
        _mask = mask;
        Height = height;
        Width = width;
        Region = region;
        Description = description;
        foreach (bool b in mask) if (b) Pixels++;
        if (Pixels == 0) throw new ArgumentException($"The target ({description}) is empty: its mask of class {cls} has no pixel.");
    }

    private AttributionTarget(int[] classes, string description)
    {
        _classes = classes;
        Class = classes[0];
        _mask = [];
        Region = TargetRegion.Classes;
        Description = description;
    }

    /// <summary>Class index (an output channel of the model); for a classifier's set of classes, its first member.</summary>
    public int Class { get; }

    /// <summary>The target's classes: the one class, or a classifier target's set (in the order given).</summary>
    public IReadOnlyList<int> Classes => _classes;

    /// <summary>Whether this is a classifier target ([N, C] logits, no mask) rather than a segmentation one.</summary>
    public bool IsClassifier => Region == TargetRegion.Classes;

    /// <summary>Mask height (0 for a classifier target).</summary>
    public int Height { get; }

    /// <summary>Mask width (0 for a classifier target).</summary>
    public int Width { get; }

    /// <summary>Where the mask came from.</summary>
    public TargetRegion Region { get; }

    /// <summary>Words for reports, e.g. "class 8, box (10,20)-(40,60)".</summary>
    public string Description { get; }

    /// <summary>Pixels in the mask (0 for a classifier target).</summary>
    public int Pixels { get; }

    /// <summary>The mask, row-major H*W (empty for a classifier target).</summary>
    public ReadOnlySpan<bool> Mask => _mask;

    /// <summary>A target from any mask of the image's size.</summary>
    /// <param name="cls">Class index.</param>
    /// <param name="mask">Row-major H*W mask (copied).</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="region">Where the mask came from.</param>
    public static AttributionTarget FromMask(int cls, ReadOnlySpan<bool> mask, int height, int width, TargetRegion region = TargetRegion.Mask)
    {
        CheckSize(height, width);
        if (mask.Length != height * width)
            throw new ArgumentException($"The target mask has {mask.Length} pixels but the image is {width}x{height} ({height * width} pixels).");
        return new AttributionTarget(CheckClass(cls), mask.ToArray(), height, width, region, $"class {cls}, {Words(region)}");
    }

    /// <summary>The pixels of <paramref name="labels"/> equal to <paramref name="cls"/> (a prediction or a ground truth).</summary>
    /// <param name="cls">Class index.</param>
    /// <param name="labels">Row-major H*W class ids.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="region">Predicted or GroundTruth.</param>
    public static AttributionTarget FromLabels(int cls, ReadOnlySpan<int> labels, int height, int width, TargetRegion region = TargetRegion.Predicted)
    {
        CheckSize(height, width);
        if (labels.Length != height * width)
            throw new ArgumentException($"The label map has {labels.Length} pixels but the image is {width}x{height}.");
        var mask = new bool[labels.Length];
        for (int i = 0; i < mask.Length; i++) mask[i] = labels[i] == cls;
        return new AttributionTarget(CheckClass(cls), mask, height, width, region, $"class {cls}, {Words(region)}");
    }

    /// <summary>One pixel (x, y) of a W x H image.</summary>
    /// <param name="cls">Class index.</param>
    /// <param name="x">Column.</param>
    /// <param name="y">Row.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    public static AttributionTarget Pixel(int cls, int x, int y, int height, int width)
    {
        CheckSize(height, width);
        if (x < 0 || y < 0 || x >= width || y >= height)
            throw new ArgumentException($"The target pixel ({x},{y}) is outside the {width}x{height} image.");
        var mask = new bool[height * width];
        mask[y * width + x] = true;
        return new AttributionTarget(CheckClass(cls), mask, height, width, TargetRegion.Pixel, $"class {cls}, pixel ({x},{y})");
    }

    /// <summary>The box of columns x0..x1-1 and rows y0..y1-1 (end exclusive).</summary>
    /// <param name="cls">Class index.</param>
    /// <param name="x0">First column.</param>
    /// <param name="y0">First row.</param>
    /// <param name="x1">Column after the last.</param>
    /// <param name="y1">Row after the last.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    public static AttributionTarget Box(int cls, int x0, int y0, int x1, int y1, int height, int width)
    {
        CheckSize(height, width);
        if (x1 <= x0 || y1 <= y0)
            throw new ArgumentException($"The target box ({x0},{y0})-({x1},{y1}) is empty (the end corner is exclusive and must be right of and below the start).");
        if (x0 < 0 || y0 < 0 || x1 > width || y1 > height)
            throw new ArgumentException($"The target box ({x0},{y0})-({x1},{y1}) is not inside the {width}x{height} image.");
        var mask = new bool[height * width];
        for (int y = y0; y < y1; y++) mask.AsSpan(y * width + x0, x1 - x0).Fill(true);
        return new AttributionTarget(CheckClass(cls), mask, height, width, TargetRegion.Box, $"class {cls}, box ({x0},{y0})-({x1},{y1})");
    }

    /// <summary>A classifier's class: the score is its logit.</summary>
    /// <param name="cls">Class index (an output of the classifier).</param>
    /// <param name="name">The class's name for reports, or null.</param>
    public static AttributionTarget ForClass(int cls, string? name = null) => ForClasses([cls], name);

    /// <summary>A classifier's set of classes (a superclass): the score is the sum of the members' logits.</summary>
    /// <param name="classes">Class indices (outputs of the classifier), at least one, no repeats.</param>
    /// <param name="name">The set's name for reports (e.g. "vehicle"), or null.</param>
    public static AttributionTarget ForClasses(IEnumerable<int> classes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(classes);
        int[] set = [.. classes];
        if (set.Length == 0) throw new ArgumentException($"The classifier target{(name is null ? "" : $" '{name}'")} is empty: give at least one class.");
        foreach (int c in set) CheckClass(c);
        if (set.Distinct().Count() != set.Length)
            throw new ArgumentException($"The classifier target{(name is null ? "" : $" '{name}'")} repeats a class ({string.Join(", ", set)}); each class counts once.");
        string what = set.Length == 1 ? $"class {set[0]}" : $"classes {string.Join("+", set)} (summed logits)";
        return new AttributionTarget(set, name is null ? $"{what}, classifier" : $"{name}: {what}, classifier");
    }

    /// <summary>
    /// Checks that the target fits a model with <paramref name="channels"/> outputs and an image of H x W (a
    /// classifier target fits an image of any size).
    /// </summary>
    /// <param name="channels">Output channels (classes) of the model.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public void CheckFits(int channels, int height, int width)
    {
        foreach (int c in _classes)
            if (c >= channels)
                throw new ArgumentException(IsClassifier
                    ? $"The target class {c} is not a class of the classifier (it has {channels} classes, 0 to {channels - 1})."
                    : $"The target class {c} is not an output of the model (it has {channels} output channels, 0 to {channels - 1}).");
        if (IsClassifier) return;
        if (height != Height || width != Width)
            throw new ArgumentException($"The target mask is {Width}x{Height} but the image is {width}x{height}.");
    }

    /// <summary>
    /// The score of one image's logits: [C, H, W] for a segmentation target (the class logit summed over the mask),
    /// [C] for a classifier target (the class's logit, or the sum over the set).
    /// </summary>
    /// <param name="logits">One image's logits.</param>
    public double Score(ReadOnlySpan<float> logits)
    {
        double s = 0;
        if (IsClassifier)
        {
            foreach (int c in _classes) s += logits[c];
            return s;
        }
        var plane = logits.Slice(Class * Height * Width, Height * Width);
        for (int i = 0; i < plane.Length; i++) if (_mask[i]) s += plane[i];
        return s;
    }

    /// <summary>
    /// Writes d score / d logits into one image's zeroed logit gradient: the mask on the class plane of [C, H, W], or
    /// ones at the target's classes of [C].
    /// </summary>
    /// <param name="grad">One image's logit gradient, zeroed by the caller.</param>
    public void Seed(Span<float> grad)
    {
        if (IsClassifier)
        {
            foreach (int c in _classes) grad[c] = 1f;
            return;
        }
        var plane = grad.Slice(Class * Height * Width, Height * Width);
        for (int i = 0; i < plane.Length; i++) if (_mask[i]) plane[i] = 1f;
    }

    /// <inheritdoc/>
    public override string ToString() => Description;

    private static int CheckClass(int cls) =>
        cls >= 0 ? cls : throw new ArgumentException($"The target class {cls} is negative.");

    private static void CheckSize(int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"The image size {width}x{height} must be positive.");
    }

    private static string Words(TargetRegion r) => r switch
    {
        TargetRegion.Predicted => "predicted region",
        TargetRegion.GroundTruth => "ground-truth region",
        TargetRegion.Pixel => "pixel",
        TargetRegion.Box => "box",
        _ => "mask",
    };
}
