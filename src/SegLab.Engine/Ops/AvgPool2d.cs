// Average pooling over NCHW planes: fixed windows (PyTorch avg_pool2d: zero padding, ceil mode, count_include_pad),
// adaptive windows (adaptive_avg_pool2d: start = floor(i*H/out), end = ceil((i+1)*H/out)) and the global mean
// ([N, C, 1, 1]), each with a hand-written forward/backward. Sums run in the tensor's type in PyTorch's order
// (rows, then columns) and divide as PyTorch does, so float32 results match its CPU kernels.
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>2-D average pooling of an NCHW tensor (PyTorch <c>avg_pool2d</c>).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernelH">Window height.</param>
    /// <param name="kernelW">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Implicit zero padding on top and bottom, at most kernelH / 2.</param>
    /// <param name="padW">Implicit zero padding left and right, at most kernelW / 2.</param>
    /// <param name="ceilMode">Round the output size up (the last window still starts inside the input or left padding).</param>
    /// <param name="countIncludePad">Divide by the window size clipped to the padded input (true) or by the number of input elements in the window (false).</param>
    public static Tensor AvgPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH = 0, int padW = 0,
        bool ceilMode = false, bool countIncludePad = true)
    {
        var g = PoolGeometry("avg_pool2d", x, kernelH, kernelW, strideH, strideW, padH, padW, 1, 1, ceilMode);
        var y = Tensor.Uninitialized(x.DType, g.OutShape);
        if (x.DType == DType.Float32) AvgPoolKernel((float[])x.Storage, (float[])y.Storage, g, countIncludePad, backward: false);
        else AvgPoolKernel((double[])x.Storage, (double[])y.Storage, g, countIncludePad, backward: false);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "avg_pool2d", [x], gy =>
        {
            var gx = Tensor.Zeros(x.DType, x.Dims);
            if (x.DType == DType.Float32) AvgPoolKernel((float[])gx.Storage, (float[])gy.Storage, g, countIncludePad, backward: true);
            else AvgPoolKernel((double[])gx.Storage, (double[])gy.Storage, g, countIncludePad, backward: true);
            return [gx];
        });
    }

    /// <summary>2-D average pooling with a square window, stride and padding.</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernel">Window size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Implicit zero padding, at most kernel / 2.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    /// <param name="countIncludePad">Count padding in the divisor.</param>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
        => AvgPool2d(x, kernel, kernel, stride, stride, padding, padding, ceilMode, countIncludePad);

    /// <summary>Adaptive average pooling to [N, C, outH, outW] (PyTorch <c>adaptive_avg_pool2d</c>): window i covers [floor(i*H/outH), ceil((i+1)*H/outH)).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="outH">Output height.</param>
    /// <param name="outW">Output width.</param>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outH, int outW)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"adaptive_avg_pool2d: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        if (outH <= 0 || outW <= 0 || x.Dims[2] == 0 || x.Dims[3] == 0)
            throw new ArgumentException($"adaptive_avg_pool2d: cannot pool input {Shapes.Format(x.Shape)} to output size ({outH}, {outW}).");
        var g = new Pool2dGeom(x.Dims[0], x.Dims[1], x.Dims[2], x.Dims[3], outH, outW, 0, 0, 0, 0, 0, 0, 1, 1);
        var y = Tensor.Uninitialized(x.DType, g.OutShape);
        if (x.DType == DType.Float32) AdaptiveAvgKernel((float[])x.Storage, (float[])y.Storage, g, backward: false);
        else AdaptiveAvgKernel((double[])x.Storage, (double[])y.Storage, g, backward: false);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "adaptive_avg_pool2d", [x], gy =>
        {
            var gx = Tensor.Zeros(x.DType, x.Dims);
            if (x.DType == DType.Float32) AdaptiveAvgKernel((float[])gx.Storage, (float[])gy.Storage, g, backward: true);
            else AdaptiveAvgKernel((double[])gx.Storage, (double[])gy.Storage, g, backward: true);
            return [gx];
        });
    }

    /// <summary>Mean of every H x W plane: [N, C, H, W] -> [N, C, 1, 1] (PyTorch <c>adaptive_avg_pool2d(x, 1)</c>).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    public static Tensor GlobalAvgPool2d(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"global_avg_pool2d: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        int planes = x.Dims[0] * x.Dims[1], plane = x.Dims[2] * x.Dims[3];
        if (plane == 0) throw new ArgumentException($"global_avg_pool2d: input {Shapes.Format(x.Shape)} has empty planes.");
        var y = Tensor.Uninitialized(x.DType, [x.Dims[0], x.Dims[1], 1, 1]);
        if (x.DType == DType.Float32) GlobalAvgForward((float[])x.Storage, (float[])y.Storage, planes, plane);
        else GlobalAvgForward((double[])x.Storage, (double[])y.Storage, planes, plane);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "global_avg_pool2d", [x], gy =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            if (x.DType == DType.Float32) GlobalAvgBackward((float[])gy.Storage, (float[])gx.Storage, planes, plane);
            else GlobalAvgBackward((double[])gy.Storage, (double[])gx.Storage, planes, plane);
            return [gx];
        });
    }

    // Forward:  x: [N, C, H, W] -> y: [N, C, OH, OW]; y = sum(window) / divisor.
    // Backward: gy: [N, C, OH, OW] -> gx: [N, C, H, W] (zeroed); gx[window] += gy / divisor.
    // `big` is x (forward) or gx (backward), `small` is y or gy. PyTorch's window: [o*s - p, min(o*s - p + k, size + p)),
    // divisor = its area (count_include_pad) or the area clipped to the input; an empty clipped window gives 0.
    private static void AvgPoolKernel<T>(T[] big, T[] small, Pool2dGeom g, bool countIncludePad, bool backward)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(g.Planes, (long)g.OutPlane * g.KH * g.KW, p =>
        {
            var bp = new Span<T>(big, p * g.InPlane, g.InPlane);
            var sp = new Span<T>(small, p * g.OutPlane, g.OutPlane);
            for (int oh = 0; oh < g.OH; oh++)
            {
                int ih0 = oh * g.SH - g.PH;
                int ih1 = Math.Min(ih0 + g.KH, g.H + g.PH);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int iw0 = ow * g.SW - g.PW;
                    int iw1 = Math.Min(iw0 + g.KW, g.W + g.PW);
                    int poolSize = (ih1 - ih0) * (iw1 - iw0);
                    int h0 = Math.Max(ih0, 0), w0 = Math.Max(iw0, 0), h1 = Math.Min(ih1, g.H), w1 = Math.Min(iw1, g.W);
                    int o = oh * g.OW + ow;
                    if (h0 >= h1 || w0 >= w1)
                    {
                        if (!backward) sp[o] = T.Zero;
                        continue;
                    }
                    T divisor = T.CreateTruncating(countIncludePad ? poolSize : (h1 - h0) * (w1 - w0));
                    if (backward)
                    {
                        T d = sp[o] / divisor;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++) bp[ih * g.W + iw] += d;
                    }
                    else
                    {
                        T sum = T.Zero;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++) sum += bp[ih * g.W + iw];
                        sp[o] = sum / divisor;
                    }
                }
            }
        });
    }

    // Forward:  x: [N, C, H, W] -> y: [N, C, OH, OW]; y = sum(window) / kh / kw (PyTorch divides twice).
    // Backward: gy: [N, C, OH, OW] -> gx: [N, C, H, W] (zeroed); gx[window] += gy / kh / kw.
    private static void AdaptiveAvgKernel<T>(T[] big, T[] small, Pool2dGeom g, bool backward)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var hs = new int[g.OH];
        var he = new int[g.OH];
        var ws = new int[g.OW];
        var we = new int[g.OW];
        for (int i = 0; i < g.OH; i++) (hs[i], he[i]) = AdaptiveWindow(i, g.H, g.OH);
        for (int i = 0; i < g.OW; i++) (ws[i], we[i]) = AdaptiveWindow(i, g.W, g.OW);
        long work = ((long)g.H + g.OH) * ((long)g.W + g.OW);
        Parallelism.For(g.Planes, work, p =>
        {
            var bp = new Span<T>(big, p * g.InPlane, g.InPlane);
            var sp = new Span<T>(small, p * g.OutPlane, g.OutPlane);
            for (int oh = 0; oh < g.OH; oh++)
            {
                T kh = T.CreateTruncating(he[oh] - hs[oh]);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    T kw = T.CreateTruncating(we[ow] - ws[ow]);
                    int o = oh * g.OW + ow;
                    if (backward)
                    {
                        T d = sp[o] / kh / kw;
                        for (int ih = hs[oh]; ih < he[oh]; ih++)
                            for (int iw = ws[ow]; iw < we[ow]; iw++) bp[ih * g.W + iw] += d;
                    }
                    else
                    {
                        T sum = T.Zero;
                        for (int ih = hs[oh]; ih < he[oh]; ih++)
                            for (int iw = ws[ow]; iw < we[ow]; iw++) sum += bp[ih * g.W + iw];
                        sp[o] = sum / kh / kw;
                    }
                }
            }
        });
    }

    /// <summary>PyTorch's adaptive window [floor(i*size/out), ceil((i+1)*size/out)).</summary>
    private static (int Start, int End) AdaptiveWindow(int i, int size, int outSize)
        => ((int)((long)i * size / outSize), (int)(((long)(i + 1) * size + outSize - 1) / outSize));

    // x: [P, plane] -> y: [P]; y = sum(plane) / plane.
    private static void GlobalAvgForward<T>(T[] x, T[] y, int planes, int plane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T n = T.CreateTruncating(plane);
        Parallelism.For(planes, plane, p => y[p] = TensorPrimitives.Sum<T>(new ReadOnlySpan<T>(x, p * plane, plane)) / n);
    }

    // gy: [P] -> gx: [P, plane]; gx = gy / plane.
    private static void GlobalAvgBackward<T>(T[] gy, T[] gx, int planes, int plane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T n = T.CreateTruncating(plane);
        Parallelism.For(planes, plane, p => new Span<T>(gx, p * plane, plane).Fill(gy[p] / n));
    }
}
