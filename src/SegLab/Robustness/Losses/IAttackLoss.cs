// The attack-loss interface: per-pixel losses of SEA (Croce, Singh, Hein; arXiv 2306.12941, ECCV'24), SegPGD,
// CosPGD and Halmosi et al. (arXiv 2407.09150), PAPERS.md A.2. The attack maximises the loss. Per-image loss =
// mean over all H*W pixels (ignored pixels contribute 0); batch objective = sum of per-image losses.
namespace SegLab.Robustness.Losses;

/// <summary>A per-pixel attack loss over segmentation logits; the attack maximises it.</summary>
public interface IAttackLoss
{
    /// <summary>Short name used by the CLI and in results (ce, mce, bmce, js, msl, segpgd, cospgd, cos).</summary>
    string Name { get; }

    /// <summary>
    /// Per-image losses (mean over all pixels, ignored pixels 0) and, when <paramref name="gradLogits"/> is not
    /// empty, the gradient of their sum with respect to every logit (0 for channels the loss does not read).
    /// </summary>
    /// <param name="input">Logits, labels and the step index.</param>
    /// <param name="perImage">Receives one loss per image (length = batch).</param>
    /// <param name="gradLogits">Empty, or [N, Channels, Pixels] receiving d(sum of per-image losses) / d logits.</param>
    void Evaluate(in LossInput input, Span<double> perImage, Span<float> gradLogits);
}

/// <summary>What a loss sees: planar logits, labels with -1 for ignored pixels, and the attack's step index.</summary>
public readonly ref struct LossInput
{
    /// <summary>Wraps the inputs of one loss evaluation.</summary>
    /// <param name="logits">[N, channels, pixels], the model's output.</param>
    /// <param name="labels">[N, pixels], class ids in [0, classes) or -1 for ignored pixels.</param>
    /// <param name="batch">Images N.</param>
    /// <param name="channels">Output channels of the model (the logits' stride).</param>
    /// <param name="classes">Leading channels the loss reads (softmax, argmax and masks use only these).</param>
    /// <param name="pixels">H*W.</param>
    /// <param name="step">Steps taken before this evaluation (0 at the start point).</param>
    /// <param name="totalSteps">Steps of the attack (SegPGD's schedule).</param>
    public LossInput(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int batch, int channels, int classes, int pixels, int step = 0, int totalSteps = 1)
    {
        if (classes < 1 || classes > channels)
            throw new ArgumentException($"attack loss: {classes} loss classes do not fit {channels} output channels.");
        if (logits.Length != (long)batch * channels * pixels)
            throw new ArgumentException($"attack loss: logits have {logits.Length} values, expected {batch}x{channels}x{pixels}.");
        if (labels.Length != (long)batch * pixels)
            throw new ArgumentException($"attack loss: labels have {labels.Length} values, expected {batch}x{pixels}.");
        Logits = logits;
        Labels = labels;
        Batch = batch;
        Channels = channels;
        Classes = classes;
        Pixels = pixels;
        Step = step;
        TotalSteps = Math.Max(1, totalSteps);
    }

    /// <summary>[N, Channels, Pixels] logits.</summary>
    public ReadOnlySpan<float> Logits { get; }

    /// <summary>[N, Pixels] labels, -1 = ignored.</summary>
    public ReadOnlySpan<int> Labels { get; }

    /// <summary>Images.</summary>
    public int Batch { get; }

    /// <summary>Output channels (stride of the logits).</summary>
    public int Channels { get; }

    /// <summary>Channels the loss reads.</summary>
    public int Classes { get; }

    /// <summary>Pixels per image.</summary>
    public int Pixels { get; }

    /// <summary>Steps taken before this evaluation.</summary>
    public int Step { get; }

    /// <summary>Total steps of the attack.</summary>
    public int TotalSteps { get; }
}
