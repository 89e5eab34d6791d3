// A segmentation attribution target as a value (PAPERS.md B.2): a class and a pixel mask of the image (the
// predicted region of that class, the ground-truth region, one pixel, a box, any mask). Its score is the class
// logit summed over the mask, the convention of the Lost-in-Context code and of pytorch-grad-cam's
// SemanticSegmentationTarget. An empty target, or one outside the image, is refused with a message saying so.
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
}

/// <summary>A class and a pixel mask; the target score is the class logit summed over the mask.</summary>
public sealed class AttributionTarget
{
    private readonly bool[] _mask;

    private AttributionTarget(int cls, bool[] mask, int height, int width, TargetRegion region, string description)
    {
        Class = cls;
        _mask = mask;
        Height = height;
        Width = width;
        Region = region;
        Description = description;
        foreach (bool b in mask) if (b) Pixels++;
        if (Pixels == 0) throw new ArgumentException($"The target ({description}) is empty: its mask of class {cls} has no pixel.");
    }

    /// <summary>Class index (an output channel of the model).</summary>
    public int Class { get; }

    /// <summary>Mask height.</summary>
    public int Height { get; }

    /// <summary>Mask width.</summary>
    public int Width { get; }

    /// <summary>Where the mask came from.</summary>
    public TargetRegion Region { get; }

    /// <summary>Words for reports, e.g. "class 8, box (10,20)-(40,60)".</summary>
    public string Description { get; }

    /// <summary>Pixels in the mask.</summary>
    public int Pixels { get; }

    /// <summary>The mask, row-major H*W.</summary>
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

    /// <summary>Checks that the target fits a model with <paramref name="channels"/> outputs and an image of H x W.</summary>
    /// <param name="channels">Output channels of the model.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public void CheckFits(int channels, int height, int width)
    {
        if (Class >= channels) throw new ArgumentException($"The target class {Class} is not an output of the model (it has {channels} output channels, 0 to {channels - 1}).");
        if (height != Height || width != Width)
            throw new ArgumentException($"The target mask is {Width}x{Height} but the image is {width}x{height}.");
    }

    /// <summary>The score: the class logit summed over the mask, for one image's logits [C, H, W].</summary>
    /// <param name="logits">One image's logits.</param>
    public double Score(ReadOnlySpan<float> logits)
    {
        var plane = logits.Slice(Class * Height * Width, Height * Width);
        double s = 0;
        for (int i = 0; i < plane.Length; i++) if (_mask[i]) s += plane[i];
        return s;
    }

    /// <summary>Writes d score / d logits (the mask on the class plane, zeros elsewhere) into one image's [C, H, W] gradient.</summary>
    /// <param name="grad">One image's logit gradient, zeroed by the caller.</param>
    public void Seed(Span<float> grad)
    {
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
