// PReLU, LeakyReLU, ReLU6, HardSwish, HardSigmoid with PyTorch's forward definitions and gradient conventions
// at the kinks (relu6 and hardsigmoid pass the gradient strictly inside (0, 6) and (-3, 3); hardswish uses
// x/3 + 1/2 on [-3, 3]; leaky relu uses the slope at 0).
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>max(0, x) + w * min(0, x), one slope per channel (axis 1) or one shared slope.</summary>
    /// <param name="x">Input [N, C, ...].</param>
    /// <param name="weight">Slopes [1] or [C].</param>
    public static Tensor Prelu(Tensor x, Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        int c = x.Rank >= 2 ? x.Dims[1] : 1;
        if (weight.Numel != 1 && weight.Numel != c)
            throw new ArgumentException($"prelu: weight {Shapes.Format(weight.Shape)} fits neither one slope nor the {c} channels of input {Shapes.Format(x.Shape)}.");
        if (weight.DType != x.DType) throw new ArgumentException($"prelu: weight is {weight.DType}, input is {x.DType}.");
        int outer = x.Rank >= 2 ? x.Dims[0] : 1;
        int inner = x.Numel / Math.Max(1, outer * c);
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        if (x.DType == DType.Float32) PreluForward(x.Buf<float>(), weight.Buf<float>(), y.Buf<float>(), outer, c, inner);
        else PreluForward(x.Buf<double>(), weight.Buf<double>(), y.Buf<double>(), outer, c, inner);
        if (!GradMode.Needs(x, weight)) return y;
        return Tape.Record(y, "prelu", [x, weight], g =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            var gw = Tensor.Zeros(x.DType, weight.Dims);
            if (x.DType == DType.Float32) PreluBackward(g.Buf<float>(), x.Buf<float>(), weight.Buf<float>(), gx.Buf<float>(), gw.Buf<float>(), outer, c, inner);
            else PreluBackward(g.Buf<double>(), x.Buf<double>(), weight.Buf<double>(), gx.Buf<double>(), gw.Buf<double>(), outer, c, inner);
            return [gx, weight.RequiresGrad ? gw : null];
        });
    }

    /// <summary>x for x &gt; 0, else slope * x.</summary>
    /// <param name="x">Input.</param>
    /// <param name="negativeSlope">Slope for x &lt;= 0.</param>
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01)
    {
        var slope = Tensor.Full(x.DType, negativeSlope, [1]);
        var y = ElementwiseKernels.Binary<LeakyOp>("leaky_relu", x, slope);
        return GradMode.Needs(x) ? Tape.Record(y, "leaky_relu", [x], g => [Mul(g, ElementwiseKernels.Binary<LeakyGradOp>("leaky_relu", x, slope))]) : y;
    }

    /// <summary>min(max(x, 0), 6).</summary>
    public static Tensor Relu6(Tensor x)
    {
        var y = ElementwiseKernels.Unary<Relu6Op>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "relu6", [x], g => [ElementwiseKernels.Binary<Relu6GradOp>("relu6", g, x)]) : y;
    }

    /// <summary>relu6(x + 3) / 6.</summary>
    public static Tensor HardSigmoid(Tensor x)
    {
        var y = ElementwiseKernels.Unary<HardSigmoidOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "hardsigmoid", [x], g => [ElementwiseKernels.Binary<HardSigmoidGradOp>("hardsigmoid", g, x)]) : y;
    }

    /// <summary>x * relu6(x + 3) / 6.</summary>
    public static Tensor HardSwish(Tensor x)
    {
        var y = ElementwiseKernels.Unary<HardSwishOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "hardswish", [x], g => [ElementwiseKernels.Binary<HardSwishGradOp>("hardswish", g, x)]) : y;
    }

    // x, y: [outer, C, inner]; slope w[c] (or w[0]); y = max(x, 0) + a min(x, 0), vectorised per plane
    private static void PreluForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, int outer, int c, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var pos = System.Buffers.ArrayPool<T>.Shared.Rent(inner);
        try
        {
            var p = pos.AsSpan(0, inner);
            for (int o = 0; o < outer; o++)
                for (int ch = 0; ch < c; ch++)
                {
                    T a = w.Length == 1 ? w[0] : w[ch];
                    int off = (o * c + ch) * inner;
                    var xs = x.Slice(off, inner);
                    var ys = y.Slice(off, inner);
                    TensorPrimitives.Max(xs, T.Zero, p);
                    TensorPrimitives.Min(xs, T.Zero, ys);
                    TensorPrimitives.MultiplyAdd(ys, a, p, ys);
                }
        }
        finally
        {
            System.Buffers.ArrayPool<T>.Shared.Return(pos);
        }
    }

    private static void PreluBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> gx, Span<T> gw, int outer, int c, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int ch = 0; ch < c; ch++)
            {
                T a = w.Length == 1 ? w[0] : w[ch];
                int off = (o * c + ch) * inner;
                T acc = T.Zero;
                for (int i = 0; i < inner; i++)
                {
                    T xv = x[off + i], gv = g[off + i];
                    if (xv > T.Zero) gx[off + i] = gv;
                    else
                    {
                        gx[off + i] = a * gv;
                        acc += gv * xv;
                    }
                }
                gw[w.Length == 1 ? 0 : ch] += acc;
            }
    }

    private struct LeakyOp : IBinaryOp<LeakyOp>
    {
        public static T Apply<T>(T x, T slope) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero ? x : x * slope;
    }

    private struct LeakyGradOp : IBinaryOp<LeakyGradOp>
    {
        public static T Apply<T>(T x, T slope) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero ? T.One : slope;
    }

    private struct Relu6Op : IUnaryOp<Relu6Op>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Min(T.Max(x, T.Zero), T.CreateTruncating(6));
    }

    private struct Relu6GradOp : IBinaryOp<Relu6GradOp>
    {
        public static T Apply<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero && x < T.CreateTruncating(6) ? g : T.Zero;
    }

    private struct HardSigmoidOp : IUnaryOp<HardSigmoidOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
            => T.Min(T.Max(x + T.CreateTruncating(3), T.Zero), T.CreateTruncating(6)) / T.CreateTruncating(6);
    }

    private struct HardSigmoidGradOp : IBinaryOp<HardSigmoidGradOp>
    {
        public static T Apply<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T>
            => x > T.CreateTruncating(-3) && x < T.CreateTruncating(3) ? g / T.CreateTruncating(6) : T.Zero;
    }

    private struct HardSwishOp : IUnaryOp<HardSwishOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
            => x * T.Min(T.Max(x + T.CreateTruncating(3), T.Zero), T.CreateTruncating(6)) / T.CreateTruncating(6);
    }

    private struct HardSwishGradOp : IBinaryOp<HardSwishGradOp>
    {
        public static T Apply<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T>
            => x < T.CreateTruncating(-3) ? T.Zero : x <= T.CreateTruncating(3) ? g * (x / T.CreateTruncating(3) + T.CreateTruncating(0.5)) : g;
    }
}
