// The seam of the context study between its two sides (issue 18 item 4): what differs between the segmentation side
// (a segmentation model, the target "class logit summed over the object's ground-truth mask" on the whole image, the
// object's recall and IoU) and the recognition side (an image classifier, the target "the object's class logit" on a
// crop around the object, the class's sigmoid probability). Everything else (objects, variants, methods, records,
// aggregation, files, shards, resume) is ContextRunner's and the same for both.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Models;

namespace SegLab.Attribution.Context;

/// <summary>
/// The window of the (variant) image that the model sees for one object, the object's mask in that window (what the
/// attribution shares are measured against) and the attribution target.
/// </summary>
/// <param name="X0">First column of the window in the image.</param>
/// <param name="Y0">First row.</param>
/// <param name="Width">Window width.</param>
/// <param name="Height">Window height.</param>
/// <param name="Mask">The object's pixels inside the window, row-major Height*Width.</param>
/// <param name="Target">The attribution target on the window.</param>
public sealed record ContextView(int X0, int Y0, int Width, int Height, bool[] Mask, AttributionTarget Target)
{
    /// <summary>The window of a planar [3, H, W] image of <paramref name="imageWidth"/> x <paramref name="imageHeight"/> (the image itself when the window is all of it).</summary>
    /// <param name="image">Planar RGB.</param>
    /// <param name="imageHeight">H.</param>
    /// <param name="imageWidth">W.</param>
    public float[] Cut(float[] image, int imageHeight, int imageWidth)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (X0 == 0 && Y0 == 0 && Width == imageWidth && Height == imageHeight) return image;
        var o = new float[3 * Width * Height];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < Height; y++)
                image.AsSpan((c * imageHeight * imageWidth) + ((Y0 + y) * imageWidth) + X0, Width).CopyTo(o.AsSpan((c * Height * Width) + (y * Width), Width));
        return o;
    }
}

/// <summary>What one variant gave for one object: the segmentation side's recall and IoU, or the recognition side's class probability, and whether that counts as correct.</summary>
/// <param name="Recall">Object recall (NaN on the recognition side).</param>
/// <param name="IoU">Object IoU (NaN on the recognition side).</param>
/// <param name="Probability">The classifier's sigmoid probability of the object's class (null on the segmentation side).</param>
/// <param name="Correct">Segmented (recall at least the threshold) or recognised (probability at least the threshold).</param>
public sealed record ContextJudgement(double Recall, double IoU, double? Probability, bool Correct);

/// <summary>A side of the context study: a model, its target per object, its quality measure per variant.</summary>
public interface IContextSide
{
    /// <summary>"segmentation" or "recognition" (written to context.json).</summary>
    string Kind { get; }

    /// <summary>The model the attribution methods run on (logits [N, C, H, W] or, for a classifier, [N, C]).</summary>
    SegmentationModel Model { get; }

    /// <summary>Checks that <paramref name="datasetClass"/> (a class id of the dataset) is one this side can target.</summary>
    /// <param name="datasetClass">Class id of the dataset's table.</param>
    /// <param name="className">Its name.</param>
    void CheckClass(int datasetClass, string className);

    /// <summary>The window, mask and target of one object.</summary>
    /// <param name="inst">The object.</param>
    ContextView View(ContextInstance inst);

    /// <summary>The model's quality on one variant of the object.</summary>
    /// <param name="inst">The object.</param>
    /// <param name="view">Its view.</param>
    /// <param name="image">The variant image, planar [3, H, W] at the image's size.</param>
    /// <param name="window">The view's window of it (what the attribution methods see).</param>
    /// <param name="sceneLabel">Ground truth of the scene shown around the object (null: none).</param>
    /// <param name="options">The run's settings.</param>
    ContextJudgement Judge(ContextInstance inst, ContextView view, float[] image, float[] window, int[]? sceneLabel, ContextOptions options);
}

/// <summary>The segmentation side: the whole image, the summed-logit target on the object's ground-truth mask, recall and IoU.</summary>
/// <param name="model">The segmentation model.</param>
public sealed class SegmentationSide(SegmentationModel model) : IContextSide
{
    /// <inheritdoc/>
    public string Kind => "segmentation";

    /// <inheritdoc/>
    public SegmentationModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    /// <inheritdoc/>
    public void CheckClass(int datasetClass, string className)
    {
        if (datasetClass >= Model.NumClasses) throw new ArgumentException($"context: class {datasetClass} is not scored by model {Model.Name} ({Model.NumClasses} classes).");
    }

    /// <inheritdoc/>
    public ContextView View(ContextInstance inst)
    {
        ArgumentNullException.ThrowIfNull(inst);
        return new ContextView(0, 0, inst.Width, inst.Height, inst.Mask, AttributionTarget.FromMask(inst.Class, inst.Mask, inst.Height, inst.Width, TargetRegion.GroundTruth));
    }

    /// <inheritdoc/>
    public ContextJudgement Judge(ContextInstance inst, ContextView view, float[] image, float[] window, int[]? sceneLabel, ContextOptions options)
    {
        ArgumentNullException.ThrowIfNull(inst);
        ArgumentNullException.ThrowIfNull(options);
        int[] pred;
        using (GradMode.NoGrad())
        {
            var p = Model.Predict(Model.Forward(Tensor.FromArray((float[])image.Clone(), 1, 3, inst.Height, inst.Width))).ToArray();
            pred = [.. p.Select(v => (int)v)];
        }
        var (recall, iou) = ContextRunner.Quality(inst, pred, sceneLabel, options.IoUMargin);
        return new ContextJudgement(recall, iou, null, recall >= options.CorrectRecall);
    }
}
