// A segmentation network together with what a caller needs to use it: its preprocessing, its class count,
// and how its output channels map to scored classes. Input is always an RGB batch in [0, 1]. A model trained at one
// fixed size (ESPNetv2) sees its input resized to that size, and its logits are resized back to the caller's size.
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
    /// <param name="inputSize">The size (height, width) the network runs at, or null to run at the caller's size.</param>
    public SegmentationModel(string name, Module network, Preprocessing preprocessing, int numClasses, (int Height, int Width)? inputSize = null)
    {
        if (inputSize is { } size && (size.Height <= 0 || size.Width <= 0))
            throw new ArgumentException($"Model '{name}': input size {size.Height}x{size.Width} must be positive.");
        InputSize = inputSize;
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

    /// <summary>
    /// The size (height, width) the network runs at, or null. When set, <see cref="Forward"/> resizes the image to it
    /// with the antialiased bilinear filter (PIL's BILINEAR, as EdgeNets' evaluation resizes its input) and the logits
    /// back to the image's size bilinearly (align_corners false), both on the tape.
    /// </summary>
    public (int Height, int Width)? InputSize { get; }

    /// <summary>Logits [N, C_out, H, W] for an RGB batch [N, 3, H, W] in [0, 1] (differentiable in the image).</summary>
    /// <param name="rgb">Images in [0, 1].</param>
    public Tensor Forward(Tensor rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (InputSize is not { } size || rgb.Rank != 4 || (rgb.Size(2) == size.Height && rgb.Size(3) == size.Width))
            return Network.Forward(Preprocessing.Apply(rgb));
        // The filter's weights sum to one, so resizing before the per-channel affine preprocessing equals resizing after it.
        var resized = Ops.InterpolateAntialias(rgb, size.Height, size.Width);
        var logits = Network.Forward(Preprocessing.Apply(resized));
        return Ops.Interpolate(logits, rgb.Size(2), rgb.Size(3), InterpolationMode.Bilinear);
    }

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
