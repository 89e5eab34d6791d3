// Max pooling over NCHW planes (values, and the flat per-plane argmax that PyTorch's return_indices gives) and
// max unpooling (ENet/ESPNet decoders), with hand-written forward/backward. PyTorch semantics: padding is -inf,
// output size floor((H + 2p - d(k-1) - 1) / s) + 1, ceil mode rounds up but the last window must start inside
// the input or the left padding, pad <= kernel / 2, NaN propagates, ties go to the first element (CPU kernel).
// The pooling geometry and its checks are shared with AvgPool2d.cs.
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>2-D max pooling of an NCHW tensor (PyTorch <c>max_pool2d</c>).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernelH">Window height.</param>
    /// <param name="kernelW">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Implicit -inf padding on top and bottom, at most kernelH / 2.</param>
    /// <param name="padW">Implicit -inf padding left and right, at most kernelW / 2.</param>
    /// <param name="dilationH">Vertical spacing of window elements.</param>
    /// <param name="dilationW">Horizontal spacing of window elements.</param>
    /// <param name="ceilMode">Round the output size up (the last window still starts inside the input or left padding).</param>
    public static Tensor MaxPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH = 0, int padW = 0,
        int dilationH = 1, int dilationW = 1, bool ceilMode = false)
        => MaxPool2dCore(x, PoolGeometry("max_pool2d", x, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode)).Values;

    private static (Tensor Values, int[] Indices) WithIndexArray((Tensor Values, float[] Indices) r, int n) =>
        (r.Values, MemoryMarshal.Cast<float, int>(r.Indices.AsSpan(0, n)).ToArray());

    /// <summary>2-D max pooling with a square window, stride and padding.</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernel">Window size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Implicit -inf padding, at most kernel / 2.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride, int padding = 0, bool ceilMode = false)
        => MaxPool2d(x, kernel, kernel, stride, stride, padding, padding, 1, 1, ceilMode);

    /// <summary>
    /// 2-D max pooling that also returns, for every output element, the flat position ih * W + iw of its maximum
    /// within its input plane (PyTorch <c>return_indices=True</c>), for <see cref="MaxUnpool2d"/>. The values are
    /// differentiable; the indices are not.
    /// </summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernelH">Window height.</param>
    /// <param name="kernelW">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Implicit -inf padding on top and bottom.</param>
    /// <param name="padW">Implicit -inf padding left and right.</param>
    /// <param name="dilationH">Vertical spacing of window elements.</param>
    /// <param name="dilationW">Horizontal spacing of window elements.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    public static (Tensor Values, int[] Indices) MaxPool2dWithIndices(Tensor x, int kernelH, int kernelW, int strideH, int strideW,
        int padH = 0, int padW = 0, int dilationH = 1, int dilationW = 1, bool ceilMode = false)
    {
        var r = MaxPool2dCore(x, PoolGeometry("max_pool2d_with_indices", x, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode));
        return WithIndexArray(r, r.Values.Numel);
    }

    /// <summary>Square-window <see cref="MaxPool2dWithIndices(Tensor, int, int, int, int, int, int, int, int, bool)"/>.</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernel">Window size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Implicit -inf padding.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    public static (Tensor Values, int[] Indices) MaxPool2dWithIndices(Tensor x, int kernel, int stride, int padding = 0, bool ceilMode = false)
        => MaxPool2dWithIndices(x, kernel, kernel, stride, stride, padding, padding, 1, 1, ceilMode);

    /// <summary>
    /// Inverse of max pooling (PyTorch <c>max_unpool2d</c>): an [N, C, outH, outW] tensor of zeros with every value
    /// of plane (n, c) of <paramref name="x"/> written at its recorded flat position. The gradient gathers.
    /// </summary>
    /// <param name="x">Pooled values [N, C, h, w].</param>
    /// <param name="indices">One flat position (row * outW + col) per element of x, as from <see cref="MaxPool2dWithIndices(Tensor, int, int, int, int, int, int, int, int, bool)"/>.</param>
    /// <param name="outH">Output height.</param>
    /// <param name="outW">Output width.</param>
    public static Tensor MaxUnpool2d(Tensor x, int[] indices, int outH, int outW)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(indices);
        if (x.Rank != 4) throw new ArgumentException($"max_unpool2d: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        if (outH <= 0 || outW <= 0) throw new ArgumentException($"max_unpool2d: output size ({outH}, {outW}) must be positive (input {Shapes.Format(x.Shape)}).");
        if (indices.Length != x.Numel)
            throw new ArgumentException($"max_unpool2d: {indices.Length} indices given for an input of shape {Shapes.Format(x.Shape)} ({x.Numel} elements).");
        int planeOut = outH * outW;
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)planeOut)
                throw new ArgumentException($"max_unpool2d: index {indices[i]} at position {i} is outside an output plane of {outH}x{outW} (input {Shapes.Format(x.Shape)}).");
        }
        int n = x.Dims[0], c = x.Dims[1], planeIn = x.Dims[2] * x.Dims[3];
        var y = Tensor.Zeros(x.DType, n, c, outH, outW);
        if (x.DType == DType.Float32) UnpoolScatter((float[])x.Storage, (float[])y.Storage, indices, n * c, planeIn, planeOut);
        else UnpoolScatter((double[])x.Storage, (double[])y.Storage, indices, n * c, planeIn, planeOut);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "max_unpool2d", [x], g =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            if (x.DType == DType.Float32) UnpoolGather((float[])g.Storage, (float[])gx.Storage, indices, n * c, planeIn, planeOut);
            else UnpoolGather((double[])g.Storage, (double[])gx.Storage, indices, n * c, planeIn, planeOut);
            return [gx];
        });
    }

    /// <summary>Geometry of a 2-D pooling: input and output sizes and the window parameters.</summary>
    private readonly record struct Pool2dGeom(int N, int C, int H, int W, int OH, int OW,
        int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW)
    {
        public int Planes => N * C;
        public int InPlane => H * W;
        public int OutPlane => OH * OW;
        public int[] OutShape => [N, C, OH, OW];
    }

    /// <summary>PyTorch's pooling_output_shape: floor (or ceil) division, and in ceil mode the last window must start inside the input or left padding.</summary>
    private static int PoolOutputSize(int input, int kernel, int pad, int stride, int dilation, bool ceilMode)
    {
        long num = input + 2L * pad - (long)dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
        long o = (long)Math.Floor((double)num / stride) + 1;
        if (ceilMode && (o - 1) * stride >= input + pad) o--;
        return (int)o;
    }

    /// <summary>Validates a pooling call as PyTorch's pool2d_shape_check does, with errors naming the op and shapes.</summary>
    private static Pool2dGeom PoolGeometry(string op, Tensor x, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, bool ceilMode)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"{op}: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        if (kh <= 0 || kw <= 0) throw new ArgumentException($"{op}: kernel ({kh}, {kw}) must be positive (input {Shapes.Format(x.Shape)}).");
        if (sh <= 0 || sw <= 0) throw new ArgumentException($"{op}: stride ({sh}, {sw}) must be positive (input {Shapes.Format(x.Shape)}).");
        if (dh <= 0 || dw <= 0) throw new ArgumentException($"{op}: dilation ({dh}, {dw}) must be positive (input {Shapes.Format(x.Shape)}).");
        if (ph < 0 || pw < 0 || ph > kh / 2 || pw > kw / 2)
            throw new ArgumentException($"{op}: padding ({ph}, {pw}) must be between 0 and half the kernel ({kh}, {kw}) (input {Shapes.Format(x.Shape)}).");
        int h = x.Dims[2], w = x.Dims[3];
        int oh = PoolOutputSize(h, kh, ph, sh, dh, ceilMode), ow = PoolOutputSize(w, kw, pw, sw, dw, ceilMode);
        if (oh < 1 || ow < 1 || h < 1 || w < 1)
            throw new ArgumentException($"{op}: input {Shapes.Format(x.Shape)} with kernel ({kh}, {kw}), stride ({sh}, {sw}), padding ({ph}, {pw}), dilation ({dh}, {dw}) gives output size ({oh}, {ow}), which is too small.");
        return new Pool2dGeom(x.Dims[0], x.Dims[1], h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw);
    }

    // The argmax positions are ints kept in a float32 tensor's storage, so that they come from the pools that serve
    // tensors (TensorScope, the backward pass's leftovers) instead of a fresh array per call: DeepLabV3's stem pool
    // made 512 KB of new pages every training step.
    private static (Tensor Values, float[] Indices) MaxPool2dCore(Tensor x, Pool2dGeom g)
    {
        // A dilated window that starts in the padding may skip the whole input; PyTorch then reads out of range.
        for (int o = 0; o < Math.Max(g.OH, g.OW); o++)
        {
            if ((o < g.OH && MaxPoolWindowEmpty(o, g.SH, g.PH, g.KH, g.DH, g.H)) || (o < g.OW && MaxPoolWindowEmpty(o, g.SW, g.PW, g.KW, g.DW, g.W)))
                throw new ArgumentException($"max_pool2d: with kernel ({g.KH}, {g.KW}), stride ({g.SH}, {g.SW}), padding ({g.PH}, {g.PW}) and dilation ({g.DH}, {g.DW}) a window of input {Shapes.Format(x.Shape)} holds only padding.");
        }
        var y = Tensor.Uninitialized(x.DType, g.OutShape);
        var idx = (float[])Tensor.Uninitialized(DType.Float32, [y.Numel]).Storage;
        if (x.DType == DType.Float32) MaxPoolForward((float[])x.Storage, (float[])y.Storage, idx, g);
        else MaxPoolForward((double[])x.Storage, (double[])y.Storage, idx, g);
        if (!GradMode.Needs(x)) return (y, idx);
        Tape.Record(y, "max_pool2d", [x], gy =>
        {
            var gx = Tensor.Zeros(x.DType, x.Dims);
            if (x.DType == DType.Float32) MaxPoolBackward((float[])gy.Storage, (float[])gx.Storage, idx, g);
            else MaxPoolBackward((double[])gy.Storage, (double[])gx.Storage, idx, g);
            return [gx];
        });
        return (y, idx);
    }

    private static bool MaxPoolWindowEmpty(int o, int stride, int pad, int kernel, int dilation, int size)
    {
        int i0 = o * stride - pad;
        int i1 = Math.Min(i0 + (kernel - 1) * dilation + 1, size);
        while (i0 < 0) i0 += dilation;
        return i0 >= i1;
    }

    // x: [N, C, H, W] -> y: [N, C, OH, OW], idx: [N, C, OH, OW] (flat ih * W + iw within the plane).
    // PyTorch CPU order: rows then columns, strict '>' (first maximum wins), a NaN replaces the running maximum.
    private static void MaxPoolForward<T>(T[] x, T[] y, float[] idx, Pool2dGeom g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Where the window's columns are contiguous (no horizontal dilation) and stride 1 or 2, float32 takes
        // vectors of 8 output columns away from the borders (MaxPoolVectorColumns); the rest, and float64, the loop.
        var (vecLo, vecHi) = typeof(T) == typeof(float) ? MaxPoolVectorColumns(g) : (0, 0);
        Parallelism.For(g.Planes, (long)g.OutPlane * g.KH * g.KW, p =>
        {
            var xp = new ReadOnlySpan<T>(x, p * g.InPlane, g.InPlane);
            var yp = new Span<T>(y, p * g.OutPlane, g.OutPlane);
            var ip = MemoryMarshal.Cast<float, int>(new Span<float>(idx, p * g.OutPlane, g.OutPlane));
            for (int oh = 0; oh < g.OH; oh++)
            {
                int ih0 = oh * g.SH - g.PH;
                int ih1 = Math.Min(ih0 + (g.KH - 1) * g.DH + 1, g.H);
                while (ih0 < 0) ih0 += g.DH;
                if (vecHi > vecLo)
                    MaxPoolRowVectors(MemoryMarshal.Cast<T, float>(xp), MemoryMarshal.Cast<T, float>(yp.Slice(oh * g.OW, g.OW)), ip.Slice(oh * g.OW, g.OW), g, ih0, ih1, vecLo, vecHi);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    if (ow == vecLo && vecHi > vecLo) ow = vecHi;
                    if (ow >= g.OW) break;
                    int iw0 = ow * g.SW - g.PW;
                    int iw1 = Math.Min(iw0 + (g.KW - 1) * g.DW + 1, g.W);
                    while (iw0 < 0) iw0 += g.DW;
                    T max = T.NegativeInfinity;
                    int arg = ih0 * g.W + iw0;
                    for (int ih = ih0; ih < ih1; ih += g.DH)
                    {
                        int row = ih * g.W;
                        for (int iw = iw0; iw < iw1; iw += g.DW)
                        {
                            T v = xp[row + iw];
                            if (v > max || T.IsNaN(v))
                            {
                                max = v;
                                arg = row + iw;
                            }
                        }
                    }
                    yp[oh * g.OW + ow] = max;
                    ip[oh * g.OW + ow] = arg;
                }
            }
        });
    }

    /// <summary>
    /// The output columns [lo, hi) (hi - lo a multiple of 8) whose windows lie wholly inside the row and whose
    /// vector loads stay inside it, for float32 with AVX2, horizontal dilation 1 and stride 1 or 2; (0, 0) otherwise.
    /// </summary>
    private static (int Lo, int Hi) MaxPoolVectorColumns(Pool2dGeom g)
    {
        if (!Avx2.IsSupported || g.DW != 1 || g.SW is not (1 or 2)) return (0, 0);
        int lo = (g.PW + g.SW - 1) / g.SW;
        // Lane 7 of the vector at ow reads up to column (ow + 7) * SW - PW + KW - 1 + (SW - 1): the odd column that a
        // stride-2 load takes and drops must still be inside the row.
        int last = (g.W - g.KW - g.SW + 1 + g.PW) / g.SW; // the largest ow + 7 allowed
        if (g.W - g.KW - g.SW + 1 + g.PW < 0) return (0, 0);
        int count = Math.Max(0, last + 1 - lo) / 8 * 8;
        return count == 0 ? (0, 0) : (lo, lo + count);
    }

    // One output row's columns [lo, hi), 8 at a time: the same taps in the same order as the scalar loop (rows,
    // then columns; strict '>', a NaN replaces the running maximum), so values and indices are the same.
    private static unsafe void MaxPoolRowVectors(ReadOnlySpan<float> xp, Span<float> yRow, Span<int> iRow, Pool2dGeom g, int ih0, int ih1, int lo, int hi)
    {
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * g.SW;
        fixed (float* px = xp, py = yRow)
        fixed (int* pi = iRow)
        {
            for (int ow = lo; ow < hi; ow += 8)
            {
                int col0 = ow * g.SW - g.PW;
                var max = Vector256.Create(float.NegativeInfinity);
                var arg = Vector256.Create(ih0 * g.W + col0) + lanes;
                for (int ih = ih0; ih < ih1; ih += g.DH)
                {
                    int start = ih * g.W + col0;
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        float* src = px + start + kw;
                        var v = g.SW == 1 ? Avx.LoadVector256(src) : Kernels.Im2Col.LoadEven(src);
                        var take = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                        max = Vector256.ConditionalSelect(take, v, max);
                        arg = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(start + kw) + lanes, arg);
                    }
                }
                max.Store(py + ow);
                arg.Store(pi + ow);
            }
        }
    }

    // gy: [N, C, OH, OW], idx: [N, C, OH, OW] -> gx: [N, C, H, W] (zeroed); gx[argmax] += gy.
    private static void MaxPoolBackward<T>(T[] gy, T[] gx, float[] idx, Pool2dGeom g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(g.Planes, g.OutPlane, p =>
        {
            var gp = new ReadOnlySpan<T>(gy, p * g.OutPlane, g.OutPlane);
            var ip = MemoryMarshal.Cast<float, int>(new ReadOnlySpan<float>(idx, p * g.OutPlane, g.OutPlane));
            var dp = new Span<T>(gx, p * g.InPlane, g.InPlane);
            for (int i = 0; i < gp.Length; i++) dp[ip[i]] += gp[i];
        });
    }

    // x: [P, planeIn], idx: [P, planeIn] -> y: [P, planeOut] (zeroed); y[p, idx] = x.
    private static void UnpoolScatter<T>(T[] x, T[] y, int[] idx, int planes, int planeIn, int planeOut) where T : unmanaged
    {
        Parallelism.For(planes, planeIn, p =>
        {
            var xp = new ReadOnlySpan<T>(x, p * planeIn, planeIn);
            var ip = new ReadOnlySpan<int>(idx, p * planeIn, planeIn);
            var yp = new Span<T>(y, p * planeOut, planeOut);
            for (int i = 0; i < xp.Length; i++) yp[ip[i]] = xp[i];
        });
    }

    // gy: [P, planeOut], idx: [P, planeIn] -> gx: [P, planeIn]; gx = gy[p, idx].
    private static void UnpoolGather<T>(T[] gy, T[] gx, int[] idx, int planes, int planeIn, int planeOut) where T : unmanaged
    {
        Parallelism.For(planes, planeIn, p =>
        {
            var gp = new ReadOnlySpan<T>(gy, p * planeOut, planeOut);
            var ip = new ReadOnlySpan<int>(idx, p * planeIn, planeIn);
            var dp = new Span<T>(gx, p * planeIn, planeIn);
            for (int i = 0; i < dp.Length; i++) dp[i] = gp[ip[i]];
        });
    }
}
