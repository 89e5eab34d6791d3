// Resizing of NCHW images (PyTorch F.interpolate): legacy 'nearest' and 'bilinear' (align_corners both ways), with
// hand-written forward/backward. Semantics follow PyTorch's CPU kernels, including how a scale factor is used
// (recompute_scale_factor=None: the kernel scale is 1/scale_factor, not in/out).
//
// Bilinear, per axis (a table computed once per call): scale = (in-1)/(out-1) (align_corners) or in/out, in the
// tensor's type; the source coordinate src = scale*dst or max(scale*(dst+0.5)-0.5, 0) is computed in double;
// i0 = min(trunc(src), in-1), i1 = i0 + (i0 < in-1), lambda1 = clamp(src - i0, 0, 1) rounded to the tensor's type,
// lambda0 = 1 - lambda1; an axis whose size does not change is copied. A pixel is
//   y = x00*(h0*w0) + x01*(h0*w1) + x10*(h1*w0) + x11*(h1*w1),
// weight products in the tensor's type and, for float32, the sum in double rounded once: this reproduces
// PyTorch 1.13's float32 CPU output bit for bit on single-channel planes and to about one ulp otherwise.
// Speed: per plane, the two columns each input row contributes (x[h, i0[ow]], x[h, i1[ow]]) are gathered once into
// contiguous rows, so every output row is a gather-free vector loop; the backward is the exact adjoint done the same
// way in reverse (vector multiply-adds into gathered rows, then one scatter-add per input row). Planes run in parallel.
using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

/// <summary>Resampling rule of <see cref="Ops.Interpolate(Tensor, int, int, InterpolationMode, bool)"/>.</summary>
public enum InterpolationMode
{
    /// <summary>PyTorch's legacy 'nearest': source index floor(dst * in / out).</summary>
    Nearest,

    /// <summary>Bilinear interpolation ('bilinear').</summary>
    Bilinear,
}

public static partial class Ops
{
    /// <summary>Resizes an NCHW tensor to [N, C, outH, outW] (PyTorch <c>F.interpolate(x, size=(outH, outW), mode=...)</c>).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="outH">Output height.</param>
    /// <param name="outW">Output width.</param>
    /// <param name="mode">Nearest or bilinear.</param>
    /// <param name="alignCorners">Bilinear only: map corner pixel centres onto each other (src = dst * (in-1)/(out-1)).</param>
    public static Tensor Interpolate(Tensor x, int outH, int outW, InterpolationMode mode, bool alignCorners = false)
        => InterpolateCore(x, outH, outW, mode, alignCorners, null);

    /// <summary>
    /// Resizes an NCHW tensor by <paramref name="scaleFactor"/> (PyTorch <c>F.interpolate(x, scale_factor=s, mode=...)</c>):
    /// the output size is floor(size * s) and, as in PyTorch, the kernel samples with scale 1/s (unless align_corners).
    /// </summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="scaleFactor">Positive scale for both axes.</param>
    /// <param name="mode">Nearest or bilinear.</param>
    /// <param name="alignCorners">Bilinear only: map corner pixel centres onto each other.</param>
    public static Tensor Interpolate(Tensor x, double scaleFactor, InterpolationMode mode, bool alignCorners = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"interpolate: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        if (!(scaleFactor > 0) || double.IsInfinity(scaleFactor))
            throw new ArgumentException($"interpolate: scale factor {scaleFactor} must be positive and finite (input {Shapes.Format(x.Shape)}).");
        double oh = Math.Floor(x.Dims[2] * scaleFactor), ow = Math.Floor(x.Dims[3] * scaleFactor);
        if (oh > int.MaxValue || ow > int.MaxValue)
            throw new ArgumentException($"interpolate: scale factor {scaleFactor} makes input {Shapes.Format(x.Shape)} too large.");
        return InterpolateCore(x, (int)oh, (int)ow, mode, alignCorners, scaleFactor);
    }

    private static Tensor InterpolateCore(Tensor x, int outH, int outW, InterpolationMode mode, bool alignCorners, double? scale)
    {
        ArgumentNullException.ThrowIfNull(x);
        string op = mode == InterpolationMode.Bilinear ? "interpolate (bilinear)" : "interpolate (nearest)";
        if (mode is not (InterpolationMode.Nearest or InterpolationMode.Bilinear))
            throw new ArgumentOutOfRangeException(nameof(mode), $"interpolate: unknown mode {mode} (input {Shapes.Format(x.Shape)}).");
        if (x.Rank != 4) throw new ArgumentException($"{op}: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        if (mode == InterpolationMode.Nearest && alignCorners)
            throw new ArgumentException($"{op}: align_corners can only be set with bilinear interpolation (input {Shapes.Format(x.Shape)}).");
        int n = x.Dims[0], c = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        if (outH <= 0 || outW <= 0 || h <= 0 || w <= 0)
            throw new ArgumentException($"{op}: cannot resize input {Shapes.Format(x.Shape)} to ({outH}, {outW}); both sizes must be positive.");
        var y = Tensor.Uninitialized(x.DType, [n, c, outH, outW]);
        int planes = n * c;
        BackwardFn backward;
        if (mode == InterpolationMode.Nearest)
        {
            var hi = NearestSourceIndices(h, outH, scale);
            var wi = NearestSourceIndices(w, outW, scale);
            if (x.DType == DType.Float32) NearestForward((float[])x.Storage, (float[])y.Storage, planes, h, w, hi, wi);
            else NearestForward((double[])x.Storage, (double[])y.Storage, planes, h, w, hi, wi);
            if (!GradMode.Needs(x)) return y;
            backward = g =>
            {
                var gx = Tensor.Zeros(x.DType, x.Dims);
                if (x.DType == DType.Float32) NearestBackward((float[])g.Storage, (float[])gx.Storage, planes, h, w, hi, wi);
                else NearestBackward((double[])g.Storage, (double[])gx.Storage, planes, h, w, hi, wi);
                return [gx];
            };
            return Tape.Record(y, "upsample_nearest2d", [x], backward);
        }
        if (x.DType == DType.Float32)
        {
            var plan = new BilinearPlan<float>(h, w, outH, outW, alignCorners, scale);
            plan.Forward((float[])x.Storage, (float[])y.Storage, planes);
            if (!GradMode.Needs(x)) return y;
            backward = g =>
            {
                var gx = Tensor.Zeros(x.DType, x.Dims);
                plan.Backward((float[])g.Storage, (float[])gx.Storage, planes);
                return [gx];
            };
        }
        else
        {
            var plan = new BilinearPlan<double>(h, w, outH, outW, alignCorners, scale);
            plan.Forward((double[])x.Storage, (double[])y.Storage, planes);
            if (!GradMode.Needs(x)) return y;
            backward = g =>
            {
                var gx = Tensor.Zeros(x.DType, x.Dims);
                plan.Backward((double[])g.Storage, (double[])gx.Storage, planes);
                return [gx];
            };
        }
        return Tape.Record(y, "upsample_bilinear2d", [x], backward);
    }

    /// <summary>PyTorch's nearest_idx: copy when sizes match, dst >> 1 when doubling, else min(floor(dst * scale), in-1) in float.</summary>
    private static int[] NearestSourceIndices(int inSize, int outSize, double? scaleFactor)
    {
        var idx = new int[outSize];
        float scale = scaleFactor is double s && s > 0 ? (float)(1.0 / s) : (float)inSize / outSize;
        for (int d = 0; d < outSize; d++)
        {
            if (outSize == inSize) idx[d] = d;
            else if (outSize == 2 * inSize) idx[d] = d >> 1;
            else idx[d] = Math.Min((int)MathF.Floor(d * scale), inSize - 1);
        }
        return idx;
    }

    // x: [P, H, W] -> y: [P, OH, OW]; y[p, oh, ow] = x[p, hi[oh], wi[ow]]. Repeated source rows are copied.
    private static void NearestForward<T>(T[] x, T[] y, int planes, int h, int w, int[] hi, int[] wi) where T : unmanaged
    {
        int oh = hi.Length, ow = wi.Length;
        Parallelism.For(planes, (long)oh * ow, p =>
        {
            var xp = new ReadOnlySpan<T>(x, p * h * w, h * w);
            var yp = new Span<T>(y, p * oh * ow, oh * ow);
            for (int r = 0; r < oh; r++)
            {
                var dst = yp.Slice(r * ow, ow);
                if (r > 0 && hi[r] == hi[r - 1])
                {
                    yp.Slice((r - 1) * ow, ow).CopyTo(dst);
                    continue;
                }
                var src = xp.Slice(hi[r] * w, w);
                for (int q = 0; q < ow; q++) dst[q] = src[wi[q]];
            }
        });
    }

    // gy: [P, OH, OW] -> gx: [P, H, W] (zeroed); gx[p, hi[oh], wi[ow]] += gy[p, oh, ow].
    private static void NearestBackward<T>(T[] gy, T[] gx, int planes, int h, int w, int[] hi, int[] wi) where T : unmanaged, INumber<T>
    {
        int oh = hi.Length, ow = wi.Length;
        Parallelism.For(planes, (long)oh * ow, p =>
        {
            var gp = new ReadOnlySpan<T>(gy, p * oh * ow, oh * ow);
            var dp = new Span<T>(gx, p * h * w, h * w);
            for (int r = 0; r < oh; r++)
            {
                var src = gp.Slice(r * ow, ow);
                var dst = dp.Slice(hi[r] * w, w);
                for (int q = 0; q < ow; q++) dst[wi[q]] += src[q];
            }
        });
    }

    /// <summary>Index and weight tables of one bilinear resize, built once per call and shared by forward and backward.</summary>
    private sealed class BilinearPlan<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly int _h, _w, _oh, _ow;
        private readonly int[] _hi0, _hi1, _wi0, _wi1;
        private readonly T[] _ha0, _ha1, _wb0, _wb1;
        private readonly bool[] _rowUsed;

        public BilinearPlan(int h, int w, int oh, int ow, bool alignCorners, double? scale)
        {
            (_h, _w, _oh, _ow) = (h, w, oh, ow);
            (_hi0, _hi1, _ha0, _ha1) = Axis(h, oh, alignCorners, scale);
            (_wi0, _wi1, _wb0, _wb1) = Axis(w, ow, alignCorners, scale);
            _rowUsed = new bool[h];
            for (int r = 0; r < oh; r++) _rowUsed[_hi0[r]] = _rowUsed[_hi1[r]] = true;
        }

        private static (int[] I0, int[] I1, T[] L0, T[] L1) Axis(int inSize, int outSize, bool alignCorners, double? scaleFactor)
        {
            T scale = alignCorners
                ? (outSize > 1 ? T.CreateTruncating(inSize - 1) / T.CreateTruncating(outSize - 1) : T.Zero)
                : (scaleFactor is double s && s > 0 ? T.CreateTruncating(1.0 / s) : T.CreateTruncating(inSize) / T.CreateTruncating(outSize));
            double sc = double.CreateTruncating(scale);
            var i0 = new int[outSize];
            var i1 = new int[outSize];
            var l0 = new T[outSize];
            var l1 = new T[outSize];
            for (int d = 0; d < outSize; d++)
            {
                if (outSize == inSize)
                {
                    i0[d] = i1[d] = d;
                    l0[d] = T.One;
                    l1[d] = T.Zero;
                    continue;
                }
                double src = alignCorners ? sc * d : Math.Max(sc * (d + 0.5) - 0.5, 0.0);
                int a = (int)Math.Min(src, inSize - 1);
                i0[d] = a;
                i1[d] = a < inSize - 1 ? a + 1 : a;
                T lambda1 = T.CreateTruncating(Math.Clamp(src - a, 0.0, 1.0));
                l1[d] = lambda1;
                l0[d] = T.One - lambda1;
            }
            return (i0, i1, l0, l1);
        }

        // x: [P, H, W] -> y: [P, OH, OW]. Per plane: G0[h, ow] = x[h, i0[ow]], G1[h, ow] = x[h, i1[ow]] for used rows,
        // then each output row combines rows h0 and h1 of G0 and G1 with vector code.
        public void Forward(T[] x, T[] y, int planes)
        {
            int h = _h, w = _w, oh = _oh, ow = _ow;
            Parallelism.For(planes, (long)oh * ow * 8 + (long)h * ow * 2, p =>
            {
                var g0 = ArrayPool<T>.Shared.Rent(h * ow);
                var g1 = ArrayPool<T>.Shared.Rent(h * ow);
                try
                {
                    var xp = new ReadOnlySpan<T>(x, p * h * w, h * w);
                    for (int r = 0; r < h; r++)
                    {
                        if (!_rowUsed[r]) continue;
                        var src = xp.Slice(r * w, w);
                        var d0 = g0.AsSpan(r * ow, ow);
                        var d1 = g1.AsSpan(r * ow, ow);
                        for (int q = 0; q < ow; q++)
                        {
                            d0[q] = src[_wi0[q]];
                            d1[q] = src[_wi1[q]];
                        }
                    }
                    var yp = new Span<T>(y, p * oh * ow, oh * ow);
                    for (int r = 0; r < oh; r++)
                    {
                        int r0 = _hi0[r] * ow, r1 = _hi1[r] * ow;
                        Row(g0.AsSpan(r0, ow), g1.AsSpan(r0, ow), g0.AsSpan(r1, ow), g1.AsSpan(r1, ow), _ha0[r], _ha1[r], yp.Slice(r * ow, ow));
                    }
                }
                finally
                {
                    ArrayPool<T>.Shared.Return(g0);
                    ArrayPool<T>.Shared.Return(g1);
                }
            });
        }

        // gy: [P, OH, OW] -> gx: [P, H, W] (zeroed), the exact adjoint of Forward: G0[h0] += a0*b0*g, G1[h0] += a0*b1*g,
        // G0[h1] += a1*b0*g, G1[h1] += a1*b1*g (vectorised over ow), then gx[h, i0[ow]] += G0[h, ow], gx[h, i1[ow]] += G1[h, ow].
        public void Backward(T[] gy, T[] gx, int planes)
        {
            int h = _h, w = _w, oh = _oh, ow = _ow;
            Parallelism.For(planes, (long)oh * ow * 6 + (long)h * ow * 2, p =>
            {
                var g0 = ArrayPool<T>.Shared.Rent(h * ow);
                var g1 = ArrayPool<T>.Shared.Rent(h * ow);
                var gb0 = ArrayPool<T>.Shared.Rent(ow);
                var gb1 = ArrayPool<T>.Shared.Rent(ow);
                try
                {
                    g0.AsSpan(0, h * ow).Clear();
                    g1.AsSpan(0, h * ow).Clear();
                    var b0s = gb0.AsSpan(0, ow);
                    var b1s = gb1.AsSpan(0, ow);
                    var gp = new ReadOnlySpan<T>(gy, p * oh * ow, oh * ow);
                    for (int r = 0; r < oh; r++)
                    {
                        var grow = gp.Slice(r * ow, ow);
                        TensorPrimitives.Multiply(grow, _wb0, b0s);
                        TensorPrimitives.Multiply(grow, _wb1, b1s);
                        var d00 = g0.AsSpan(_hi0[r] * ow, ow);
                        var d01 = g1.AsSpan(_hi0[r] * ow, ow);
                        TensorPrimitives.MultiplyAdd(b0s, _ha0[r], d00, d00);
                        TensorPrimitives.MultiplyAdd(b1s, _ha0[r], d01, d01);
                        var d10 = g0.AsSpan(_hi1[r] * ow, ow);
                        var d11 = g1.AsSpan(_hi1[r] * ow, ow);
                        TensorPrimitives.MultiplyAdd(b0s, _ha1[r], d10, d10);
                        TensorPrimitives.MultiplyAdd(b1s, _ha1[r], d11, d11);
                    }
                    var dp = new Span<T>(gx, p * h * w, h * w);
                    for (int r = 0; r < h; r++)
                    {
                        if (!_rowUsed[r]) continue;
                        var dst = dp.Slice(r * w, w);
                        var s0 = g0.AsSpan(r * ow, ow);
                        var s1 = g1.AsSpan(r * ow, ow);
                        for (int q = 0; q < ow; q++)
                        {
                            dst[_wi0[q]] += s0[q];
                            dst[_wi1[q]] += s1[q];
                        }
                    }
                }
                finally
                {
                    ArrayPool<T>.Shared.Return(g0);
                    ArrayPool<T>.Shared.Return(g1);
                    ArrayPool<T>.Shared.Return(gb0);
                    ArrayPool<T>.Shared.Return(gb1);
                }
            });
        }

        // One output row: y = x00*(a0*b0) + x01*(a0*b1) + x10*(a1*b0) + x11*(a1*b1), all [OW].
        private void Row(ReadOnlySpan<T> x00, ReadOnlySpan<T> x01, ReadOnlySpan<T> x10, ReadOnlySpan<T> x11, T a0, T a1, Span<T> y)
        {
            if (typeof(T) == typeof(float))
            {
                RowF32(MemoryMarshal.Cast<T, float>(x00), MemoryMarshal.Cast<T, float>(x01), MemoryMarshal.Cast<T, float>(x10), MemoryMarshal.Cast<T, float>(x11),
                    MemoryMarshal.Cast<T, float>(_wb0.AsSpan()), MemoryMarshal.Cast<T, float>(_wb1.AsSpan()),
                    float.CreateTruncating(a0), float.CreateTruncating(a1), MemoryMarshal.Cast<T, float>(y));
                return;
            }
            var b0 = _wb0;
            var b1 = _wb1;
            for (int q = 0; q < y.Length; q++)
                y[q] = x00[q] * (a0 * b0[q]) + x01[q] * (a0 * b1[q]) + x10[q] * (a1 * b0[q]) + x11[q] * (a1 * b1[q]);
        }

        // float32 row: weights multiplied in float, products summed in double (exact products), rounded once.
        private static void RowF32(ReadOnlySpan<float> x00, ReadOnlySpan<float> x01, ReadOnlySpan<float> x10, ReadOnlySpan<float> x11,
            ReadOnlySpan<float> b0, ReadOnlySpan<float> b1, float a0, float a1, Span<float> y)
        {
            int n = y.Length, q = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var va0 = Vector256.Create(a0);
                var va1 = Vector256.Create(a1);
                for (; q <= n - Vector256<float>.Count; q += Vector256<float>.Count)
                {
                    var vb0 = Vector256.Create(b0.Slice(q));
                    var vb1 = Vector256.Create(b1.Slice(q));
                    var w00 = va0 * vb0;
                    var w01 = va0 * vb1;
                    var w10 = va1 * vb0;
                    var w11 = va1 * vb1;
                    var v00 = Vector256.Create(x00.Slice(q));
                    var v01 = Vector256.Create(x01.Slice(q));
                    var v10 = Vector256.Create(x10.Slice(q));
                    var v11 = Vector256.Create(x11.Slice(q));
                    var lo = Vector256.WidenLower(v00) * Vector256.WidenLower(w00) + Vector256.WidenLower(v01) * Vector256.WidenLower(w01);
                    lo += Vector256.WidenLower(v10) * Vector256.WidenLower(w10);
                    lo += Vector256.WidenLower(v11) * Vector256.WidenLower(w11);
                    var hi = Vector256.WidenUpper(v00) * Vector256.WidenUpper(w00) + Vector256.WidenUpper(v01) * Vector256.WidenUpper(w01);
                    hi += Vector256.WidenUpper(v10) * Vector256.WidenUpper(w10);
                    hi += Vector256.WidenUpper(v11) * Vector256.WidenUpper(w11);
                    Vector256.Narrow(lo, hi).CopyTo(y.Slice(q));
                }
            }
            for (; q < n; q++)
            {
                float w00 = a0 * b0[q], w01 = a0 * b1[q], w10 = a1 * b0[q], w11 = a1 * b1[q];
                double s = (double)x00[q] * w00 + (double)x01[q] * w01;
                s += (double)x10[q] * w10;
                s += (double)x11[q] * w11;
                y[q] = (float)s;
            }
        }
    }
}
