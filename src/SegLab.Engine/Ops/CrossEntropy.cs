// Cross-entropy over class logits [N, C, H, W] (or [N, C]) against integer targets stored as floats, PyTorch's
// semantics: loss_i = -w[y_i] log_softmax(x_i)[y_i]; ignored targets contribute nothing and, with Mean, the sum is
// divided by the sum of w[y_i] over the kept pixels (so an all-ignored batch gives NaN, as in PyTorch).
// Fused hand-written kernels, vectorised across each H*W plane:
//   forward:  lse = max + log sum exp(x - max);  loss = w[y] (lse - x[y])
//   backward: dx[c] = g * w[y] * (softmax[c] - [c == y]), zero at ignored pixels
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

/// <summary>How a per-element loss is reduced.</summary>
public enum Reduction
{
    /// <summary>No reduction: one value per pixel.</summary>
    None,

    /// <summary>Weighted mean over kept pixels.</summary>
    Mean,

    /// <summary>Sum over kept pixels.</summary>
    Sum,
}

public static partial class Ops
{
    /// <summary>Cross-entropy of logits [N, C, ...] against class ids [N, ...] (floats holding integers).</summary>
    /// <param name="logits">Class scores.</param>
    /// <param name="target">Class ids; <paramref name="ignoreIndex"/> marks pixels to skip. Receives no gradient.</param>
    /// <param name="ignoreIndex">Target value to ignore.</param>
    /// <param name="classWeights">Optional weights [C]. Receive no gradient.</param>
    /// <param name="reduction">Mean (default), Sum, or None ([N, ...]).</param>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, int ignoreIndex = -100, Tensor? classWeights = null, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        if (logits.Rank < 2) throw new ArgumentException($"cross_entropy: logits need [N, C, ...], got {Shapes.Format(logits.Shape)}.");
        int n = logits.Dims[0], c = logits.Dims[1], hw = logits.Numel / Math.Max(1, n * c);
        var expected = logits.Dims.Where((_, i) => i != 1).ToArray();
        if (!Shapes.Equal(target.Shape, expected))
            throw new ArgumentException($"cross_entropy: target {Shapes.Format(target.Shape)} does not match logits {Shapes.Format(logits.Shape)} (expected {Shapes.Format(expected)}).");
        if (classWeights is not null && classWeights.Numel != c)
            throw new ArgumentException($"cross_entropy: {classWeights.Numel} class weights for {c} classes.");

        var labels = new int[n * hw];
        var t = target.ToArrayF64();
        for (int i = 0; i < labels.Length; i++)
        {
            double v = t[i];
            int id = (int)v;
            if (id != v || (id != ignoreIndex && (id < 0 || id >= c)))
                throw new ArgumentException($"cross_entropy: target value {v} at position {i} is not a class in [0, {c}) nor the ignore index {ignoreIndex}.");
            labels[i] = id == ignoreIndex ? -1 : id;
        }
        var w = classWeights?.ToArrayF64();
        var perPixel = Tensor.Uninitialized(logits.DType, expected);
        var lse = Tensor.Uninitialized(logits.DType, expected);
        if (logits.DType == DType.Float32) CeForward(logits.Buf<float>(), labels, w, perPixel.Buf<float>(), lse.Buf<float>(), n, c, hw);
        else CeForward(logits.Buf<double>(), labels, w, perPixel.Buf<double>(), lse.Buf<double>(), n, c, hw);

        double weightSum = 0;
        foreach (int id in labels) if (id >= 0) weightSum += w is null ? 1 : w[id];
        Tensor y = reduction switch
        {
            Reduction.None => perPixel,
            Reduction.Sum => Tensor.Full(logits.DType, SumAsDouble(perPixel), []),
            _ => Tensor.Full(logits.DType, SumAsDouble(perPixel) / weightSum, []),
        };
        if (!GradMode.Needs(logits)) return y;
        return Tape.Record(y, "cross_entropy", [logits], g =>
        {
            var gx = Tensor.Uninitialized(logits.DType, logits.Dims);
            double scale = reduction == Reduction.Mean ? 1.0 / weightSum : 1.0;
            if (logits.DType == DType.Float32) CeBackward(logits.Buf<float>(), lse.Buf<float>(), labels, w, g.Buf<float>(), reduction == Reduction.None, (float)scale, gx.Buf<float>(), n, c, hw);
            else CeBackward(logits.Buf<double>(), lse.Buf<double>(), labels, w, g.Buf<double>(), reduction == Reduction.None, scale, gx.Buf<double>(), n, c, hw);
            return [gx];
        });
    }

    private static double SumAsDouble(Tensor t)
    {
        double s = 0;
        if (t.DType == DType.Float32) foreach (float v in t.Span) s += v;
        else foreach (double v in t.SpanF64) s += v;
        return s;
    }

    // x: [N, C, HW]; per image: max and sum-exp planes over C, then per-pixel loss (0 where ignored).
    private static void CeForward<T>(ReadOnlySpan<T> x, int[] labels, double[]? w, Span<T> loss, Span<T> lse, int n, int c, int hw)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tmp = new T[hw];
        for (int i = 0; i < n; i++)
        {
            var max = lse.Slice(i * hw, hw);
            var sum = loss.Slice(i * hw, hw);
            x.Slice(i * c * hw, hw).CopyTo(max);
            for (int ch = 1; ch < c; ch++) TensorPrimitives.Max(max, x.Slice((i * c + ch) * hw, hw), max);
            sum.Clear();
            for (int ch = 0; ch < c; ch++)
            {
                TensorPrimitives.Subtract(x.Slice((i * c + ch) * hw, hw), max, tmp);
                TensorPrimitives.Exp(tmp, tmp);
                TensorPrimitives.Add(sum, tmp, sum);
            }
            TensorPrimitives.Log(sum, sum);
            TensorPrimitives.Add(max, sum, max); // lse
            for (int s = 0; s < hw; s++)
            {
                int y = labels[i * hw + s];
                sum[s] = y < 0 ? T.Zero : (max[s] - x[(i * c + y) * hw + s]) * (w is null ? T.One : T.CreateTruncating(w[y]));
            }
        }
    }

    private static void CeBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> lse, int[] labels, double[]? w, ReadOnlySpan<T> g, bool perPixelGrad, T scale, Span<T> gx, int n, int c, int hw)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var coef = new T[hw];
        for (int i = 0; i < n; i++)
        {
            for (int s = 0; s < hw; s++)
            {
                int y = labels[i * hw + s];
                T gs = perPixelGrad ? g[i * hw + s] : g[0];
                coef[s] = y < 0 ? T.Zero : gs * scale * (w is null ? T.One : T.CreateTruncating(w[y]));
            }
            var l = lse.Slice(i * hw, hw);
            for (int ch = 0; ch < c; ch++)
            {
                int off = (i * c + ch) * hw;
                var d = gx.Slice(off, hw);
                TensorPrimitives.Subtract(x.Slice(off, hw), l, d);
                TensorPrimitives.Exp(d, d);
                TensorPrimitives.Multiply(d, coef, d);
            }
            for (int s = 0; s < hw; s++)
            {
                int y = labels[i * hw + s];
                if (y >= 0) gx[(i * c + y) * hw + s] -= coef[s];
            }
        }
    }
}
