// Fully connected layer: y = x W^T + b, weight [out, in] as in PyTorch.
namespace SegLab.Engine.Nn;

/// <summary>Affine map over the last axis.</summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer with PyTorch's default initialisation.</summary>
    /// <param name="inFeatures">Input size.</param>
    /// <param name="outFeatures">Output size.</param>
    /// <param name="bias">Whether to add a bias.</param>
    /// <param name="rng">Initialisation generator.</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null)
    {
        Weight = RegisterParameter("weight", Init.DefaultWeight([outFeatures, inFeatures], rng));
        if (bias)
        {
            double bound = 1.0 / Math.Sqrt(inFeatures);
            Bias = RegisterParameter("bias", Tensor.Uniform(rng ?? Init.Default, [outFeatures], -bound, bound));
        }
    }

    /// <summary>[out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>[out] or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x)
    {
        var y = Ops.MatMul(x, Ops.Transpose(Weight, 0, 1));
        return Bias is null ? y : Ops.Add(y, Bias);
    }
}
