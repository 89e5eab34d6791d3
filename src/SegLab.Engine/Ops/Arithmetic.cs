// Broadcasting arithmetic with autograd: add, sub, mul, div, pow, minimum, maximum.
// Each gradient is reduced back to its input's shape with SumTo (the broadcasting rule run backwards).
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;

namespace SegLab.Engine;

/// <summary>Differentiable tensor operations (the engine's functional API).</summary>
public static partial class Ops
{
    /// <summary>a + b, broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var y = ElementwiseKernels.Binary<AddOp>("add", a, b);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "add", [a, b], g => [SumTo(g, a.Dims), SumTo(g, b.Dims)]);
    }

    /// <summary>a - b, broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var y = ElementwiseKernels.Binary<SubOp>("sub", a, b);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "sub", [a, b], g => [SumTo(g, a.Dims), Tape.Wants(b) ? SumTo(Neg(g), b.Dims) : null]);
    }

    /// <summary>a * b elementwise, broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var y = ElementwiseKernels.Binary<MulOp>("mul", a, b);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "mul", [a, b], g => [
            Tape.Wants(a) ? ReducedProduct(g, b, a) : null,
            Tape.Wants(b) ? ReducedProduct(g, a, b) : null]);
    }

    // SumTo(g * other, target.Dims). When target broadcasts over a trailing block of other (a per-channel scale
    // [N, C, 1, 1] against [N, C, H, W], as in squeeze-excitation and CGNet's global context), each target element is
    // one dot product over a contiguous run, with no full-size product materialised.
    private static Tensor ReducedProduct(Tensor g, Tensor other, Tensor target)
    {
        if (!Shapes.Equal(other.Shape, g.Shape) || target.Rank != g.Rank || g.DType != other.DType || target.Numel == g.Numel)
            return SumTo(Mul(g, other), target.Dims);
        int p = 0;
        while (p < g.Rank && target.Dims[p] == g.Dims[p]) p++;
        for (int i = p; i < g.Rank; i++)
            if (target.Dims[i] != 1) return SumTo(Mul(g, other), target.Dims);
        int outer = target.Numel, inner = g.Numel / Math.Max(1, outer);
        var r = Tensor.Uninitialized(g.DType, target.Dims);
        if (g.DType == DType.Float32)
        {
            Span<float> gs = g.Span, os = other.Span, rs = r.Span;
            for (int o = 0; o < outer; o++) rs[o] = TensorPrimitives.Dot(gs.Slice(o * inner, inner), os.Slice(o * inner, inner));
        }
        else
        {
            Span<double> gs = g.SpanF64, os = other.SpanF64, rs = r.SpanF64;
            for (int o = 0; o < outer; o++) rs[o] = TensorPrimitives.Dot(gs.Slice(o * inner, inner), os.Slice(o * inner, inner));
        }
        return r;
    }

    /// <summary>a / b elementwise, broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var y = ElementwiseKernels.Binary<DivOp>("div", a, b);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "div", [a, b], g => [
            Tape.Wants(a) ? SumTo(Div(g, b), a.Dims) : null,
            Tape.Wants(b) ? SumTo(Neg(Div(Mul(g, y), b)), b.Dims) : null]);
    }

    /// <summary>a ^ b elementwise, broadcasting.</summary>
    public static Tensor Pow(Tensor a, Tensor b)
    {
        var y = ElementwiseKernels.Binary<PowOp>("pow", a, b);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "pow", [a, b], g => [
            Tape.Wants(a) ? SumTo(Mul(g, Mul(b, Pow(a, Sub(b, Constant(1, b))))), a.Dims) : null,
            Tape.Wants(b) ? SumTo(Mul(g, Mul(y, Log(a))), b.Dims) : null]);
    }

    /// <summary>x ^ p for a constant exponent.</summary>
    public static Tensor Pow(Tensor x, double p)
    {
        var y = ElementwiseKernels.Binary<PowOp>("pow", x, Constant(p, x));
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "pow", [x], g => [Mul(g, Mul(Pow(x, p - 1), Constant(p, x)))]);
    }

    /// <summary>Elementwise minimum, broadcasting; ties split the gradient equally.</summary>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        var y = ElementwiseKernels.Binary<MinOp>("minimum", a, b);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "minimum", [a, b], g => [
            Tape.Wants(a) ? SumTo(Mul(g, ElementwiseKernels.Binary<LessWeightOp>("minimum", a, b)), a.Dims) : null,
            Tape.Wants(b) ? SumTo(Mul(g, ElementwiseKernels.Binary<LessWeightOp>("minimum", b, a)), b.Dims) : null]);
    }

    /// <summary>Elementwise maximum, broadcasting; ties split the gradient equally.</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        var y = ElementwiseKernels.Binary<MaxOp>("maximum", a, b);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "maximum", [a, b], g => [
            Tape.Wants(a) ? SumTo(Mul(g, ElementwiseKernels.Binary<LessWeightOp>("maximum", b, a)), a.Dims) : null,
            Tape.Wants(b) ? SumTo(Mul(g, ElementwiseKernels.Binary<LessWeightOp>("maximum", a, b)), b.Dims) : null]);
    }

    /// <summary>x + s.</summary>
    public static Tensor Add(Tensor x, double s) => Add(x, Constant(s, x));

    /// <summary>x * s.</summary>
    public static Tensor Mul(Tensor x, double s) => Mul(x, Constant(s, x));

    /// <summary>A rank-0 constant of <paramref name="like"/>'s element type.</summary>
    internal static Tensor Constant(double value, Tensor like) => Tensor.Full(like.DType, value, []);

    private struct AddOp : IBinaryOp<AddOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a + b;
        public static void Vec<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, d);
        public static void VecScalarB<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, d);
        public static void VecScalarA<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(b, a, d);
    }

    private struct SubOp : IBinaryOp<SubOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a - b;
        public static void Vec<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, d);
        public static void VecScalarB<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, d);
        public static void VecScalarA<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, d);
    }

    private struct MulOp : IBinaryOp<MulOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a * b;
        public static void Vec<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, d);
        public static void VecScalarB<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, d);
        public static void VecScalarA<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(b, a, d);
    }

    private struct DivOp : IBinaryOp<DivOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a / b;
        public static void Vec<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, d);
        public static void VecScalarB<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, d);
        public static void VecScalarA<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, d);
    }

    private struct PowOp : IBinaryOp<PowOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.Pow(a, b);
    }

    private struct MinOp : IBinaryOp<MinOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.Min(a, b);
        public static void Vec<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(a, b, d);
        public static void VecScalarB<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(a, b, d);
    }

    private struct MaxOp : IBinaryOp<MaxOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.Max(a, b);
        public static void Vec<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(a, b, d);
        public static void VecScalarB<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(a, b, d);
    }

    /// <summary>Weight of the gradient reaching a in min(a, b): 1 where a &lt; b, 1/2 on ties, else 0.</summary>
    private struct LessWeightOp : IBinaryOp<LessWeightOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
            => a < b ? T.One : a == b ? T.CreateTruncating(0.5) : T.Zero;
    }
}
