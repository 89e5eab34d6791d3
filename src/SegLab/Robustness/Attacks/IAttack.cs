// The attack interface (torchattacks/AutoAttack shape: one attack per file behind one interface) for L-inf
// attacks on segmentation (PAPERS.md A.0): images [N,3,H,W] in [0,1], labels, a radius; adversarial images,
// their per-image pixel counts and a per-image trace of every iterate come back.
using SegLab.Engine;

namespace SegLab.Robustness.Attacks;

/// <summary>An L-inf attack on a segmentation model.</summary>
public interface IAttack
{
    /// <summary>Name in results (e.g. "apgd-mce", "padam-cos").</summary>
    string Name { get; }

    /// <summary>Attacks a batch.</summary>
    /// <param name="model">The model.</param>
    /// <param name="images">[N, 3, H, W] in [0, 1].</param>
    /// <param name="labels">[N*H*W] dataset labels (the model's ignore value for ignored pixels).</param>
    /// <param name="eps">L-inf radius.</param>
    /// <param name="progress">Step reports, or null.</param>
    AttackResult Run(AttackModel model, Tensor images, int[] labels, float eps, IProgress<AttackProgress>? progress = null);
}

/// <summary>Progress of one attack.</summary>
/// <param name="Attack">Attack name.</param>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps of the attack.</param>
public readonly record struct AttackProgress(string Attack, int Step, int TotalSteps);

/// <summary>One iterate of one image.</summary>
/// <param name="Step">Steps taken (0 = start point).</param>
/// <param name="Loss">Attack loss (mean over all pixels, ignored pixels 0).</param>
/// <param name="Accuracy">Pixel accuracy over valid pixels, in [0, 1].</param>
/// <param name="MeanIoU">Image mIoU over classes with a non-empty union, in [0, 1].</param>
public readonly record struct TraceStep(int Step, double Loss, double Accuracy, double MeanIoU);

/// <summary>What an attack returns.</summary>
/// <param name="Attack">Attack name.</param>
/// <param name="Eps">Radius.</param>
/// <param name="Adversarial">[N, 3, H, W] adversarial images (inside the ball and [0, 1]).</param>
/// <param name="Counts">Per-image pixel counts of the prediction on the returned images.</param>
/// <param name="Loss">Per-image attack loss of the returned images.</param>
/// <param name="Trace">Per image, every evaluated iterate.</param>
/// <param name="Forwards">Forward passes used.</param>
/// <param name="Gradients">Input-gradient passes used.</param>
public sealed record AttackResult(string Attack, float Eps, Tensor Adversarial, ImageCounts[] Counts, double[] Loss,
    IReadOnlyList<TraceStep>[] Trace, long Forwards, long Gradients);
