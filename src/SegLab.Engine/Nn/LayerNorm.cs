// Layer normalisation over the last axis as a module: weight [D] (ones) and bias [D] (zeros) under PyTorch's names.
namespace SegLab.Engine.Nn;

/// <summary>PyTorch's nn.LayerNorm(D) with elementwise affine parameters.</summary>
public sealed class LayerNorm : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="features">Size D of the normalised last axis.</param>
    /// <param name="eps">Added to the variance.</param>
    public LayerNorm(int features, double eps = 1e-5)
    {
        if (features < 1) throw new ArgumentException($"LayerNorm: features must be >= 1, got {features}.");
        Eps = eps;
        Weight = RegisterParameter("weight", Tensor.Ones(features));
        Bias = RegisterParameter("bias", Tensor.Zeros(features));
    }

    /// <summary>[D].</summary>
    public Tensor Weight { get; }

    /// <summary>[D].</summary>
    public Tensor Bias { get; }

    /// <summary>Variance epsilon.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Ops.LayerNorm(x, Weight, Bias, Eps);
}
