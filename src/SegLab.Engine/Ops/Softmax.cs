// Softmax and log-softmax along an axis, numerically stable (max subtracted), with hand-written backward:
//   softmax:     dx = y * (g - sum(g * y))
//   log-softmax: dx = g - softmax(x) * sum(g)
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Softmax along <paramref name="axis"/>.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis (negative counts from the end).</param>
    public static Tensor Softmax(Tensor x, int axis)
    {
        ArgumentNullException.ThrowIfNull(x);
        int ax = Shapes.Axis(axis, x.Rank, "softmax");
        var y = SoftmaxForward(x, ax, log: false);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "softmax", [x], g =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            var (outer, n, inner) = Split3(x.Dims, ax);
            if (x.DType == DType.Float32) SoftmaxBackward(g.Buf<float>(), y.Buf<float>(), gx.Buf<float>(), outer, n, inner, log: false);
            else SoftmaxBackward(g.Buf<double>(), y.Buf<double>(), gx.Buf<double>(), outer, n, inner, log: false);
            return [gx];
        });
    }

    /// <summary>Log-softmax along <paramref name="axis"/>.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis (negative counts from the end).</param>
    public static Tensor LogSoftmax(Tensor x, int axis)
    {
        ArgumentNullException.ThrowIfNull(x);
        int ax = Shapes.Axis(axis, x.Rank, "log_softmax");
        var y = SoftmaxForward(x, ax, log: true);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "log_softmax", [x], g =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            var (outer, n, inner) = Split3(x.Dims, ax);
            if (x.DType == DType.Float32) SoftmaxBackward(g.Buf<float>(), y.Buf<float>(), gx.Buf<float>(), outer, n, inner, log: true);
            else SoftmaxBackward(g.Buf<double>(), y.Buf<double>(), gx.Buf<double>(), outer, n, inner, log: true);
            return [gx];
        });
    }

    private static Tensor SoftmaxForward(Tensor x, int ax, bool log)
    {
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        var (outer, n, inner) = Split3(x.Dims, ax);
        if (x.DType == DType.Float32) SoftmaxKernel(x.Buf<float>(), y.Buf<float>(), outer, n, inner, log);
        else SoftmaxKernel(x.Buf<double>(), y.Buf<double>(), outer, n, inner, log);
        return y;
    }

    // x, y: [outer, n, inner]; softmax over n. inner == 1 is the contiguous fast path.
    private static void SoftmaxKernel<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) return;
        if (inner == 1)
        {
            var tmp = log ? new T[n] : [];
            for (int o = 0; o < outer; o++)
            {
                var xs = x.Slice(o * n, n);
                var ys = y.Slice(o * n, n);
                T max = TensorPrimitives.Max(xs);
                TensorPrimitives.Subtract(xs, max, ys);
                if (log)
                {
                    TensorPrimitives.Exp(ys, tmp);
                    T lse = T.Log(TensorPrimitives.Sum<T>(tmp));
                    TensorPrimitives.Subtract(ys, lse, ys);
                }
                else
                {
                    TensorPrimitives.Exp(ys, ys);
                    T s = TensorPrimitives.Sum<T>(ys);
                    TensorPrimitives.Divide(ys, s, ys);
                }
            }
            return;
        }
        var m = new T[inner];
        var s2 = new T[inner];
        var e = new T[inner];
        for (int o = 0; o < outer; o++)
        {
            int baseOff = o * n * inner;
            x.Slice(baseOff, inner).CopyTo(m);
            for (int j = 1; j < n; j++) TensorPrimitives.Max(m, x.Slice(baseOff + j * inner, inner), m);
            Array.Clear(s2);
            for (int j = 0; j < n; j++)
            {
                var ys = y.Slice(baseOff + j * inner, inner);
                TensorPrimitives.Subtract(x.Slice(baseOff + j * inner, inner), m, ys);
                TensorPrimitives.Exp(ys, e);
                TensorPrimitives.Add(s2, e, s2);
                if (!log) e.CopyTo(ys);
            }
            if (log)
            {
                TensorPrimitives.Log(s2, s2);
                for (int j = 0; j < n; j++)
                {
                    var ys = y.Slice(baseOff + j * inner, inner);
                    TensorPrimitives.Subtract(ys, s2, ys);
                }
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    var ys = y.Slice(baseOff + j * inner, inner);
                    TensorPrimitives.Divide(ys, s2, ys);
                }
            }
        }
    }

    // g, y, gx: [outer, n, inner]. softmax: gx = y (g - sum g y); log-softmax: gx = g - exp(y) sum g.
    private static void SoftmaxBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> gx, int outer, int n, int inner, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var acc = new T[inner];
        var tmp = new T[inner];
        for (int o = 0; o < outer; o++)
        {
            int baseOff = o * n * inner;
            Array.Clear(acc);
            for (int j = 0; j < n; j++)
            {
                var gs = g.Slice(baseOff + j * inner, inner);
                if (log) TensorPrimitives.Add(acc, gs, acc);
                else
                {
                    TensorPrimitives.Multiply(gs, y.Slice(baseOff + j * inner, inner), tmp);
                    TensorPrimitives.Add(acc, tmp, acc);
                }
            }
            for (int j = 0; j < n; j++)
            {
                int off = baseOff + j * inner;
                var gs = g.Slice(off, inner);
                var ys = y.Slice(off, inner);
                var d = gx.Slice(off, inner);
                if (log)
                {
                    TensorPrimitives.Exp(ys, tmp);
                    TensorPrimitives.Multiply(tmp, acc, tmp);
                    TensorPrimitives.Subtract(gs, tmp, d);
                }
                else
                {
                    TensorPrimitives.Subtract(gs, acc, tmp);
                    TensorPrimitives.Multiply(tmp, ys, d);
                }
            }
        }
    }
}
