// A segmentation network together with what a caller needs to use it: its preprocessing, its class count,
// and how its output channels map to scored classes. Input is always an RGB batch in [0, 1].
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>A network plus its input convention; Forward takes RGB in [0, 1] and returns logits at input size.</summary>
public sealed class SegmentationModel
{
    /// <summary>Wraps a network.</summary>
    /// <param name="name">Model name (from the model table, or a user's).</param>
    /// <param name="network">The network, taking preprocessed input.</param>
    /// <param name="preprocessing">Its input convention.</param>
    /// <param name="numClasses">Scored classes: the first <paramref name="numClasses"/> output channels.</param>
    public SegmentationModel(string name, Module network, Preprocessing preprocessing, int numClasses)
    {
        Name = name;
        Network = network ?? throw new ArgumentNullException(nameof(network));
        Preprocessing = preprocessing ?? throw new ArgumentNullException(nameof(preprocessing));
        NumClasses = numClasses;
    }

    /// <summary>Model name.</summary>
    public string Name { get; }

    /// <summary>The network (takes preprocessed input).</summary>
    public Module Network { get; }

    /// <summary>Input convention.</summary>
    public Preprocessing Preprocessing { get; }

    /// <summary>Scored classes; outputs beyond them (ESPNet's void channel) are never predicted.</summary>
    public int NumClasses { get; }

    /// <summary>Logits [N, C_out, H, W] for an RGB batch [N, 3, H, W] in [0, 1] (differentiable in the image).</summary>
    /// <param name="rgb">Images in [0, 1].</param>
    public Tensor Forward(Tensor rgb) => Network.Forward(Preprocessing.Apply(rgb));

    /// <summary>Class ids [N, H, W] (as floats): the argmax over the first <see cref="NumClasses"/> logits.</summary>
    /// <param name="logits">Output of <see cref="Forward"/>.</param>
    public Tensor Predict(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        using var _ = GradMode.NoGrad();
        var scored = logits.Size(1) == NumClasses ? logits : Ops.Slice(logits, 1, 0, NumClasses);
        return Ops.Argmax(scored, 1);
    }
}
