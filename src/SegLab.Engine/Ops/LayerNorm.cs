// Layer normalisation over the last axis (Ba, Kiros, Hinton 2016; PyTorch's F.layer_norm with normalized_shape = [D]),
// with a hand-written backward. Per row x [D]:
//   forward:  mu = mean x;  var = mean (x - mu)^2 (biased);  r = 1 / sqrt(var + eps);  xh = (x - mu) r;  y = xh w + b
//   backward: gh = g w;  dx = r (gh - mean gh - xh mean(gh xh));  dw = sum_rows g xh;  db = sum_rows g
// Shapes: x [.., D], weight and bias [D] (either may be null). Rows are independent, so they run in parallel.
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Layer normalisation of the last axis, then an optional per-feature scale and shift.</summary>
    /// <param name="x">[.., D].</param>
    /// <param name="weight">[D] or null (scale 1).</param>
    /// <param name="bias">[D] or null (shift 0).</param>
    /// <param name="eps">Added to the variance.</param>
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1) throw new ArgumentException("layer_norm: the input needs rank >= 1.");
        int d = x.Dims[^1], rows = d == 0 ? 0 : x.Numel / d;
        foreach (var (t, name) in new[] { (weight, "weight"), (bias, "bias") })
        {
            if (t is null) continue;
            if (t.Rank != 1 || t.Dims[0] != d)
                throw new ArgumentException($"layer_norm: {name} {Shapes.Format(t.Shape)} must be [{d}] for input {Shapes.Format(x.Shape)}.");
            if (t.DType != x.DType) throw new ArgumentException($"layer_norm: {name} is {t.DType}, input {x.DType}.");
        }
        if (!(eps > 0)) throw new ArgumentException($"layer_norm: eps must be positive, got {eps}.");
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        var xh = Tensor.Uninitialized(x.DType, x.Dims);
        var rstd = Tensor.Uninitialized(x.DType, [rows]);
        long work = 6L * d;
        if (x.DType == DType.Float32)
            Parallelism.For(rows, work, r => LayerNormRow(x.Buf<float>(), weight is null ? default : weight.Buf<float>(), bias is null ? default : bias.Buf<float>(), y.Buf<float>(), xh.Buf<float>(), rstd.Buf<float>(), r, d, (float)eps));
        else
            Parallelism.For(rows, work, r => LayerNormRow(x.Buf<double>(), weight is null ? default : weight.Buf<double>(), bias is null ? default : bias.Buf<double>(), y.Buf<double>(), xh.Buf<double>(), rstd.Buf<double>(), r, d, eps));
        Tensor[] inputs = weight is null && bias is null ? [x] : weight is null ? [x, bias!] : bias is null ? [x, weight] : [x, weight, bias];
        if (!GradMode.Needs(inputs)) return y;
        return Tape.Record(y, "layer_norm", inputs, g =>
        {
            var gx = Tape.Wants(x) ? Tensor.Uninitialized(x.DType, x.Dims) : null;
            if (gx is not null)
            {
                if (x.DType == DType.Float32)
                    Parallelism.For(rows, work, r => LayerNormBackwardRow(g.Buf<float>(), xh.Buf<float>(), rstd.Buf<float>(), weight is null ? default : weight.Buf<float>(), gx.Buf<float>(), r, d));
                else
                    Parallelism.For(rows, work, r => LayerNormBackwardRow(g.Buf<double>(), xh.Buf<double>(), rstd.Buf<double>(), weight is null ? default : weight.Buf<double>(), gx.Buf<double>(), r, d));
            }
            Tensor? gw = null, gb = null;
            if (Tape.Wants(weight)) gw = x.DType == DType.Float32 ? ColumnSums<float>(g, xh, rows, d) : ColumnSums<double>(g, xh, rows, d);
            if (Tape.Wants(bias)) gb = x.DType == DType.Float32 ? ColumnSums<float>(g, null, rows, d) : ColumnSums<double>(g, null, rows, d);
            var grads = new List<Tensor?> { gx };
            if (weight is not null) grads.Add(gw);
            if (bias is not null) grads.Add(gb);
            return [.. grads];
        });
    }

    // Row r of x [rows, d]: y = (x - mu) r w + b; keeps xh and r for the backward pass.
    private static void LayerNormRow<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> y, Span<T> xh, Span<T> rstd, int r, int d, T eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = x.Slice(r * d, d);
        var hs = xh.Slice(r * d, d);
        var ys = y.Slice(r * d, d);
        T n = T.CreateChecked(d);
        T mu = TensorPrimitives.Sum(xs) / n;
        TensorPrimitives.Subtract(xs, mu, hs);
        T var = TensorPrimitives.Dot<T>(hs, hs) / n;
        T rs = T.One / T.Sqrt(var + eps);
        rstd[r] = rs;
        TensorPrimitives.Multiply(hs, rs, hs);
        if (w.IsEmpty) hs.CopyTo(ys); else TensorPrimitives.Multiply(hs, w, ys);
        if (!b.IsEmpty) TensorPrimitives.Add(ys, b, ys);
    }

    // Row r: dx = r (gh - mean gh - xh mean(gh xh)) with gh = g w.
    private static void LayerNormBackwardRow<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> xh, ReadOnlySpan<T> rstd, ReadOnlySpan<T> w, Span<T> gx, int r, int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var gs = g.Slice(r * d, d);
        var hs = xh.Slice(r * d, d);
        var dx = gx.Slice(r * d, d);
        if (w.IsEmpty) gs.CopyTo(dx); else TensorPrimitives.Multiply(gs, w, dx);
        T n = T.CreateChecked(d);
        T meanG = TensorPrimitives.Sum<T>(dx) / n;
        T meanGh = TensorPrimitives.Dot<T>(dx, hs) / n;
        for (int i = 0; i < d; i++) dx[i] = rstd[r] * (dx[i] - meanG - hs[i] * meanGh);
    }

    // sum over rows of g (times xh when given): [d].
    private static Tensor ColumnSums<T>(Tensor g, Tensor? xh, int rows, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = Tensor.Zeros(g.DType, d);
        var acc = s.Buf<T>();
        var gs = g.Buf<T>();
        var tmp = new T[d];
        for (int r = 0; r < rows; r++)
        {
            if (xh is null) TensorPrimitives.Add(acc, gs.Slice(r * d, d), acc);
            else
            {
                TensorPrimitives.Multiply(gs.Slice(r * d, d), xh.Buf<T>().Slice(r * d, d), tmp);
                TensorPrimitives.Add(acc, tmp, acc);
            }
        }
        return s;
    }
}
