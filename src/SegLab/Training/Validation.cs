// Validation during training: every image of a split through the model in eval mode (optionally at a reduced input
// scale, logits resized back to the label's size, bilinear), scored with the metrics module (dataset-wise and
// image-wise mIoU, per-class IoU).
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Metrics;
using SegLab.Models;

namespace SegLab.Training;

/// <summary>Scores a model on a labelled split.</summary>
public static class Validation
{
    /// <summary>Metrics (0-100) of <paramref name="model"/> on <paramref name="data"/>; the model's mode is restored.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">Labelled samples.</param>
    /// <param name="inputScale">Images are resized by this factor before the forward.</param>
    /// <param name="limit">At most this many images (0: all).</param>
    /// <param name="ignoreIndex">Label not scored.</param>
    /// <param name="cancel">Stops between images.</param>
    public static MetricSummary Evaluate(SegmentationModel model, ISegmentationDataset data, double inputScale, int limit, int ignoreIndex, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.Network.Training;
        model.Network.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var acc = new MetricAccumulator(model.NumClasses);
            int n = limit > 0 ? Math.Min(limit, data.Count) : data.Count;
            for (int i = 0; i < n && !cancel.IsCancellationRequested; i++)
            {
                var s = data.Load(i);
                if (s.Label is null) throw new InvalidOperationException($"Validation sample '{s.Id}' ({s.ImagePath}) has no label file.");
                acc.Add(ImageConfusion.Compute(s.Id, Predict(model, s, inputScale), s.Label, model.NumClasses, ignoreIndex));
            }
            return acc.Summarize();
        }
        finally
        {
            model.Network.Train(wasTraining);
        }
    }

    /// <summary>Class ids [H * W] predicted for one sample at its own size.</summary>
    /// <param name="model">The model (in eval mode).</param>
    /// <param name="sample">The sample.</param>
    /// <param name="inputScale">Resize factor of the input.</param>
    public static int[] Predict(SegmentationModel model, SegmentationSample sample, double inputScale)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sample);
        using var scope = TensorScope.Begin(); // only the class ids leave; the next image reuses the storage
        var x = sample.ImageTensor();
        int h = Math.Max(8, (int)Math.Round(sample.Height * inputScale)), w = Math.Max(8, (int)Math.Round(sample.Width * inputScale));
        if (h != sample.Height || w != sample.Width) x = Ops.Interpolate(x, h, w, InterpolationMode.Bilinear);
        var logits = model.Forward(x);
        if (logits.Size(2) != sample.Height || logits.Size(3) != sample.Width)
            logits = Ops.Interpolate(logits, sample.Height, sample.Width, InterpolationMode.Bilinear);
        var pred = model.Predict(logits).Span;
        var result = new int[pred.Length];
        for (int i = 0; i < result.Length; i++) result[i] = (int)pred[i];
        return result;
    }
}
