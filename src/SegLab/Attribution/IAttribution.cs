// The attribution interface (Captum's contract, STYLE.md): Attribute(model, input, target, options) -> map, one
// method per file behind it. Input is one RGB image in [0, 1] ([3, H, W] or [1, 3, H, W]); the map is [H, W] at
// the image's size; every map carries the target score and, for Integrated Gradients, its completeness error.
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Attribution;

/// <summary>An attribution method for segmentation targets ([N, C, H, W] logits) and classifier targets ([N, C] logits).</summary>
public interface IAttribution
{
    /// <summary>Name in results and on the command line (e.g. "ig", "gradcam").</summary>
    string Name { get; }

    /// <summary>The attribution map of <paramref name="target"/> on <paramref name="image"/>.</summary>
    /// <param name="model">The model (eval mode): RGB in [0, 1] in, logits out (a classifier: see RecognitionSide.Wrap).</param>
    /// <param name="image">One image, [3, H, W] or [1, 3, H, W], in [0, 1].</param>
    /// <param name="target">Class and mask of the image's size, or a classifier's class or set of classes.</param>
    /// <param name="options">Settings (null: the defaults).</param>
    AttributionMap Attribute(SegmentationModel model, Tensor image, AttributionTarget target, AttributionOptions? options = null);
}

/// <summary>Baselines of Integrated Gradients.</summary>
public enum IgBaseline
{
    /// <summary>All zeros.</summary>
    Black,

    /// <summary>The image under a Gaussian blur of <see cref="AttributionOptions.BlurSigma"/> pixels.</summary>
    Blurred,

    /// <summary>Every pixel the image's mean colour.</summary>
    MeanColour,

    /// <summary>Uniform noise in [0, 1] (seeded).</summary>
    UniformNoise,
}

/// <summary>Settings of the attribution methods; each method reads those that apply to it.</summary>
public sealed record AttributionOptions
{
    /// <summary>Images per forward/backward pass (IG steps, SmoothGrad samples, Score-CAM masks).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Integrated Gradients steps (midpoint Riemann sum).</summary>
    public int Steps { get; init; } = 32;

    /// <summary>Integrated Gradients baseline.</summary>
    public IgBaseline Baseline { get; init; } = IgBaseline.Black;

    /// <summary>Standard deviation, in pixels, of the blurred baseline.</summary>
    public double BlurSigma { get; init; } = 10;

    /// <summary>SmoothGrad samples.</summary>
    public int Samples { get; init; } = 16;

    /// <summary>SmoothGrad noise level: the noise's standard deviation over the image's value range (max - min).</summary>
    public double NoiseLevel { get; init; } = 0.15;

    /// <summary>Saliency: the signed gradient summed over channels instead of the largest absolute gradient.</summary>
    public bool Signed { get; init; }

    /// <summary>CAM layer as a dotted module path; null: the model's default layer (<see cref="CamLayers.Default"/>).</summary>
    public string? Layer { get; init; }

    /// <summary>Seed of random baselines and noise.</summary>
    public long Seed { get; init; }

    /// <summary>The defaults.</summary>
    public static AttributionOptions Default { get; } = new();

    /// <summary>Checks the settings, naming the first bad one.</summary>
    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"attribution: the batch size must be at least 1, got {BatchSize}.");
        if (Steps < 1) throw new ArgumentException($"attribution: Integrated Gradients needs at least 1 step, got {Steps}.");
        if (Samples < 1) throw new ArgumentException($"attribution: SmoothGrad needs at least 1 sample, got {Samples}.");
        if (!(NoiseLevel >= 0)) throw new ArgumentException($"attribution: the noise level must be at least 0, got {NoiseLevel}.");
        if (!(BlurSigma > 0)) throw new ArgumentException($"attribution: the blur sigma must be positive, got {BlurSigma}.");
    }
}

/// <summary>An attribution map and what was measured with it.</summary>
/// <param name="Method">Method name.</param>
/// <param name="Values">Row-major H*W map.</param>
/// <param name="Height">H.</param>
/// <param name="Width">W.</param>
/// <param name="TargetScore">The target's score on the image (class logit summed over the mask).</param>
public sealed record AttributionMap(string Method, float[] Values, int Height, int Width, double TargetScore)
{
    /// <summary>The CAM layer, or null for input-gradient methods.</summary>
    public string? Layer { get; init; }

    /// <summary>Integrated Gradients: the target score on the baseline.</summary>
    public double? BaselineScore { get; init; }

    /// <summary>Integrated Gradients: sum of the map minus (score - baseline score); null for other methods.</summary>
    public double? CompletenessError { get; init; }

    /// <summary>Forward passes used, counted per image.</summary>
    public int Forwards { get; init; }

    /// <summary>Backward passes used, counted per image.</summary>
    public int Backwards { get; init; }

    /// <summary>The completeness error relative to |score - baseline score| (null where not defined).</summary>
    public double? RelativeCompletenessError => CompletenessError is { } e && BaselineScore is { } b && TargetScore != b
        ? Math.Abs(e) / Math.Abs(TargetScore - b)
        : null;
}
