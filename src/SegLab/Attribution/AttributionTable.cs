// The attribution methods by name (explicit name-to-factory table): what `seglab explain --method NAME` builds.
namespace SegLab.Attribution;

/// <summary>Known attribution methods.</summary>
public static class AttributionTable
{
    /// <summary>Every method name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["saliency", "gxi", "ig", "smoothgrad", "guided", "gradcam", "gradcam++", "layercam", "scorecam", "guided-gradcam"];

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
            "guided" or "guided-backprop" or "guidedbackprop" => new GuidedBackprop(),
            "gradcam" => new GradCam(),
            "gradcam++" or "gradcampp" => new GradCamPlusPlus(),
            "layercam" => new LayerCam(),
            "scorecam" => new ScoreCam(),
            "guided-gradcam" or "guidedgradcam" => new GuidedGradCam(),
            _ => throw new ArgumentException($"Unknown attribution method '{name}'. Known methods: {string.Join(", ", Names)}."),
        };
    }

    /// <summary>Whether the method named <paramref name="name"/> reads a CAM layer.</summary>
    /// <param name="name">A known method name.</param>
    public static bool UsesLayer(string name) => Create(name) is CamBase;

    /// <summary>The names of the methods that read a CAM layer.</summary>
    public static IReadOnlyList<string> LayerMethods => [.. Names.Where(UsesLayer)];
}
