// Stochastic gradient descent with momentum (PyTorch's formulation), Nesterov, and L2 weight decay added to the gradient.
//   g <- grad + wd * p;  v <- mu * v + g (v = g on the first step);  step = nesterov ? g + mu * v : v;  p <- p - lr * step
using System.Numerics.Tensors;

namespace SegLab.Engine.Optim;

/// <summary>SGD with momentum over float32 parameters, updated in place.</summary>
public sealed class Sgd : IOptimizer
{
    private readonly Tensor[] _params;
    private float[]?[] _velocity;
    private readonly float[]?[] _scratch;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="parameters">Leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum factor (0 disables).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="nesterov">Use Nesterov momentum (needs momentum &gt; 0).</param>
    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double weightDecay = 0, bool nesterov = false)
    {
        _params = OptimizerState.CheckParameters("Sgd", parameters);
        if (lr < 0 || momentum < 0 || weightDecay < 0)
            throw new ArgumentException($"Sgd: lr ({lr}), momentum ({momentum}) and weight decay ({weightDecay}) must be non-negative.");
        if (nesterov && momentum == 0) throw new ArgumentException("Sgd: Nesterov momentum needs momentum > 0.");
        _velocity = new float[]?[_params.Length];
        _scratch = new float[]?[_params.Length];
        LearningRate = lr;
        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <inheritdoc/>
    public double LearningRate { get; set; }

    /// <inheritdoc/>
    public long Steps { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyList<Tensor> Parameters => _params;

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }

    /// <summary>L2 weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public void Step()
    {
        float lr = (float)LearningRate, mu = (float)Momentum, wd = (float)WeightDecay;
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            if (p.Grad is null) continue;
            var w = p.Span;
            // The update works on a copy of the gradient (weight decay and momentum are folded into it), kept
            // per parameter across steps: a fresh copy every step was about 5 MB of new pages per DeepLabV3 step.
            var g = _scratch[i] is { } sc && sc.Length == w.Length ? sc : _scratch[i] = new float[w.Length];
            p.Grad.Span.CopyTo(g);
            if (wd != 0) TensorPrimitives.MultiplyAdd(w, wd, g, g);
            if (mu != 0)
            {
                var v = _velocity[i];
                if (v is null) _velocity[i] = v = (float[])g.Clone();
                else TensorPrimitives.MultiplyAdd(v, mu, g, v);
                if (Nesterov) TensorPrimitives.MultiplyAdd(v, mu, g, g);
                else v.CopyTo(g, 0);
            }
            TensorPrimitives.MultiplyAdd(g, -lr, w, w);
        }
        Steps++;
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
        OptimizerState.Export(d, "momentum_buffer", _velocity, _params);
        return d;
    }

    /// <inheritdoc/>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        long steps = OptimizerState.ReadStep(state, "Sgd", source);
        _velocity = OptimizerState.Import(state, ["momentum_buffer"], _params, "Sgd", source)[0];
        Steps = steps;
    }
}
