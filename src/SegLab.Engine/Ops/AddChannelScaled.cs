// A residual plus a channel-scaled tensor, fused: the end of a squeeze-and-excitation block with a skip connection
// (CGNet's context-guided block: x + F_glo(joint) = x + joint * s). One pass over the planes instead of a broadcast
// product written out and read again by the add.
//   forward:  y[n, c, p] = r[n, c, p] + x[n, c, p] s[n, c]
//   backward: dr = g;  dx[n, c, p] = g[n, c, p] s[n, c];  ds[n, c] = sum_p g[n, c, p] x[n, c, p]
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary><paramref name="residual"/> + <paramref name="x"/> * <paramref name="scale"/>, the scale broadcast over each channel plane.</summary>
    /// <param name="residual">[N, C, ...].</param>
    /// <param name="x">The same shape as <paramref name="residual"/>.</param>
    /// <param name="scale">One factor per image and channel: [N, C] or [N, C, 1, 1].</param>
    public static Tensor AddChannelScaled(Tensor residual, Tensor x, Tensor scale)
    {
        ArgumentNullException.ThrowIfNull(residual);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(scale);
        if (x.Rank < 2 || !Shapes.Equal(residual.Shape, x.Shape))
            throw new ArgumentException($"add_channel_scaled: residual {Shapes.Format(residual.Shape)} and input {Shapes.Format(x.Shape)} must have one shape [N, C, ...].");
        int n = x.Dims[0], c = x.Dims[1], plane = x.Numel / Math.Max(1, n * c);
        if (scale.Numel != n * c || scale.Rank < 2 || scale.Dims[0] != n || scale.Dims[1] != c)
            throw new ArgumentException($"add_channel_scaled: scale {Shapes.Format(scale.Shape)} must be [{n}, {c}] or [{n}, {c}, 1, 1] for input {Shapes.Format(x.Shape)}.");
        if (residual.DType != x.DType || scale.DType != x.DType)
            throw new ArgumentException($"add_channel_scaled: element types differ (residual {residual.DType}, input {x.DType}, scale {scale.DType}).");
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        long work = 2L * plane;
        if (x.DType == DType.Float32) Parallelism.For(n * c, work, p => ScaledAddPlane(residual.Buf<float>(), x.Buf<float>(), scale.Buf<float>(), y.Buf<float>(), p, plane));
        else Parallelism.For(n * c, work, p => ScaledAddPlane(residual.Buf<double>(), x.Buf<double>(), scale.Buf<double>(), y.Buf<double>(), p, plane));
        if (!GradMode.Needs([residual, x, scale])) return y;
        return Tape.Record(y, "add_channel_scaled", [residual, x, scale], g =>
        {
            var gx = Tape.Wants(x) ? Tensor.Uninitialized(x.DType, x.Dims) : null;
            var gs = Tape.Wants(scale) ? Tensor.Uninitialized(x.DType, scale.Dims) : null;
            if (gx is not null || gs is not null)
            {
                if (x.DType == DType.Float32)
                    Parallelism.For(n * c, 2 * work, p => ScaledAddBackwardPlane(g.Buf<float>(), x.Buf<float>(), scale.Buf<float>(), gx is null ? default : gx.Buf<float>(), gs is null ? default : gs.Buf<float>(), p, plane));
                else
                    Parallelism.For(n * c, 2 * work, p => ScaledAddBackwardPlane(g.Buf<double>(), x.Buf<double>(), scale.Buf<double>(), gx is null ? default : gx.Buf<double>(), gs is null ? default : gs.Buf<double>(), p, plane));
            }
            return [Tape.Wants(residual) ? g : null, gx, gs];
        });
    }

    // Plane p (image p / C, channel p % C): y = r + x s[p]
    private static void ScaledAddPlane<T>(ReadOnlySpan<T> r, ReadOnlySpan<T> x, ReadOnlySpan<T> s, Span<T> y, int p, int plane)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int o = p * plane;
        TensorPrimitives.MultiplyAdd(x.Slice(o, plane), s[p], r.Slice(o, plane), y.Slice(o, plane));
    }

    // Plane p: dx = g s[p] (when wanted), ds[p] = sum g x (when wanted)
    private static void ScaledAddBackwardPlane<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> s, Span<T> gx, Span<T> gs, int p, int plane)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int o = p * plane;
        var gp = g.Slice(o, plane);
        if (!gx.IsEmpty) TensorPrimitives.Multiply(gp, s[p], gx.Slice(o, plane));
        if (!gs.IsEmpty) gs[p] = TensorPrimitives.Dot(gp, x.Slice(o, plane));
    }
}
