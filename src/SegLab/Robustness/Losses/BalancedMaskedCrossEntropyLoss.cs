// Balanced masked cross-entropy, L = w_y * 1[argmax u = y] * CE (SEA, arXiv 2306.12941, sections 3.2/3.4;
// PAPERS.md A.2): class weights proportional to 1/N_c over the training set, normalised to sum 1
// (SEA's VOC_WTS / ADE_WTS), used as given with no renormalisation over the image.
namespace SegLab.Robustness.Losses;

/// <summary>Balanced masked cross-entropy (SEA's L_MCE-Bal).</summary>
public sealed class BalancedMaskedCrossEntropyLoss : PixelLoss
{
    private readonly float[] _weights;

    /// <summary>Creates the loss with fixed class weights (see <see cref="ClassWeights"/>).</summary>
    /// <param name="weights">One weight per loss class (at least as many as the classes the loss reads).</param>
    public BalancedMaskedCrossEntropyLoss(IReadOnlyList<double> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count == 0) throw new ArgumentException("bmce loss: no class weights.");
        _weights = new float[weights.Count];
        for (int i = 0; i < weights.Count; i++)
        {
            if (!double.IsFinite(weights[i]) || weights[i] < 0)
                throw new ArgumentException($"bmce loss: class weight {i} is {weights[i]}; weights must be finite and non-negative.");
            _weights[i] = (float)weights[i];
        }
    }

    /// <summary>The class weights.</summary>
    public IReadOnlyList<float> Weights => _weights;

    /// <inheritdoc/>
    public override string Name => "bmce";

    /// <inheritdoc/>
    protected override float Pixel(in PixelView v, Span<float> du)
    {
        if (v.Y >= _weights.Length)
            throw new ArgumentException($"bmce loss: label {v.Y} has no class weight ({_weights.Length} weights given).");
        float w = v.Correct ? _weights[v.Y] : 0f;
        CrossEntropyGradient(v, w, du);
        return w * -v.LogPy;
    }
}
