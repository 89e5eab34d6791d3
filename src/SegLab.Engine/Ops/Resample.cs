// Separable resampling of NCHW planes by explicit per-axis tables, with a hand-written forward/backward: each output
// row (column) reads two source rows (columns) i0, i1 with weights 1 - t and t. Nearest neighbour is a table with
// t = 0; bilinear under any coordinate rule (ONNX Resize's half_pixel, asymmetric, align_corners, ...) is a table
// computed by the caller. Interpolate.cs stays the fast path for PyTorch's own two rules.
//   forward:  y[n, c, oh, ow] = sum_{a, b} wr[oh, a] wc[ow, b] x[n, c, ir[oh, a], ic[ow, b]]
//   backward: the exact adjoint, scatter-added per plane (planes run in parallel).
using System.Numerics;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

/// <summary>One axis of a <see cref="Ops.Resample2d"/> table: output position o reads (1 - T[o]) * in[I0[o]] + T[o] * in[I1[o]].</summary>
/// <param name="I0">First source index per output position.</param>
/// <param name="I1">Second source index per output position.</param>
/// <param name="T">Weight of the second source, in [0, 1].</param>
public sealed record ResampleAxis(int[] I0, int[] I1, double[] T)
{
    /// <summary>Output length.</summary>
    public int Length => I0.Length;

    /// <summary>Nearest-neighbour table: output o reads source[o] alone.</summary>
    /// <param name="source">Source index per output position.</param>
    public static ResampleAxis Nearest(int[] source) => new(source, source, new double[source.Length]);

    internal void Validate(int inLength, string axis)
    {
        if (I1.Length != I0.Length || T.Length != I0.Length)
            throw new ArgumentException($"resample2d: the {axis} table has {I0.Length}, {I1.Length} and {T.Length} entries (must be equal).");
        for (int o = 0; o < I0.Length; o++)
            if ((uint)I0[o] >= (uint)inLength || (uint)I1[o] >= (uint)inLength || !(T[o] >= 0 && T[o] <= 1))
                throw new ArgumentException($"resample2d: {axis} entry {o} reads ({I0[o]}, {I1[o]}) with weight {T[o]}, outside an input of {inLength}.");
    }
}

public static partial class Ops
{
    /// <summary>Resamples [N, C, H, W] to [N, C, rows.Length, cols.Length] by per-axis two-tap tables (differentiable).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="rows">Vertical table (indices into H).</param>
    /// <param name="cols">Horizontal table (indices into W).</param>
    public static Tensor Resample2d(Tensor x, ResampleAxis rows, ResampleAxis cols)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(cols);
        if (x.Rank != 4) throw new ArgumentException($"resample2d: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        int n = x.Dims[0], c = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        rows.Validate(h, "row");
        cols.Validate(w, "column");
        int ho = rows.Length, wo = cols.Length;
        var y = Tensor.Zeros(x.DType, [n, c, ho, wo]);
        long work = 4L * ho * wo;
        if (x.DType == DType.Float32) Parallelism.For(n * c, work, p => ResamplePlane<float>(x.Buf<float>().Slice(p * h * w, h * w), y.Buf<float>().Slice(p * ho * wo, ho * wo), w, wo, rows, cols, false));
        else Parallelism.For(n * c, work, p => ResamplePlane<double>(x.Buf<double>().Slice(p * h * w, h * w), y.Buf<double>().Slice(p * ho * wo, ho * wo), w, wo, rows, cols, false));
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "resample2d", [x], g =>
        {
            var gx = Tensor.Zeros(x.DType, x.Dims);
            if (x.DType == DType.Float32) Parallelism.For(n * c, work, p => ResamplePlane<float>(gx.Buf<float>().Slice(p * h * w, h * w), g.Buf<float>().Slice(p * ho * wo, ho * wo), w, wo, rows, cols, true));
            else Parallelism.For(n * c, work, p => ResamplePlane<double>(gx.Buf<double>().Slice(p * h * w, h * w), g.Buf<double>().Slice(p * ho * wo, ho * wo), w, wo, rows, cols, true));
            return [gx];
        });
    }

    // One plane: forward reads src (H x W) into dst (Ho x Wo); backward (adjoint) scatters dst into src. Weights
    // are formed in double and applied in the tensor's type.
    private static void ResamplePlane<T>(Span<T> src, Span<T> dst, int w, int wo, ResampleAxis rows, ResampleAxis cols, bool adjoint)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int oh = 0; oh < rows.Length; oh++)
        {
            int r0 = rows.I0[oh] * w, r1 = rows.I1[oh] * w;
            double tr = rows.T[oh];
            T a0 = T.CreateTruncating(1 - tr), a1 = T.CreateTruncating(tr);
            for (int ow = 0; ow < wo; ow++)
            {
                int c0 = cols.I0[ow], c1 = cols.I1[ow];
                double tc = cols.T[ow];
                T b0 = T.CreateTruncating(1 - tc), b1 = T.CreateTruncating(tc);
                ref T o = ref dst[oh * wo + ow];
                if (!adjoint)
                {
                    o = a0 * (b0 * src[r0 + c0] + b1 * src[r0 + c1]) + a1 * (b0 * src[r1 + c0] + b1 * src[r1 + c1]);
                }
                else
                {
                    T gv = o;
                    src[r0 + c0] += a0 * b0 * gv;
                    src[r0 + c1] += a0 * b1 * gv;
                    src[r1 + c0] += a1 * b0 * gv;
                    src[r1 + c1] += a1 * b1 * gv;
                }
            }
        }
    }
}
