// Runs a segmentation model over a dataset split and collects every metric of SegLab.Metrics, image by image:
// per-image confusion, small-object records, the worst and best images (their predictions kept while streaming,
// the images reloaded for the few chosen; see ExampleSelection) and the files that could not be read. The next sample is decoded in the background while the model runs.
using System.Diagnostics;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Metrics;
using SegLab.Models;

namespace SegLab.Evaluation;

/// <summary>What <see cref="Evaluator.Run"/> evaluates and keeps.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Log unreadable or invalid files and go on, instead of stopping at the first.</summary>
    public bool SkipBad { get; init; }

    /// <summary>How many of the worst images (by image mIoU) to keep with their predictions.</summary>
    public int WorstImages { get; init; } = 6;

    /// <summary>How many of the best images (by image mIoU) to keep with their predictions; null: as many as <see cref="WorstImages"/>.</summary>
    public int? BestImages { get; init; }

    /// <summary>
    /// Least frame distance between two kept images of one sequence (CamVid ids "SEQ_FRAME"; see
    /// <see cref="ExampleSelection"/>), so that the report does not show one scene several times (default 30).
    /// </summary>
    public int MinFrameDistance { get; init; } = ExampleSelection.DefaultMinFrameDistance;

    /// <summary>Class ids left out of the foreground-only metrics (none by default).</summary>
    public IReadOnlyList<int> ExcludedClasses { get; init; } = [];
}

/// <summary>Progress of an evaluation.</summary>
/// <param name="Done">Images processed (evaluated or skipped).</param>
/// <param name="Total">Images in the split.</param>
/// <param name="Id">The image just processed.</param>
/// <param name="ImagesPerSecond">Throughput so far.</param>
/// <param name="RunningMIoU">Dataset mIoU of the images so far (0-100).</param>
public sealed record EvaluationProgress(int Done, int Total, string Id, double ImagesPerSecond, double RunningMIoU);

/// <summary>One evaluated image kept for the report: the image, its label and the model's prediction.</summary>
/// <param name="Id">Image id.</param>
/// <param name="Width">Width.</param>
/// <param name="Height">Height.</param>
/// <param name="Image">Planar RGB [3, H, W] in [0, 1].</param>
/// <param name="Label">Ground truth ids [H * W].</param>
/// <param name="Prediction">Predicted ids [H * W].</param>
/// <param name="ImageMIoU">The image's mIoU (0-100).</param>
/// <param name="PixelAccuracy">The image's pixel accuracy (0-100).</param>
public sealed record ImageExample(string Id, int Width, int Height, float[] Image, int[] Label, int[] Prediction, double ImageMIoU, double PixelAccuracy);

/// <summary>A file that could not be evaluated.</summary>
/// <param name="Id">Image id.</param>
/// <param name="Path">The file at fault, when known.</param>
/// <param name="Problem">What is wrong.</param>
public sealed record SkippedFile(string Id, string? Path, string Problem);

/// <summary>Everything an evaluation produced.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Dataset">Dataset name.</param>
/// <param name="Root">Dataset folder.</param>
/// <param name="Split">Split.</param>
/// <param name="Classes">Class table.</param>
/// <param name="Metrics">Per-image records (mergeable).</param>
/// <param name="Summary">Reduced metrics.</param>
/// <param name="Worst">The worst images, worst first.</param>
/// <param name="Skipped">Files that were skipped.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="Best">The best images, best first (none of them near a worst one in its sequence).</param>
/// <param name="MinFrameDistance">The least frame distance the worst and best images were chosen with.</param>
public sealed record EvaluationResult(
    string Model, string Dataset, string Root, string Split, ClassTable Classes, MetricAccumulator Metrics,
    MetricSummary Summary, IReadOnlyList<ImageExample> Worst, IReadOnlyList<SkippedFile> Skipped, double Seconds,
    IReadOnlyList<ImageExample>? Best = null, int MinFrameDistance = ExampleSelection.DefaultMinFrameDistance)
{
    /// <summary>Images evaluated per second.</summary>
    public double ImagesPerSecond => Seconds > 0 ? Summary.Images / Seconds : 0;

    /// <summary>How many worst images were asked for (fewer are shown when the split is small or frames are too close).</summary>
    public int WorstImages { get; init; }

    /// <summary>How many best images were asked for.</summary>
    public int BestImages { get; init; }
}

/// <summary>Evaluates a model on a dataset.</summary>
public static class Evaluator
{
    /// <summary>Runs <paramref name="model"/> over every image of <paramref name="data"/>.</summary>
    /// <param name="model">The model (put in eval mode).</param>
    /// <param name="data">The split (already limited or sharded as wanted).</param>
    /// <param name="options">What to keep.</param>
    /// <param name="progress">Optional progress, once per image.</param>
    /// <param name="cancel">Stops between images.</param>
    public static EvaluationResult Run(SegmentationModel model, ISegmentationDataset data, EvaluationOptions? options = null,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new EvaluationOptions();
        var classes = data.Classes;
        if (model.NumClasses != classes.Count)
            throw new ArgumentException($"Model '{model.Name}' scores {model.NumClasses} classes but dataset '{data.Name}' ({data.Root}) has {classes.Count}.");
        if (data.Count == 0) throw new DatasetException($"Dataset '{data.Name}' split '{data.Split}' in {data.Root} has no images.");
        model.Network.Eval();

        var acc = new MetricAccumulator(classes.Count);
        int bestCount = options.BestImages ?? options.WorstImages;
        int shown = Math.Max(0, options.WorstImages) + Math.Max(0, bestCount);
        var pool = new ExamplePool(shown == 0 ? 0 : Math.Max(48, 8 * shown));
        var skipped = new List<SkippedFile>();
        var sw = Stopwatch.StartNew();
        var next = LoadAsync(data, 0);
        for (int i = 0; i < data.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var (sample, error) = next.GetAwaiter().GetResult();
            if (i + 1 < data.Count) next = LoadAsync(data, i + 1);
            string id = data.Id(i);
            if (error is null && sample!.Label is null)
                error = new DatasetException($"Image {sample.ImagePath} has no label, so it cannot be evaluated.", sample.ImagePath);
            if (error is not null)
            {
                if (!options.SkipBad) throw error;
                skipped.Add(new SkippedFile(id, (error as DatasetException)?.FilePath, error.Message));
            }
            else
            {
                var (prediction, score) = EvaluateOne(model, sample!, classes, acc);
                pool.Offer(score, i, prediction);
            }
            double seconds = sw.Elapsed.TotalSeconds;
            progress?.Report(new EvaluationProgress(i + 1, data.Count, id, seconds > 0 ? acc.Count / seconds : 0, acc.Count > 0 ? 100 * acc.Total().MeanIoU() : double.NaN));
        }
        if (acc.Count == 0)
            throw new DatasetException($"No image of '{data.Name}' split '{data.Split}' in {data.Root} could be evaluated ({skipped.Count} skipped).");
        var summary = acc.Summarize(new MetricOptions { ExcludedClasses = [.. options.ExcludedClasses] });
        var (worstScores, bestScores) = ExampleSelection.Choose(pool.Scores, options.WorstImages, bestCount, options.MinFrameDistance);
        var worst = worstScores.Select(sc => Reload(data, pool, sc)).ToList();
        var best = bestScores.Select(sc => Reload(data, pool, sc)).ToList();
        return new EvaluationResult(model.Name, data.Name, data.Root, data.Split, classes, acc, summary, worst, skipped, sw.Elapsed.TotalSeconds,
            best, options.MinFrameDistance) { WorstImages = Math.Max(0, options.WorstImages), BestImages = Math.Max(0, bestCount) };
    }

    // The image and label of a chosen example, loaded again (they were not kept), with the prediction that was.
    private static ImageExample Reload(ISegmentationDataset data, ExamplePool pool, ImageScore score)
    {
        var (index, prediction) = pool.Get(score.Id);
        var sample = data.Load(index);
        return new ImageExample(score.Id, sample.Width, sample.Height, sample.Image, sample.Label!, prediction, score.MIoU, score.PixelAccuracy);
    }

    /// <summary>Class ids [H * W] that <paramref name="model"/> predicts for one sample.</summary>
    /// <param name="model">The model.</param>
    /// <param name="sample">The image.</param>
    public static int[] Predict(SegmentationModel model, SegmentationSample sample)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sample);
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin(); // the forward's storage is reused by the next image's
        var ids = model.Predict(model.Forward(sample.ImageTensor())).Span;
        var pred = new int[ids.Length];
        for (int k = 0; k < pred.Length; k++) pred[k] = (int)ids[k];
        return pred;
    }

    private static (int[] Prediction, ImageScore Score) EvaluateOne(SegmentationModel model, SegmentationSample sample, ClassTable classes, MetricAccumulator acc)
    {
        var pred = Predict(model, sample);
        var label = sample.Label!;
        var confusion = ImageConfusion.Compute(sample.Id, pred, label, classes.Count, classes.IgnoreIndex);
        var small = SmallObjects.Analyze(sample.Id, pred, label, sample.Width, sample.Height, classes.Count, classes.IgnoreIndex);
        acc.Add(confusion, small);
        return (pred, new ImageScore(sample.Id, 100 * confusion.MeanIoU(), 100 * confusion.Accuracy));
    }

    private static Task<(SegmentationSample? Sample, Exception? Error)> LoadAsync(ISegmentationDataset data, int index) =>
        Task.Run<(SegmentationSample?, Exception?)>(() =>
        {
            try
            {
                return (data.Load(index), null);
            }
            catch (IOException e)
            {
                return (null, e);
            }
        });
}
