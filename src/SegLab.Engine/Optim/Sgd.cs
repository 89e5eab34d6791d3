// Stochastic gradient descent with momentum (PyTorch's formulation), Nesterov, and decoupled-from-nothing L2 weight decay.
//   g <- grad + wd * p;  v <- mu * v + g;  step = nesterov ? g + mu * v : v;  p <- p - lr * step
using System.Numerics.Tensors;

namespace SegLab.Engine.Optim;

/// <summary>SGD with momentum over float32 parameters, updated in place.</summary>
public sealed class Sgd
{
    private readonly Tensor[] _params;
    private readonly float[]?[] _velocity;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="parameters">Leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum factor (0 disables).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="nesterov">Use Nesterov momentum.</param>
    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double weightDecay = 0, bool nesterov = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _params = parameters.ToArray();
        foreach (var p in _params)
        {
            if (!p.RequiresGrad || !p.IsLeaf || p.DType != DType.Float32)
                throw new ArgumentException($"Sgd: parameter {p} must be a float32 leaf that requires a gradient.");
        }
        _velocity = new float[]?[_params.Length];
        LearningRate = lr;
        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>Current learning rate (schedules set it between steps).</summary>
    public double LearningRate { get; set; }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }

    /// <summary>L2 weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>Applies one update from the parameters' accumulated gradients; parameters without a gradient are skipped.</summary>
    public void Step()
    {
        float lr = (float)LearningRate, mu = (float)Momentum, wd = (float)WeightDecay;
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            if (p.Grad is null) continue;
            var w = p.Span;
            var g = p.Grad.Span.ToArray();
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
    }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _params) p.ZeroGrad();
    }
}
