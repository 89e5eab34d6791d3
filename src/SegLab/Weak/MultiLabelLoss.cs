// PyTorch's multilabel_soft_margin_loss (IRN's classifier loss, PAPERS.md C.1): for logits x [B, C], targets y in {0,1},
//   loss = mean_b mean_c -( y log sigma(x) + (1 - y) log sigma(-x) ) = mean( (1 - y) x - log sigma(x) ),
// with log sigma(x) = min(x, 0) - log(1 + exp(-|x|)) so that large |x| neither overflows nor loses the gradient.
using SegLab.Engine;

namespace SegLab.Weak;

/// <summary>The multi-label soft-margin loss of image-level tags.</summary>
public static class MultiLabelLoss
{
    /// <summary>Mean loss over batch and classes (differentiable in the logits).</summary>
    /// <param name="logits">[B, C].</param>
    /// <param name="targets">[B, C] multi-hot (0 or 1; soft values in [0, 1] are allowed).</param>
    public static Tensor SoftMargin(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (logits.Rank != 2 || !logits.Shape.SequenceEqual(targets.Shape))
            throw new ArgumentException($"multi-label loss: logits {Shapes.Format(logits.Shape)} and targets {Shapes.Format(targets.Shape)} must both be [B, C].");
        var zero = Ops.Mul(logits.Detach(), 0.0);
        var logSigmoid = Ops.Minimum(logits, zero) - Ops.Log(1.0 + Ops.Exp(-Ops.Abs(logits)));
        return Ops.Mean((1.0 - targets) * logits - logSigmoid);
    }
}
