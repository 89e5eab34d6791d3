// Inverted dropout (Srivastava et al. 2014), PyTorch's semantics: in training each element (Dropout) or each whole
// channel plane (Dropout2d: axis 1 of [N, C, ...], as F.dropout2d and F.dropout1d) is zeroed with probability p and the
// rest are multiplied by 1 / (1 - p) (computed in the working type, as PyTorch's noise.div_(1 - p)); the output is
// x * mask, so NaN and infinity stay NaN where dropped, as in PyTorch. Identity (the input itself) when not training
// or p == 0; p outside [0, 1) is an error.
// The mask comes from the caller's seeded generator: each 64-bit draw gives two 32-bit uniforms, an element is
// dropped when its uniform is below round(p * 2^32), so equal seeds give equal masks on every machine.
//   forward:  y = x * mask        backward: dx = g * mask      (mask [N*C*H*W] or, for Dropout2d, [N*C] per plane)
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Zeroes each element with probability p and scales the rest by 1/(1-p); the identity unless training.</summary>
    /// <param name="x">Input.</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="training">Apply dropout (otherwise return <paramref name="x"/>).</param>
    /// <param name="rng">Mask generator; advanced by ceil(numel / 2) draws.</param>
    public static Tensor Dropout(Tensor x, double p, bool training, Rng rng) => DropoutCore("dropout", x, p, training, rng, perChannel: false);

    /// <summary>Zeroes whole channels (axis 1 of [N, C, ...]) with probability p, scaling the rest by 1/(1-p); the identity unless training.</summary>
    /// <param name="x">Input [N, C, ...].</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="training">Apply dropout (otherwise return <paramref name="x"/>).</param>
    /// <param name="rng">Mask generator; advanced by ceil(N * C / 2) draws.</param>
    public static Tensor Dropout2d(Tensor x, double p, bool training, Rng rng) => DropoutCore("dropout2d", x, p, training, rng, perChannel: true);

    private static Tensor DropoutCore(string name, Tensor x, double p, bool training, Rng rng, bool perChannel)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"{name}: drop probability must be in [0, 1) (input {Shapes.Format(x.Shape)})");
        if (perChannel && x.Rank < 2) throw new ArgumentException($"{name}: input needs [N, C, ...], got {Shapes.Format(x.Shape)}.");
        if (!training || p == 0) return x;
        int groups = perChannel ? x.Dims[0] * x.Dims[1] : x.Numel;
        int inner = perChannel ? x.Numel / Math.Max(1, groups) : 1;
        var mask = Tensor.Uninitialized(x.DType, [groups]);
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        ulong threshold = (ulong)Math.Round(p * 4294967296.0);
        if (x.DType == DType.Float32)
        {
            DropoutMask(mask.Buf<float>(), rng, threshold, p);
            DropoutApply(x.Buf<float>(), mask.Buf<float>(), inner, y.Buf<float>());
        }
        else
        {
            DropoutMask(mask.Buf<double>(), rng, threshold, p);
            DropoutApply(x.Buf<double>(), mask.Buf<double>(), inner, y.Buf<double>());
        }
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, name, [x], g =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            if (x.DType == DType.Float32) DropoutApply(g.Buf<float>(), mask.Buf<float>(), inner, gx.Buf<float>());
            else DropoutApply(g.Buf<double>(), mask.Buf<double>(), inner, gx.Buf<double>());
            return [gx];
        });
    }

    // mask: [groups]: 0 with probability p (uniform below threshold / 2^32), else 1 / (1 - p).
    private static void DropoutMask<T>(Span<T> mask, Rng rng, ulong threshold, double p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T keep = T.One / T.CreateTruncating(1 - p);
        for (int i = 0; i < mask.Length; i += 2)
        {
            ulong bits = rng.NextUInt64();
            mask[i] = (bits & 0xFFFF_FFFF) < threshold ? T.Zero : keep;
            if (i + 1 < mask.Length) mask[i + 1] = (bits >> 32) < threshold ? T.Zero : keep;
        }
    }

    // x, y: [groups, inner]; y = x * mask[group] (inner == 1: elementwise).
    private static void DropoutApply<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mask, int inner, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (inner == 1)
        {
            TensorPrimitives.Multiply(x, mask, y);
            return;
        }
        for (int gi = 0; gi < mask.Length; gi++) TensorPrimitives.Multiply(x.Slice(gi * inner, inner), mask[gi], y.Slice(gi * inner, inner));
    }
}
