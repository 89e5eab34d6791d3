// Elementwise unary math with autograd: neg, exp, log, sqrt, abs, sign, clamp.
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var y = ElementwiseKernels.Unary<NegOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "neg", [x], g => [Neg(g)]) : y;
    }

    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x)
    {
        var y = ElementwiseKernels.Unary<ExpOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "exp", [x], g => [Mul(g, y)]) : y;
    }

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x)
    {
        var y = ElementwiseKernels.Unary<LogOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "log", [x], g => [Div(g, x)]) : y;
    }

    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var y = ElementwiseKernels.Unary<SqrtOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "sqrt", [x], g => [Div(g, Mul(y, 2))]) : y;
    }

    /// <summary>|x|; the gradient at 0 is 0.</summary>
    public static Tensor Abs(Tensor x)
    {
        var y = ElementwiseKernels.Unary<AbsOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "abs", [x], g => [Mul(g, Sign(x))]) : y;
    }

    /// <summary>-1, 0 or 1; its gradient is zero everywhere.</summary>
    public static Tensor Sign(Tensor x)
    {
        var y = ElementwiseKernels.Unary<SignOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "sign", [x], _ => [null]) : y;
    }

    /// <summary>Clamps to [min, max]; the gradient passes where min &lt;= x &lt;= max (PyTorch's rule).</summary>
    /// <param name="x">Input.</param>
    /// <param name="min">Lower bound, or NaN for none.</param>
    /// <param name="max">Upper bound, or NaN for none.</param>
    public static Tensor Clamp(Tensor x, double min, double max)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (min > max) throw new ArgumentException($"clamp: min {min} is greater than max {max}.");
        var y = x.Clone();
        if (x.DType == DType.Float32) ClampKernel(y.Buf<float>(), (float)min, (float)max);
        else ClampKernel(y.Buf<double>(), min, max);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "clamp", [x], g =>
        {
            var mask = Tensor.Uninitialized(x.DType, x.Dims);
            if (x.DType == DType.Float32) ClampMask(x.Buf<float>(), (float)min, (float)max, mask.Buf<float>());
            else ClampMask(x.Buf<double>(), min, max, mask.Buf<double>());
            return [Mul(g, mask)];
        });
    }

    /// <summary>Elementwise comparison a &gt; b as 1/0 (no gradient), broadcasting.</summary>
    public static Tensor Greater(Tensor a, Tensor b) => ElementwiseKernels.Binary<GreaterOp>("greater", a, b);

    /// <summary>Elementwise comparison a == b as 1/0 (no gradient), broadcasting.</summary>
    public static Tensor Equal(Tensor a, Tensor b) => ElementwiseKernels.Binary<EqualOp>("equal", a, b);

    /// <summary>Picks a where <paramref name="condition"/> is non-zero, else b; broadcasting over all three.</summary>
    /// <param name="condition">Mask (non-zero is true); receives no gradient.</param>
    /// <param name="a">Values where true.</param>
    /// <param name="b">Values where false.</param>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var shape = Shapes.Broadcast("where", Shapes.Broadcast("where", condition.Shape, a.Shape), b.Shape);
        Tensor c, y;
        using (GradMode.NoGrad())
        {
            c = Ne(BroadcastTo(condition.Detach(), shape), Constant(0, condition));
            if (c.DType != a.DType) c = c.To(a.DType);
            var aa = BroadcastTo(a, shape);
            var bb = BroadcastTo(b, shape);
            y = Tensor.Uninitialized(a.DType, shape);
            if (a.DType == DType.Float32) WhereKernel(c.Buf<float>(), aa.Buf<float>(), bb.Buf<float>(), y.Buf<float>());
            else WhereKernel(c.Buf<double>(), aa.Buf<double>(), bb.Buf<double>(), y.Buf<double>());
        }
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "where", [a, b], g => [
            Tape.Wants(a) ? SumTo(Mul(g, c), a.Dims) : null,
            Tape.Wants(b) ? SumTo(Sub(g, Mul(g, c)), b.Dims) : null]);
    }

    private static Tensor Ne(Tensor a, Tensor b) => ElementwiseKernels.Binary<NotEqualOp>("not-equal", a, b);

    private static void WhereKernel<T>(ReadOnlySpan<T> c, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++) y[i] = c[i] != T.Zero ? a[i] : b[i];
    }

    private static void ClampMask<T>(ReadOnlySpan<T> x, T min, T max, Span<T> m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
            m[i] = (T.IsNaN(min) || x[i] >= min) && (T.IsNaN(max) || x[i] <= max) ? T.One : T.Zero;
    }

    private static void ClampKernel<T>(Span<T> y, T min, T max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!T.IsNaN(min)) TensorPrimitives.Max(y, min, y);
        if (!T.IsNaN(max)) TensorPrimitives.Min(y, max, y);
    }

    private struct NegOp : IUnaryOp<NegOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => -x;
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Negate(x, d);
    }

    private struct ExpOp : IUnaryOp<ExpOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Exp(x);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Exp(x, d);
    }

    private struct LogOp : IUnaryOp<LogOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Log(x);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log(x, d);
    }

    private struct SqrtOp : IUnaryOp<SqrtOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Sqrt(x);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, d);
    }

    private struct AbsOp : IUnaryOp<AbsOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Abs(x);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Abs(x, d);
    }

    private struct SignOp : IUnaryOp<SignOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
            => x > T.Zero ? T.One : x < T.Zero ? -T.One : T.IsNaN(x) ? x : T.Zero;
    }

    private struct GreaterOp : IBinaryOp<GreaterOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a > b ? T.One : T.Zero;
    }

    private struct NotEqualOp : IBinaryOp<NotEqualOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a != b ? T.One : T.Zero;
    }

    private struct EqualOp : IBinaryOp<EqualOp>
    {
        public static T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a == b ? T.One : T.Zero;
    }
}
