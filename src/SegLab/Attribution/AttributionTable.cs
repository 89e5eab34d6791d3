// The attribution methods by name (explicit name-to-factory table): what `seglab explain --method NAME` builds.
// Guided backpropagation is not here yet: see docs/attribution.md for what the engine would need.
namespace SegLab.Attribution;

/// <summary>Known attribution methods.</summary>
public static class AttributionTable
{
    /// <summary>Every method name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["saliency", "gxi", "ig", "smoothgrad", "gradcam", "gradcam++", "layercam", "scorecam"];

    /// <summary>The method named <paramref name="name"/>, or an error listing the known ones.</summary>
    /// <param name="name">Method name (case-insensitive).</param>
    public static IAttribution Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "saliency" => new Saliency(),
            "gxi" or "gradient-x-input" => new GradientXInput(),
            "ig" or "integrated-gradients" => new IntegratedGradients(),
            "smoothgrad" => new SmoothGrad(new Saliency()),
            "gradcam" => new GradCam(),
            "gradcam++" or "gradcampp" => new GradCamPlusPlus(),
            "layercam" => new LayerCam(),
            "scorecam" => new ScoreCam(),
            _ => throw new ArgumentException($"Unknown attribution method '{name}'. Known methods: {string.Join(", ", Names)}."),
        };
    }

    /// <summary>Whether the method named <paramref name="name"/> reads a CAM layer.</summary>
    /// <param name="name">A known method name.</param>
    public static bool UsesLayer(string name) => Create(name) is CamBase;
}
