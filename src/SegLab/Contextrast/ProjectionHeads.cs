// Contextrast projection heads (PAPERS.md E.1): one conv1x1-BN-ReLU-conv1x1 head per encoder stage, mapping the
// stage's features to d-dimensional, l2-normalised pixel embeddings (the ContrastiveSeg design; the sources do not
// specify the head). The heads are a module of their own, never registered in the segmentation network: the saved
// model has exactly the baseline's parameters and inference cost.
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Contextrast;

/// <summary>Projection heads, child "{i}" for stage i (shallow to deep).</summary>
public sealed class ProjectionHeads : Module
{
    private readonly Sequential[] _heads;

    /// <summary>Creates one head per stage.</summary>
    /// <param name="inChannels">Channels of each stage's features.</param>
    /// <param name="dim">Embedding dimension d.</param>
    /// <param name="hidden">Hidden channels (0: d).</param>
    /// <param name="rng">Initialisation generator.</param>
    public ProjectionHeads(IReadOnlyList<int> inChannels, int dim, int hidden, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(inChannels);
        int hid = hidden > 0 ? hidden : dim;
        _heads = new Sequential[inChannels.Count];
        for (int i = 0; i < _heads.Length; i++)
            _heads[i] = RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new Sequential(
                new Conv2d(inChannels[i], hid, 1, bias: false, rng: rng), new BatchNorm2d(hid), Activation.ReLU(), new Conv2d(hid, dim, 1, rng: rng)));
        Dim = dim;
    }

    /// <summary>Embedding dimension.</summary>
    public int Dim { get; }

    /// <summary>Number of heads.</summary>
    public int Count => _heads.Length;

    /// <summary>l2-normalised embeddings [N, d, h, w] of stage <paramref name="stage"/>'s features [N, C, h, w].</summary>
    /// <param name="stage">Stage index.</param>
    /// <param name="features">The stage's output.</param>
    public Tensor Embed(int stage, Tensor features) => Normalize(_heads[stage].Forward(features), 1);

    /// <summary>x / sqrt(sum_axis x^2 + 1e-12), differentiable.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis normalised.</param>
    public static Tensor Normalize(Tensor x, int axis) => Ops.Div(x, Ops.Sqrt(Ops.Add(Ops.Sum(Ops.Mul(x, x), [axis], keepDim: true), 1e-12)));

    /// <summary>Not used: call <see cref="Embed"/> per stage.</summary>
    protected override Tensor ForwardCore(Tensor x) => throw new InvalidOperationException("ProjectionHeads: call Embed(stage, features).");
}
