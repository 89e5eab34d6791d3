// Containers: Sequential (children "0", "1", ... run in order) and a function wrapper for parameter-free steps.
namespace SegLab.Engine.Nn;

/// <summary>Runs its children in order; children are named "0", "1", ... as in PyTorch.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Creates the container.</summary>
    /// <param name="layers">The layers, in order.</param>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var l in layers) Add(l);
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>Layer <paramref name="i"/>.</summary>
    /// <param name="i">Index.</param>
    public Module this[int i] => _layers[i];

    /// <summary>Appends a layer named by its index.</summary>
    /// <param name="layer">The layer.</param>
    public Sequential Add(Module layer)
    {
        _layers.Add(RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer));
        return this;
    }

    /// <inheritdoc/>
    /// <remarks>A BatchNorm2d followed by a ReLU runs as one fused operation (<see cref="BatchNorm2d.ForwardRelu"/>): same values, one tensor fewer.</remarks>
    protected override Tensor ForwardCore(Tensor x)
    {
        var input = x;
        for (int i = 0; i < _layers.Count; i++)
        {
            var previous = x;
            if (_layers[i] is BatchNorm2d bn && i + 1 < _layers.Count && _layers[i + 1] is Activation { Kind: "ReLU" } relu)
            {
                x = relu.Produced(bn.ForwardRelu(x));
                i++;
            }
            else x = _layers[i].Forward(x);
            ReleaseIntermediate(previous, x, input);
        }
        return x;
    }
}

/// <summary>A parameter-free step given as a function (activations, reshapes).</summary>
/// <param name="fn">The function.</param>
public sealed class Lambda(Func<Tensor, Tensor> fn) : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => fn(x);
}
