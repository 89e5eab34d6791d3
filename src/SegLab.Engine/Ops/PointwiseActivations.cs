// PReLU, LeakyReLU, ReLU6, HardSigmoid and HardSwish with PyTorch's forward definitions and its CPU kernels'
// gradient conventions at the kinks (aten/src/ATen/native/cpu/Activation.cpp):
//   prelu        y = x > 0 ? x : w x                     dx = x > 0 ? g : w g,  dw = sum_{x <= 0} g x
//   leaky_relu   y = x > 0 ? x : s x                     dx = x > 0 ? g : s g              (slope at 0)
//   relu6        y = min(max(x, 0), 6)                   dx = g on (0, 6), 0 at and beyond the kinks (hardtanh_backward)
//   hardsigmoid  y = min(max(x + 3, 0), 6) / 6           dx = g * (1/6) on (-3, 3), else 0
//   hardswish    y = x * min(max(x + 3, 0), 6) / 6       dx = 0 for x < -3, g (x/3 + 1/2) on [-3, 3], g for x > 3
//                                                         (so -g/2 at x = -3 and 3g/2 at x = 3, as PyTorch)
// Every forward and backward is one vectorised pass (operator structs over Vector<T>, the ElementwiseKernels pattern).
// Under BackwardRules.Guided, prelu and leaky_relu differentiate max(g, 0) instead of g (guided backpropagation).
using System.Numerics;
using System.Runtime.InteropServices;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>PReLU: max(0, x) + w * min(0, x), one slope per channel (axis 1) or one shared slope, as PyTorch.</summary>
    /// <param name="x">Input [N, C, ...] (a rank-1 input has one channel).</param>
    /// <param name="weight">Slopes [1] or [C].</param>
    public static Tensor Prelu(Tensor x, Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        int c = x.Rank >= 2 ? x.Dims[1] : 1;
        if (weight.Numel != 1 && weight.Numel != c)
            throw new ArgumentException($"prelu: weight {Shapes.Format(weight.Shape)} fits neither one slope nor the {c} channels of input {Shapes.Format(x.Shape)}.");
        if (weight.DType != x.DType) throw new ArgumentException($"prelu: weight {Shapes.Format(weight.Shape)} is {weight.DType}, input {Shapes.Format(x.Shape)} is {x.DType}.");
        int outer = x.Rank >= 2 ? x.Dims[0] : 1;
        int inner = x.Numel / Math.Max(1, outer * c);
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        // x, y: [outer, C, inner]; one work item per channel.
        if (x.DType == DType.Float32) Parallelism.For(c, (long)outer * inner, ch => PreluForward(x.Buf<float>(), weight.Buf<float>(), y.Buf<float>(), ch, outer, c, inner));
        else Parallelism.For(c, (long)outer * inner, ch => PreluForward(x.Buf<double>(), weight.Buf<double>(), y.Buf<double>(), ch, outer, c, inner));
        if (!GradMode.Needs(x, weight)) return y;
        return Tape.Record(y, "prelu", [x, weight], g =>
        {
            g = BackwardRules.Rectifier(g, parametric: true);
            var gx = Tape.Wants(x) ? Tensor.Uninitialized(x.DType, x.Dims) : null;
            var perChannel = Tape.Wants(weight) ? new double[c] : null; // sum_{x <= 0} g x per channel, in float64
            if (x.DType == DType.Float32)
                Parallelism.For(c, (long)outer * inner * 2, ch => PreluBackward(g.Buf<float>(), x.Buf<float>(), weight.Buf<float>(), Opt<float>(gx), perChannel, ch, outer, c, inner));
            else
                Parallelism.For(c, (long)outer * inner * 2, ch => PreluBackward(g.Buf<double>(), x.Buf<double>(), weight.Buf<double>(), Opt<double>(gx), perChannel, ch, outer, c, inner));
            Tensor? gw = null;
            if (perChannel is not null)
            {
                gw = Tensor.Zeros(x.DType, weight.Dims);
                if (weight.Numel == 1) gw.SetFlat(0, perChannel.Sum());
                else for (int ch = 0; ch < c; ch++) gw.SetFlat(ch, perChannel[ch]);
            }
            return [gx, gw];
        });
    }

    /// <summary>LeakyReLU: x for x &gt; 0, else negativeSlope * x (the gradient at 0 is the slope, as PyTorch).</summary>
    /// <param name="x">Input.</param>
    /// <param name="negativeSlope">Slope for x &lt;= 0.</param>
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        if (x.DType == DType.Float32) LeakyKernel(x.Buf<float>(), x.Buf<float>(), (float)negativeSlope, y.Buf<float>());
        else LeakyKernel(x.Buf<double>(), x.Buf<double>(), negativeSlope, y.Buf<double>());
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "leaky_relu", [x], g =>
        {
            g = BackwardRules.Rectifier(g, parametric: true);
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            if (x.DType == DType.Float32) LeakyKernel(g.Buf<float>(), x.Buf<float>(), (float)negativeSlope, gx.Buf<float>());
            else LeakyKernel(g.Buf<double>(), x.Buf<double>(), negativeSlope, gx.Buf<double>());
            return [gx];
        });
    }

    /// <summary>ReLU6: min(max(x, 0), 6); the gradient is 0 at 0 and 6 (PyTorch's hardtanh rule).</summary>
    /// <param name="x">Input.</param>
    public static Tensor Relu6(Tensor x)
    {
        var y = ElementwiseKernels.Unary<Relu6Op>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "relu6", [x], g => [ElementwiseKernels.Binary<Relu6GradOp>("relu6", g, x)]) : y;
    }

    /// <summary>HardSigmoid: relu6(x + 3) / 6; the gradient is 1/6 strictly inside (-3, 3), else 0 (PyTorch).</summary>
    /// <param name="x">Input.</param>
    public static Tensor HardSigmoid(Tensor x)
    {
        var y = ElementwiseKernels.Unary<HardSigmoidOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "hardsigmoid", [x], g => [ElementwiseKernels.Binary<HardSigmoidGradOp>("hardsigmoid", g, x)]) : y;
    }

    /// <summary>HardSwish: x * relu6(x + 3) / 6; the gradient is x/3 + 1/2 on [-3, 3] (both ends included, as PyTorch).</summary>
    /// <param name="x">Input.</param>
    public static Tensor HardSwish(Tensor x)
    {
        var y = ElementwiseKernels.Unary<HardSwishOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "hardswish", [x], g => [ElementwiseKernels.Binary<HardSwishGradOp>("hardswish", g, x)]) : y;
    }

    // x, y: [outer, C, inner]; channel ch with slope w[ch] (or w[0]).
    private static void PreluForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, int ch, int outer, int c, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = w.Length == 1 ? w[0] : w[ch];
        for (int o = 0; o < outer; o++)
        {
            int off = (o * c + ch) * inner;
            LeakyKernel(x.Slice(off, inner), x.Slice(off, inner), a, y.Slice(off, inner));
        }
    }

    // g, x, gx: [outer, C, inner]; channel ch. gx empty when x needs no gradient; dw[ch] = sum_{x <= 0} g x when dw is given.
    private static void PreluBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> gx, double[]? dw, int ch, int outer, int c, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = w.Length == 1 ? w[0] : w[ch];
        double acc = 0;
        for (int o = 0; o < outer; o++)
        {
            int off = (o * c + ch) * inner;
            var gs = g.Slice(off, inner);
            var xs = x.Slice(off, inner);
            if (!gx.IsEmpty) LeakyKernel(gs, xs, a, gx.Slice(off, inner));
            if (dw is not null)
                for (int b = 0; b < inner; b += BnBlock) acc += double.CreateTruncating(PreluSlopeGrad(gs.Slice(b, Math.Min(BnBlock, inner - b)), xs.Slice(b, Math.Min(BnBlock, inner - b))));
        }
        if (dw is not null) dw[ch] = acc;
    }

    // d = x > 0 ? v : v * slope, with v = x (forward) or v = g (backward).
    private static void LeakyKernel<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> x, T slope, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T vr = ref MemoryMarshal.GetReference(v);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        var vs = new Vector<T>(slope);
        int i = 0;
        for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var vv = Vector.LoadUnsafe(ref vr, (nuint)i);
            Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref xr, (nuint)i), Vector<T>.Zero), vv, vv * vs).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < d.Length; i++) d[i] = x[i] > T.Zero ? v[i] : v[i] * slope;
    }

    // sum over x <= 0 of g x.
    private static T PreluSlopeGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T xr = ref MemoryMarshal.GetReference(x);
        var acc = Vector<T>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var xv = Vector.LoadUnsafe(ref xr, (nuint)i);
            acc += Vector.ConditionalSelect(Vector.GreaterThan(xv, Vector<T>.Zero), Vector<T>.Zero, xv * Vector.LoadUnsafe(ref gr, (nuint)i));
        }
        T s = Vector.Sum(acc);
        for (; i < x.Length; i++) if (!(x[i] > T.Zero)) s += g[i] * x[i];
        return s;
    }

    /// <summary>The vector form of a pointwise function, driven by <see cref="PwUnary{TOp, T}"/> and <see cref="PwBinary{TOp, T}"/>.</summary>
    private interface IPointwiseVec<TSelf> where TSelf : struct, IPointwiseVec<TSelf>
    {
        static abstract Vector<T> V<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T>;

        static abstract T S<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T>;
    }

    // d = op(x) (b unused): vector body, scalar tail.
    private static void PwUnary<TOp, T>(ReadOnlySpan<T> x, Span<T> d) where TOp : struct, IPointwiseVec<TOp> where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        int i = 0;
        for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count) TOp.V(Vector.LoadUnsafe(ref xr, (nuint)i), default).StoreUnsafe(ref dr, (nuint)i);
        for (; i < d.Length; i++) d[i] = TOp.S(x[i], T.Zero);
    }

    // d = op(g, x), same lengths.
    private static void PwBinary<TOp, T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d) where TOp : struct, IPointwiseVec<TOp> where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        int i = 0;
        for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count)
            TOp.V(Vector.LoadUnsafe(ref gr, (nuint)i), Vector.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
        for (; i < d.Length; i++) d[i] = TOp.S(g[i], x[i]);
    }

    private static T PwConst<T>(double v) where T : unmanaged, IFloatingPointIeee754<T> => T.CreateTruncating(v);

    private static Vector<T> PwVec<T>(double v) where T : unmanaged, IFloatingPointIeee754<T> => new(T.CreateTruncating(v));

    /// <summary>min(max(x, 0), 6).</summary>
    private struct Relu6Op : IUnaryOp<Relu6Op>, IPointwiseVec<Relu6Op>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => S(x, T.Zero);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => PwUnary<Relu6Op, T>(x, d);
        public static T S<T>(T x, T unused) where T : unmanaged, IFloatingPointIeee754<T> => T.Min(T.Max(x, T.Zero), PwConst<T>(6));
        public static Vector<T> V<T>(Vector<T> x, Vector<T> unused) where T : unmanaged, IFloatingPointIeee754<T> => Vector.Min(Vector.Max(x, Vector<T>.Zero), PwVec<T>(6));
    }

    /// <summary>(g, x) -> 0 where x &lt;= 0 or x &gt;= 6, else g.</summary>
    private struct Relu6GradOp : IBinaryOp<Relu6GradOp>, IPointwiseVec<Relu6GradOp>
    {
        public static T Apply<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T> => S(g, x);
        public static void Vec<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => PwBinary<Relu6GradOp, T>(g, x, d);
        public static T S<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T> => x <= T.Zero || x >= PwConst<T>(6) ? T.Zero : g;
        public static Vector<T> V<T>(Vector<T> g, Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
            => Vector.ConditionalSelect(Vector.LessThanOrEqual(x, Vector<T>.Zero) | Vector.GreaterThanOrEqual(x, PwVec<T>(6)), Vector<T>.Zero, g);
    }

    /// <summary>min(max(x + 3, 0), 6) / 6.</summary>
    private struct HardSigmoidOp : IUnaryOp<HardSigmoidOp>, IPointwiseVec<HardSigmoidOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => S(x, T.Zero);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => PwUnary<HardSigmoidOp, T>(x, d);
        public static T S<T>(T x, T unused) where T : unmanaged, IFloatingPointIeee754<T> => T.Min(T.Max(x + PwConst<T>(3), T.Zero), PwConst<T>(6)) / PwConst<T>(6);
        public static Vector<T> V<T>(Vector<T> x, Vector<T> unused) where T : unmanaged, IFloatingPointIeee754<T>
            => Vector.Min(Vector.Max(x + PwVec<T>(3), Vector<T>.Zero), PwVec<T>(6)) / PwVec<T>(6);
    }

    /// <summary>(g, x) -> g * (1/6) where -3 &lt; x &lt; 3, else 0.</summary>
    private struct HardSigmoidGradOp : IBinaryOp<HardSigmoidGradOp>, IPointwiseVec<HardSigmoidGradOp>
    {
        public static T Apply<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T> => S(g, x);
        public static void Vec<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => PwBinary<HardSigmoidGradOp, T>(g, x, d);
        public static T S<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T> => x > PwConst<T>(-3) && x < PwConst<T>(3) ? g * PwConst<T>(1.0 / 6) : T.Zero;
        public static Vector<T> V<T>(Vector<T> g, Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
            => Vector.ConditionalSelect(Vector.GreaterThan(x, PwVec<T>(-3)) & Vector.LessThan(x, PwVec<T>(3)), g * PwVec<T>(1.0 / 6), Vector<T>.Zero);
    }

    /// <summary>x * min(max(x + 3, 0), 6) / 6.</summary>
    private struct HardSwishOp : IUnaryOp<HardSwishOp>, IPointwiseVec<HardSwishOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => S(x, T.Zero);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => PwUnary<HardSwishOp, T>(x, d);
        public static T S<T>(T x, T unused) where T : unmanaged, IFloatingPointIeee754<T> => x * T.Min(T.Max(x + PwConst<T>(3), T.Zero), PwConst<T>(6)) / PwConst<T>(6);
        public static Vector<T> V<T>(Vector<T> x, Vector<T> unused) where T : unmanaged, IFloatingPointIeee754<T>
            => x * Vector.Min(Vector.Max(x + PwVec<T>(3), Vector<T>.Zero), PwVec<T>(6)) / PwVec<T>(6);
    }

    /// <summary>(g, x) -> 0 for x &lt; -3, g (x/3 + 1/2) for x &lt;= 3, else g (NaN x passes g, as PyTorch).</summary>
    private struct HardSwishGradOp : IBinaryOp<HardSwishGradOp>, IPointwiseVec<HardSwishGradOp>
    {
        public static T Apply<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T> => S(g, x);
        public static void Vec<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => PwBinary<HardSwishGradOp, T>(g, x, d);
        public static T S<T>(T g, T x) where T : unmanaged, IFloatingPointIeee754<T>
            => x < PwConst<T>(-3) ? T.Zero : x <= PwConst<T>(3) ? g * (x / PwConst<T>(3) + PwConst<T>(0.5)) : g;
        public static Vector<T> V<T>(Vector<T> g, Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
            => Vector.ConditionalSelect(Vector.LessThan(x, PwVec<T>(-3)), Vector<T>.Zero,
                Vector.ConditionalSelect(Vector.LessThanOrEqual(x, PwVec<T>(3)), g * (x / PwVec<T>(3) + PwVec<T>(0.5)), g));
    }
}
