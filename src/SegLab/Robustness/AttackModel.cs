// A segmentation model as an attack sees it (PAPERS.md A.0): RGB in [0,1] in, logits out, the preprocessing
// inside; one evaluation = one forward pass (+ one input-gradient pass when asked), the per-image loss, the
// tracked loss, and the per-image pixel counts of the prediction. Counts forwards and gradient sanity for reports.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Models;
using SegLab.Robustness.Losses;

namespace SegLab.Robustness;

/// <summary>Which logits the attack losses read.</summary>
public enum LossLogits
{
    /// <summary>The first NumClasses outputs: the logits the prediction is the argmax of (SEA/Halmosi convention for ESPNet's extra void output).</summary>
    Scored,

    /// <summary>Every output channel (the PGD reference's CE over ESPNet's 12 logits); masks then use the argmax over all outputs.</summary>
    All,
}

/// <summary>One evaluation of a batch of iterates.</summary>
/// <param name="Loss">Per-image attack loss (mean over pixels).</param>
/// <param name="Tracked">Per-image tracked loss (the attack loss when none is given).</param>
/// <param name="Grad">d(sum of per-image losses * scale) / d image, or null.</param>
/// <param name="Counts">Per-image pixel counts of the prediction.</param>
public sealed record Evaluation(double[] Loss, double[] Tracked, float[]? Grad, ImageCounts[] Counts);

/// <summary>Wraps a <see cref="SegmentationModel"/> for attacks: label mapping, loss logits, evaluation, counters.</summary>
public sealed class AttackModel
{
    /// <summary>Wraps a model.</summary>
    /// <param name="model">The model (eval mode).</param>
    /// <param name="ignoreIndex">Label value of ignored pixels (CamVid: 11 = void).</param>
    /// <param name="lossLogits">Which logits the losses read.</param>
    public AttackModel(SegmentationModel model, int ignoreIndex, LossLogits lossLogits = LossLogits.Scored)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        IgnoreIndex = ignoreIndex;
        LossLogits = lossLogits;
    }

    /// <summary>The model.</summary>
    public SegmentationModel Model { get; }

    /// <summary>Label value of ignored pixels.</summary>
    public int IgnoreIndex { get; }

    /// <summary>Which logits the losses read.</summary>
    public LossLogits LossLogits { get; }

    /// <summary>Scored classes.</summary>
    public int NumClasses => Model.NumClasses;

    /// <summary>Forward passes so far.</summary>
    public long Forwards { get; private set; }

    /// <summary>Input-gradient passes so far.</summary>
    public long Gradients { get; private set; }

    /// <summary>Per-image gradients that were entirely zero.</summary>
    public long ZeroGradients { get; private set; }

    /// <summary>Per-image gradients with a NaN or infinite element.</summary>
    public long NonFiniteGradients { get; private set; }

    /// <summary>Labels with the ignore value (and nothing else outside [0, NumClasses)) mapped to -1.</summary>
    /// <param name="raw">Dataset labels.</param>
    public int[] MapLabels(ReadOnlySpan<int> raw)
    {
        var r = new int[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            int y = raw[i];
            if (y == IgnoreIndex || y < 0) r[i] = -1;
            else if (y >= NumClasses)
                throw new ArgumentException($"attack: label {y} at pixel {i} is neither one of the model's {NumClasses} classes nor the ignore value {IgnoreIndex}.");
            else r[i] = y;
        }
        return r;
    }

    /// <summary>Logits [N, C, H, W] of images [N, 3, H, W] without recording gradients.</summary>
    /// <param name="x">Images.</param>
    /// <param name="n">N.</param>
    /// <param name="h">H.</param>
    /// <param name="w">W.</param>
    public float[] Logits(float[] x, int n, int h, int w)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin(); // copied out below; the next forward reuses the storage
        Forwards++;
        return Model.Forward(Tensor.FromArray((float[])x.Clone(), n, 3, h, w)).ToArray();
    }

    /// <summary>Predicted class per pixel (argmax over the first NumClasses logits, first maximum).</summary>
    /// <param name="logits">[N, C, pixels].</param>
    /// <param name="n">N.</param>
    /// <param name="pixels">H*W.</param>
    public int[] Predict(ReadOnlySpan<float> logits, int n, int pixels)
    {
        int c = logits.Length / Math.Max(1, n * pixels), k = NumClasses;
        var pred = new int[n * pixels];
        for (int b = 0; b < n; b++)
        {
            var l = logits.Slice(b * c * pixels, c * pixels);
            var best = new float[pixels];
            l[..pixels].CopyTo(best);
            var p = pred.AsSpan(b * pixels, pixels);
            for (int j = 1; j < k; j++)
            {
                var plane = l.Slice(j * pixels, pixels);
                for (int i = 0; i < pixels; i++)
                    if (plane[i] > best[i]) { best[i] = plane[i]; p[i] = j; }
            }
        }
        return pred;
    }

    /// <summary>One forward (and input-gradient) evaluation of a batch of iterates.</summary>
    /// <param name="x">Images [N, 3, H, W] in [0, 1].</param>
    /// <param name="labels">Mapped labels [N, H, W] (-1 = ignored).</param>
    /// <param name="n">N.</param>
    /// <param name="h">H.</param>
    /// <param name="w">W.</param>
    /// <param name="loss">Attack loss.</param>
    /// <param name="step">Steps taken before this evaluation.</param>
    /// <param name="totalSteps">The attack's steps.</param>
    /// <param name="gradient">Whether to compute the input gradient.</param>
    /// <param name="tracked">A second loss to report (APGD's tracked loss), or null.</param>
    /// <param name="objectiveScale">Factor on the batch objective before differentiation (PAdam's mean over the batch).</param>
    public Evaluation Evaluate(float[] x, int[] labels, int n, int h, int w, IAttackLoss loss, int step, int totalSteps, bool gradient,
        IAttackLoss? tracked = null, float objectiveScale = 1f)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(loss);
        int pixels = h * w;
        var xt = Tensor.FromArray((float[])x.Clone(), n, 3, h, w);
        // Only arrays leave this method (losses, counts, a copy of the gradient): a gradient evaluation's forward
        // runs in the storage the previous one left (TensorScope.BeginTraining) instead of fresh pages.
        using var scope = gradient ? TensorScope.BeginTraining() : null;
        Tensor logits;
        if (gradient)
        {
            using var _ = GradMode.EnableGrad();
            xt.RequiresGrad = true;
            logits = Model.Forward(xt);
        }
        else
        {
            using var _ = GradMode.NoGrad();
            logits = Model.Forward(xt);
        }
        Forwards++;
        if (logits.Rank != 4 || logits.Size(0) != n || logits.Size(2) != h || logits.Size(3) != w || logits.Size(1) < NumClasses)
            throw new InvalidOperationException($"attack: model {Model.Name} returned logits {Shapes.Format(logits.Shape)} for images [{n}, 3, {h}, {w}].");
        int channels = logits.Size(1);
        int classes = LossLogits == LossLogits.Scored ? NumClasses : channels;
        var span = logits.Span;
        var input = new LossInput(span, labels, n, channels, classes, pixels, step, totalSteps);
        var perImage = new double[n];
        float[]? gradLogits = gradient ? new float[span.Length] : null;
        loss.Evaluate(input, perImage, gradLogits);
        double[] trackedLoss = perImage;
        if (tracked is not null && !ReferenceEquals(tracked, loss))
        {
            trackedLoss = new double[n];
            tracked.Evaluate(input, trackedLoss, default);
        }
        var pred = Predict(span, n, pixels);
        var counts = new ImageCounts[n];
        for (int b = 0; b < n; b++)
            counts[b] = ImageCounts.Compute(pred.AsSpan(b * pixels, pixels), labels.AsSpan(b * pixels, pixels), NumClasses);
        float[]? gx = null;
        if (gradLogits is not null)
        {
            if (objectiveScale != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(gradLogits, objectiveScale, gradLogits);
            gx = Tape.Grad(logits, [xt], Tensor.FromArray(gradLogits, logits.ShapeArray()))[0].ToArray();
            Gradients++;
            CheckGradients(gx, n);
        }
        return new Evaluation(perImage, trackedLoss, gx, counts);
    }

    private void CheckGradients(float[] g, int n)
    {
        int d = g.Length / n;
        for (int b = 0; b < n; b++)
        {
            var s = g.AsSpan(b * d, d);
            bool zero = true, finite = true;
            foreach (float v in s)
            {
                if (v != 0) zero = false;
                if (!float.IsFinite(v)) finite = false;
            }
            if (zero) ZeroGradients++;
            if (!finite) NonFiniteGradients++;
        }
    }
}
