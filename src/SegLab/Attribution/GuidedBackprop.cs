// Guided backpropagation (Springenberg, Dosovitskiy, Brox, Riedmiller, "Striving for simplicity: the all
// convolutional net", ICLR 2015 workshop, arXiv 1412.6806): the input gradient with every rectifier passing back only
// positive gradients (the engine's BackwardRules.Guided scope, no second model), averaged over the three channels as
// the Lost-in-Context code does with pytorch-grad-cam's GuidedBackpropReLUModel (PAPERS.md B.2). On PReLU models
// (CGNet, ESPNet) the rule applies to PReLU too: see docs/attribution.md for the choice and why.
namespace SegLab.Attribution;

/// <summary>Guided backpropagation: the guided input gradient, mean over channels (signed).</summary>
/// <param name="reluOnly">Apply the rule to ReLUs only (Captum's convention), not to PReLU and LeakyReLU.</param>
public sealed class GuidedBackprop(bool reluOnly = false) : GradientMethod
{
    /// <inheritdoc/>
    public override string Name => reluOnly ? "guided-relu" : "guided";

    /// <inheritdoc/>
    public override InputGradientRule Rule => reluOnly ? InputGradientRule.GuidedReluOnly : InputGradientRule.Guided;

    /// <inheritdoc/>
    protected internal override float Pixel(ReadOnlySpan<float> x, ReadOnlySpan<float> g, AttributionOptions options) => (g[0] + g[1] + g[2]) / 3f;
}
