// Shared plumbing of the attacks (PAPERS.md A.0): input validation, label mapping, per-image slices of flat
// float32 buffers, trace recording and result assembly, so each attack file holds only its algorithm.
using SegLab.Engine;

namespace SegLab.Robustness.Attacks;

/// <summary>One attack invocation's state shared by all attacks.</summary>
public sealed class AttackContext
{
    internal AttackContext(AttackModel model, float[] x0, int[] labels, int n, int h, int w, float eps, IProgress<AttackProgress>? progress, string name)
    {
        Model = model;
        X0 = x0;
        Labels = labels;
        N = n;
        H = h;
        W = w;
        Eps = eps;
        Progress = progress;
        Name = name;
        Trace = Enumerable.Range(0, n).Select(_ => new List<TraceStep>()).ToArray();
    }

    /// <summary>The model.</summary>
    public AttackModel Model { get; }

    /// <summary>Clean images, flat [N, 3, H, W].</summary>
    public float[] X0 { get; }

    /// <summary>Mapped labels (-1 = ignored).</summary>
    public int[] Labels { get; }

    /// <summary>Images.</summary>
    public int N { get; }

    /// <summary>Height.</summary>
    public int H { get; }

    /// <summary>Width.</summary>
    public int W { get; }

    /// <summary>Values per image (3*H*W).</summary>
    public int D => 3 * H * W;

    /// <summary>Radius.</summary>
    public float Eps { get; }

    /// <summary>Progress sink.</summary>
    public IProgress<AttackProgress>? Progress { get; }

    /// <summary>Attack name.</summary>
    public string Name { get; }

    /// <summary>Per-image traces.</summary>
    public List<TraceStep>[] Trace { get; }

    /// <summary>Evaluates iterates with the context's model and labels.</summary>
    /// <param name="x">Iterates.</param>
    /// <param name="loss">Attack loss.</param>
    /// <param name="step">Steps taken.</param>
    /// <param name="total">Total steps.</param>
    /// <param name="gradient">Whether to differentiate.</param>
    /// <param name="tracked">Tracked loss.</param>
    /// <param name="scale">Objective scale.</param>
    public Evaluation Evaluate(float[] x, Losses.IAttackLoss loss, int step, int total, bool gradient, Losses.IAttackLoss? tracked = null, float scale = 1f) =>
        Model.Evaluate(x, Labels, N, H, W, loss, step, total, gradient, tracked, scale);

    /// <summary>Appends one trace entry per image.</summary>
    /// <param name="step">Steps taken.</param>
    /// <param name="ev">The evaluation.</param>
    /// <param name="stepOffset">Added to the step (red-eps stages).</param>
    public void Record(int step, Evaluation ev, int stepOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(ev);
        for (int b = 0; b < N; b++)
            Trace[b].Add(new TraceStep(step + stepOffset, ev.Loss[b], ev.Counts[b].Accuracy, ev.Counts[b].MeanIoU()));
    }

    /// <summary>Image b's slice of a flat buffer.</summary>
    /// <param name="buffer">[N, 3, H, W].</param>
    /// <param name="b">Image.</param>
    public Span<float> Image(float[] buffer, int b) => buffer.AsSpan(b * D, D);

    /// <summary>Copies image b from one buffer to another.</summary>
    /// <param name="from">Source.</param>
    /// <param name="to">Destination.</param>
    /// <param name="b">Image.</param>
    public void CopyImage(float[] from, float[] to, int b) => Image(from, b).CopyTo(Image(to, b));
}

/// <summary>Base class: validates inputs and builds the context; subclasses implement <see cref="Attack"/>.</summary>
public abstract class AttackBase : IAttack
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public AttackResult Run(AttackModel model, Tensor images, int[] labels, float eps, IProgress<AttackProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Rank != 4 || images.Size(1) != 3)
            throw new ArgumentException($"{Name}: images must be [N, 3, H, W], got {Shapes.Format(images.Shape)}.");
        if (!(eps >= 0) || eps > 1) throw new ArgumentException($"{Name}: radius {eps} is not in [0, 1].");
        int n = images.Size(0), h = images.Size(2), w = images.Size(3);
        if (labels.Length != n * h * w)
            throw new ArgumentException($"{Name}: {labels.Length} labels for images {Shapes.Format(images.Shape)} (expected {n * h * w}).");
        var x0 = images.DType == DType.Float32 ? images.ToArray() : images.ToArrayF64().Select(v => (float)v).ToArray();
        foreach (float v in x0)
            if (!(v >= 0f && v <= 1f)) throw new ArgumentException($"{Name}: image values must lie in [0, 1], found {v}.");
        long f0 = model.Forwards, g0 = model.Gradients;
        var ctx = new AttackContext(model, x0, model.MapLabels(labels), n, h, w, eps, progress, Name);
        var (adv, counts, loss) = Attack(ctx);
        return new AttackResult(Name, eps, Tensor.FromArray(adv, n, 3, h, w), counts, loss, ctx.Trace, model.Forwards - f0, model.Gradients - g0);
    }

    /// <summary>The algorithm: adversarial images, their counts and their losses.</summary>
    /// <param name="ctx">Inputs.</param>
    protected abstract (float[] Adversarial, ImageCounts[] Counts, double[] Loss) Attack(AttackContext ctx);
}
