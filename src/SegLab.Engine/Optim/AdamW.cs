// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019) in PyTorch's formulation:
//   p <- p * (1 - lr * wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
namespace SegLab.Engine.Optim;

/// <summary>Adam with decoupled weight decay over float32 parameters, updated in place.</summary>
public sealed class AdamW : IOptimizer
{
    private readonly Tensor[] _params;
    private float[]?[] _m;
    private float[]?[] _v;

    /// <summary>Creates the optimizer (PyTorch's defaults).</summary>
    /// <param name="parameters">Leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">First-moment decay.</param>
    /// <param name="beta2">Second-moment decay.</param>
    /// <param name="eps">Added to the denominator.</param>
    /// <param name="weightDecay">Decoupled weight decay (multiplies the weights by 1 - lr * wd each step).</param>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
    {
        _params = OptimizerState.CheckParameters("AdamW", parameters);
        if (lr < 0 || weightDecay < 0 || eps <= 0 || beta1 is < 0 or >= 1 || beta2 is < 0 or >= 1)
            throw new ArgumentException($"AdamW: need lr >= 0 ({lr}), wd >= 0 ({weightDecay}), eps > 0 ({eps}), betas in [0, 1) ({beta1}, {beta2}).");
        _m = new float[]?[_params.Length];
        _v = new float[]?[_params.Length];
        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    /// <inheritdoc/>
    public double LearningRate { get; set; }

    /// <inheritdoc/>
    public long Steps { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyList<Tensor> Parameters => _params;

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; }

    /// <summary>Denominator epsilon.</summary>
    public double Eps { get; }

    /// <summary>Decoupled weight decay.</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public void Step()
    {
        long t = Steps + 1;
        double bc1 = 1 - Math.Pow(Beta1, t), bc2 = 1 - Math.Pow(Beta2, t);
        float stepSize = (float)(LearningRate / bc1), bc2Sqrt = (float)Math.Sqrt(bc2);
        float decay = (float)(1 - LearningRate * WeightDecay);
        float b1 = (float)Beta1, b2 = (float)Beta2, eps = (float)Eps;
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            if (p.Grad is null) continue;
            var w = p.Span;
            var g = p.Grad.Span;
            var m = _m[i] ??= new float[w.Length];
            var v = _v[i] ??= new float[w.Length];
            for (int j = 0; j < w.Length; j++)
            {
                float gj = g[j];
                m[j] = b1 * m[j] + (1 - b1) * gj;
                v[j] = b2 * v[j] + (1 - b2) * gj * gj;
                float denom = MathF.Sqrt(v[j]) / bc2Sqrt + eps;
                w[j] = w[j] * decay - stepSize * m[j] / denom;
            }
        }
        Steps = t;
    }

    /// <inheritdoc/>
    public void ZeroGrad()
    {
        foreach (var p in _params) p.RecycleGrad();
    }

    /// <inheritdoc/>
    public Dictionary<string, Tensor> ExportState()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["step"] = Tensor.FromArray(new double[] { Steps }) };
        OptimizerState.Export(d, "exp_avg", _m, _params);
        OptimizerState.Export(d, "exp_avg_sq", _v, _params);
        return d;
    }

    /// <inheritdoc/>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        long steps = OptimizerState.ReadStep(state, "AdamW", source);
        var b = OptimizerState.Import(state, ["exp_avg", "exp_avg_sq"], _params, "AdamW", source);
        for (int i = 0; i < _params.Length; i++)
            if ((b[0][i] is null) != (b[1][i] is null))
                throw new FormatException($"AdamW state{(source is null ? "" : $" in '{source}'")}: parameter {i} has only one of exp_avg and exp_avg_sq.");
        (_m, _v, Steps) = (b[0], b[1], steps);
    }
}
