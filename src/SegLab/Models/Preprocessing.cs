// Each model's input convention as data: callers hand every model an RGB image in [0, 1], and the model's
// preprocessing (scale, channel order, mean, std, post-scale) runs on the tape, so attacks and attribution
// work in image space for every model.
using SegLab.Engine;

namespace SegLab.Models;

/// <summary>Channel order a network expects.</summary>
public enum ChannelOrder
{
    /// <summary>Red, green, blue.</summary>
    Rgb,

    /// <summary>Blue, green, red (OpenCV-trained models).</summary>
    Bgr,
}

/// <summary>
/// Maps an RGB image in [0, 1] to a network's input: v = ((x * Scale)[order] - Mean) / Std * PostScale, per channel.
/// </summary>
/// <param name="Order">Channel order of the network input; Mean and Std are given in this order.</param>
/// <param name="Scale">Multiplies the [0, 1] image first (255 for networks trained on 0..255 values).</param>
/// <param name="Mean">Per-channel mean, in the network's channel order.</param>
/// <param name="Std">Per-channel standard deviation, in the network's channel order.</param>
/// <param name="PostScale">Multiplies the normalised values last (ESPNet divides by 255 after normalising).</param>
public sealed record Preprocessing(ChannelOrder Order, double Scale, double[] Mean, double[] Std, double PostScale = 1)
{
    /// <summary>No change: the network takes the [0, 1] RGB image itself.</summary>
    public static Preprocessing Identity { get; } = new(ChannelOrder.Rgb, 1, [0, 0, 0], [1, 1, 1]);

    /// <summary>ImageNet statistics on [0, 1] RGB.</summary>
    public static Preprocessing ImageNet { get; } = new(ChannelOrder.Rgb, 1, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

    /// <summary>Applies the mapping to [N, 3, H, W] (differentiable).</summary>
    /// <param name="rgb">RGB image batch in [0, 1].</param>
    public Tensor Apply(Tensor rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (rgb.Rank != 4 || rgb.Size(1) != 3)
            throw new ArgumentException($"Preprocessing expects an RGB batch [N, 3, H, W], got {Shapes.Format(rgb.Shape)}.");
        var x = rgb;
        if (Order == ChannelOrder.Bgr)
            x = Ops.Cat([Ops.Slice(x, 1, 2, 3), Ops.Slice(x, 1, 1, 2), Ops.Slice(x, 1, 0, 1)], 1);
        var a = new float[3];
        var b = new float[3];
        for (int c = 0; c < 3; c++)
        {
            // v = x * (Scale * Post / Std) - Mean * Post / Std
            a[c] = (float)(Scale * PostScale / Std[c]);
            b[c] = (float)(-Mean[c] * PostScale / Std[c]);
        }
        var scale = Tensor.FromArray(a, 1, 3, 1, 1).To(rgb.DType);
        var shift = Tensor.FromArray(b, 1, 3, 1, 1).To(rgb.DType);
        return Ops.Add(Ops.Mul(x, scale), shift);
    }
}
