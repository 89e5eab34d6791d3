// One forward pass of a batch of images with a target, and the gradients of the target score with respect to the
// input and, when a layer is named, to that module's output (captured with FeatureCapture; no hooks needed): the
// primitive every method here is built from. The score's gradient on the logits is the mask on the class plane (a
// segmentation model's [N, C, H, W]) or ones at the target's classes (a classifier's [N, C]), so it seeds the backward
// pass directly; no graph of the score is built.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>Results of one pass over a batch of N images.</summary>
/// <param name="Scores">Per-image target score.</param>
/// <param name="InputGrad">d score / d input, [N, 3, H, W], or null when not asked.</param>
/// <param name="Activation">The layer's output [N, K, h, w], or null.</param>
/// <param name="ActivationGrad">d score / d layer output, or null.</param>
/// <param name="ActivationShape">[N, K, h, w] of the layer, or null.</param>
internal sealed record PassResult(double[] Scores, float[]? InputGrad, float[]? Activation, float[]? ActivationGrad, int[]? ActivationShape);

/// <summary>Writes image <paramref name="index"/> of a batch, planar [3, H, W].</summary>
internal delegate void ImageFill(int index, Span<float> image);

/// <summary>Reads image <paramref name="index"/> and its input gradient d score / d image, both planar [3, H, W].</summary>
internal delegate void GradientUse(int index, ReadOnlySpan<float> image, ReadOnlySpan<float> grad);

/// <summary>Forward and backward passes of attribution targets.</summary>
internal static class GradientPass
{
    /// <summary>The checks every method starts with: arguments, options (null: the defaults) and the image as planar floats.</summary>
    public static (AttributionOptions Options, float[] Pixels, int Height, int Width) Begin(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        options ??= AttributionOptions.Default;
        options.Validate();
        var (x, h, w) = Image(image);
        return (options, x, h, w);
    }

    /// <summary>
    /// Input gradients of <paramref name="count"/> images, <paramref name="batchSize"/> per forward/backward pass:
    /// <paramref name="fill"/> writes each image (in index order), <paramref name="use"/> reads it with its gradient.
    /// Returns the passes' target scores, one per image.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="count">Images.</param>
    /// <param name="batchSize">Images per pass.</param>
    /// <param name="h">H.</param>
    /// <param name="w">W.</param>
    /// <param name="target">The target.</param>
    /// <param name="rule">Ordinary or guided input gradients.</param>
    /// <param name="fill">Writes image i.</param>
    /// <param name="use">Reads image i and its gradient.</param>
    public static double[] InputGradients(SegmentationModel model, int count, int batchSize, int h, int w, AttributionTarget target, InputGradientRule rule, ImageFill fill, GradientUse use)
    {
        int d = 3 * h * w;
        var scores = new double[count];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var batch = new float[n * d];
            for (int b = 0; b < n; b++) fill(start + b, batch.AsSpan(b * d, d));
            var pass = Run(model, batch, n, h, w, target, inputGrad: true, layer: null, rule: rule);
            for (int b = 0; b < n; b++) use(start + b, batch.AsSpan(b * d, d), pass.InputGrad!.AsSpan(b * d, d));
            pass.Scores.CopyTo(scores, start);
        }
        return scores;
    }

    /// <summary>The image as planar [3, H, W] floats, with its size.</summary>
    public static (float[] Pixels, int Height, int Width) Image(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        bool ok = (image.Rank == 3 && image.Size(0) == 3) || (image.Rank == 4 && image.Size(0) == 1 && image.Size(1) == 3);
        if (!ok) throw new ArgumentException($"attribution: the image must be [3, H, W] or [1, 3, H, W], got {Shapes.Format(image.Shape)}.");
        return (image.ToArray(), image.Size(image.Rank - 2), image.Size(image.Rank - 1));
    }

    /// <summary>Runs N images, returning scores and the gradients asked for.</summary>
    /// <param name="model">The model.</param>
    /// <param name="images">[N, 3, H, W] planar (not modified).</param>
    /// <param name="n">N.</param>
    /// <param name="h">H.</param>
    /// <param name="w">W.</param>
    /// <param name="target">The target.</param>
    /// <param name="inputGrad">Whether to return d score / d input.</param>
    /// <param name="layer">A module path whose output and gradient to return, or null.</param>
    /// <param name="backward">False: a forward pass only (no gradient recorded).</param>
    /// <param name="rule">
    /// The input gradient's rule: ordinary, or guided backpropagation (<see cref="BackwardRules.Guided"/>); under a
    /// guided rule the layer's gradient, when asked too, stays the ordinary one (a second backward pass over the same
    /// forward).
    /// </param>
    public static PassResult Run(SegmentationModel model, float[] images, int n, int h, int w, AttributionTarget target,
        bool inputGrad, string? layer, bool backward = true, InputGradientRule rule = InputGradientRule.Gradient)
    {
        var x = Tensor.FromArray((float[])images.Clone(), n, 3, h, w);
        Tensor logits;
        Tensor? act;
        if (backward)
        {
            using var _ = GradMode.EnableGrad();
            x.RequiresGrad = true;
            (logits, act) = Forward(model, x, layer);
        }
        else
        {
            using var _ = GradMode.NoGrad();
            (logits, act) = Forward(model, x, layer);
        }
        // A segmentation model gives [N, C, H, W], a classifier [N, C]; the target says which it scores.
        bool classifier = logits.Rank == 2 && logits.Size(0) == n;
        if (!classifier && (logits.Rank != 4 || logits.Size(0) != n || logits.Size(2) != h || logits.Size(3) != w))
            throw new InvalidOperationException($"attribution: model {model.Name} returned logits {Shapes.Format(logits.Shape)} for images [{n}, 3, {h}, {w}] (expected [N, C, H, W] or a classifier's [N, C]).");
        if (classifier != target.IsClassifier)
            throw new ArgumentException(classifier
                ? $"attribution: model {model.Name} is a classifier (logits {Shapes.Format(logits.Shape)}) but the target ({target}) is a segmentation mask; give a class target (AttributionTarget.ForClass)."
                : $"attribution: the target ({target}) is a classifier's class but model {model.Name} segments (logits {Shapes.Format(logits.Shape)}); give a class and a mask.");
        int c = logits.Size(1);
        target.CheckFits(c, h, w);
        if (act is not null && act.Rank != 4)
            throw new ArgumentException($"attribution: layer '{layer}' outputs {Shapes.Format(act.Shape)}, not a feature map [N, K, h, w]; name a convolutional layer.");
        var span = logits.Span;
        int per = classifier ? c : c * h * w;
        var scores = new double[n];
        for (int b = 0; b < n; b++) scores[b] = target.Score(span.Slice(b * per, per));
        if (!backward) return new PassResult(scores, null, act?.ToArray(), null, act?.ShapeArray());
        var seed = new float[span.Length];
        for (int b = 0; b < n; b++) target.Seed(seed.AsSpan(b * per, per));
        var seedTensor = Tensor.FromArray(seed, logits.ShapeArray());
        if (rule != InputGradientRule.Gradient && inputGrad)
        {
            // The layer's ordinary gradient first, keeping the graph; then the guided input gradient.
            float[]? gl = act is null ? null : Tape.Grad(logits, [act], seedTensor, retainGraph: true)[0].ToArray();
            float[] gg;
            using (BackwardRules.Guided(reluOnly: rule == InputGradientRule.GuidedReluOnly)) gg = Tape.Grad(logits, [x], Tensor.FromArray((float[])seed.Clone(), logits.ShapeArray()))[0].ToArray();
            return new PassResult(scores, gg, act?.ToArray(), gl, act?.ShapeArray());
        }
        var wanted = new List<Tensor>();
        if (inputGrad) wanted.Add(x);
        if (act is not null) wanted.Add(act);
        if (wanted.Count == 0) return new PassResult(scores, null, null, null, null);
        var grads = Tape.Grad(logits, wanted, seedTensor);
        float[]? gx = inputGrad ? grads[0].ToArray() : null;
        float[]? ga = act is not null ? grads[^1].ToArray() : null;
        return new PassResult(scores, gx, act?.ToArray(), ga, act?.ShapeArray());
    }

    private static (Tensor Logits, Tensor? Activation) Forward(SegmentationModel model, Tensor x, string? layer)
    {
        using var cap = layer is null ? null : CamLayers.Start(model, layer);
        var logits = model.Forward(x);
        return (logits, cap is null ? null : cap[layer!]);
    }

    /// <summary>Target scores of N images (forward only).</summary>
    public static double[] Scores(SegmentationModel model, float[] images, int n, int h, int w, AttributionTarget target) =>
        Run(model, images, n, h, w, target, inputGrad: false, layer: null, backward: false).Scores;
}
