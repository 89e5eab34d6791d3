// 2-D convolution, PyTorch semantics (zero padding, stride, dilation, groups), with hand-written forward and
// backward. Paths: depthwise (groups == C == K) by direct per-plane kernels; 1x1 stride-1 unpadded as one GEMM
// per image; everything else by im2col over bands of output rows (bounded scratch) and GEMM.
//   forward:  y[n, k] = sum_c W[k, c] * x[n, c] (+ b[k])         (per group, as a GEMM over unfolded patches)
//   backward: dW += dY cols^T;  dcols = W^T dY, folded back into dx;  db = sum dY
using System.Buffers;
using System.Numerics;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Scratch size (elements) of an unfolded band of output rows; bounds im2col memory.</summary>
    internal const int ConvBandElements = 1 << 20;

    /// <summary>2-D convolution with square stride, padding and dilation.</summary>
    /// <param name="x">[N, C, H, W].</param>
    /// <param name="weight">[K, C/groups, kh, kw].</param>
    /// <param name="bias">[K] or null.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on each side.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Groups.</param>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Conv2d(x, weight, bias, stride, stride, padding, padding, dilation, dilation, groups);

    /// <summary>2-D convolution.</summary>
    /// <param name="x">[N, C, H, W].</param>
    /// <param name="weight">[K, C/groups, kh, kw].</param>
    /// <param name="bias">[K] or null.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Rows of zeros above and below.</param>
    /// <param name="padW">Columns of zeros left and right.</param>
    /// <param name="dilationH">Vertical dilation.</param>
    /// <param name="dilationW">Horizontal dilation.</param>
    /// <param name="groups">Groups.</param>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW,
        int dilationH, int dilationW, int groups)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        var (g, n, k) = ConvGeometryOf("conv2d", x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, groups);
        var y = Tensor.Uninitialized(x.DType, [n, k, g.Ho, g.Wo]);
        if (x.DType == DType.Float32) ConvForward(x.Buf<float>(), weight.Buf<float>(), Opt<float>(bias), y.Buf<float>(), g, n, k, groups);
        else ConvForward(x.Buf<double>(), weight.Buf<double>(), Opt<double>(bias), y.Buf<double>(), g, n, k, groups);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        if (!GradMode.Needs(inputs)) return y;
        return Tape.Record(y, "conv2d", inputs, dy =>
        {
            var gx = x.RequiresGrad ? Tensor.Zeros(x.DType, x.Dims) : null;
            var gw = weight.RequiresGrad ? Tensor.Zeros(x.DType, weight.Dims) : null;
            var gb = bias is { RequiresGrad: true } ? Tensor.Zeros(x.DType, bias.Dims) : null;
            if (x.DType == DType.Float32)
                ConvBackward(x.Buf<float>(), weight.Buf<float>(), dy.Buf<float>(), Opt<float>(gx), Opt<float>(gw), Opt<float>(gb), g, n, k, groups);
            else
                ConvBackward(x.Buf<double>(), weight.Buf<double>(), dy.Buf<double>(), Opt<double>(gx), Opt<double>(gw), Opt<double>(gb), g, n, k, groups);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    private static (ConvGeometry G, int N, int K) ConvGeometryOf(string op, Tensor x, Tensor weight, Tensor? bias, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        if (x.Rank != 4 || weight.Rank != 4)
            throw new ArgumentException($"{op}: input must be [N, C, H, W] and weight [K, C/groups, kh, kw], got {Shapes.Format(x.Shape)} and {Shapes.Format(weight.Shape)}.");
        if (x.DType != weight.DType || (bias is not null && bias.DType != x.DType))
            throw new ArgumentException($"{op}: element types differ (input {x.DType}, weight {weight.DType}).");
        int n = x.Dims[0], c = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        int k = weight.Dims[0], kh = weight.Dims[2], kw = weight.Dims[3];
        if (groups < 1 || c % groups != 0 || k % groups != 0)
            throw new ArgumentException($"{op}: groups {groups} must divide the input channels {c} and output channels {k} (input {Shapes.Format(x.Shape)}, weight {Shapes.Format(weight.Shape)}).");
        if (weight.Dims[1] != c / groups)
            throw new ArgumentException($"{op}: weight {Shapes.Format(weight.Shape)} expects {weight.Dims[1] * groups} input channels, input {Shapes.Format(x.Shape)} has {c}.");
        if (bias is not null && bias.Numel != k)
            throw new ArgumentException($"{op}: bias {Shapes.Format(bias.Shape)} does not match {k} output channels.");
        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0)
            throw new ArgumentException($"{op}: stride and dilation must be positive and padding non-negative.");
        int ho = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, wo = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
        if (ho < 1 || wo < 1)
            throw new ArgumentException($"{op}: input {Shapes.Format(x.Shape)} is smaller than the kernel {kh}x{kw} (dilation {dh}x{dw}, padding {ph}x{pw}).");
        return (new ConvGeometry(c / groups, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo), n, k);
    }

    private static bool IsPointwise(ConvGeometry g) => g.Kh == 1 && g.Kw == 1 && g.Sh == 1 && g.Sw == 1 && g.Ph == 0 && g.Pw == 0;

    private static int BandRows(ConvGeometry g) => Math.Clamp(ConvBandElements / Math.Max(1, g.Rows * g.Wo), 1, g.Ho);

    // x: [N, C, H, W], w: [K, C/G, kh, kw], b: [K] -> y: [N, K, Ho, Wo]
    private static void ConvForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> y, ConvGeometry g, int n, int k, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hw = g.H * g.W, howo = g.Ho * g.Wo, cIn = g.C * groups, kg = k / groups;
        if (groups == cIn && k == cIn)
        {
            DepthwiseConv.Forward(x, w, y, g, n, k);
        }
        else
        {
            int band = BandRows(g);
            T[]? cols = IsPointwise(g) ? null : ArrayPool<T>.Shared.Rent(g.Rows * band * g.Wo);
            try
            {
                for (int img = 0; img < n; img++)
                    for (int gr = 0; gr < groups; gr++)
                    {
                        var xs = x.Slice((img * cIn + gr * g.C) * hw, g.C * hw);
                        var ws = w.Slice(gr * kg * g.Rows, kg * g.Rows);
                        var ys = y.Slice((img * k + gr * kg) * howo);
                        if (cols is null)
                        {
                            Blas.Gemm(false, false, kg, howo, g.C, T.One, ws, g.C, xs, hw, T.Zero, ys, howo);
                            continue;
                        }
                        for (int oh0 = 0; oh0 < g.Ho; oh0 += band)
                        {
                            int rows = Math.Min(band, g.Ho - oh0);
                            Im2Col.Unfold<T>(xs, g, oh0, rows, cols);
                            Blas.Gemm(false, false, kg, rows * g.Wo, g.Rows, T.One, ws, g.Rows, cols, rows * g.Wo, T.Zero, ys.Slice(oh0 * g.Wo), howo);
                        }
                    }
            }
            finally
            {
                if (cols is not null) ArrayPool<T>.Shared.Return(cols);
            }
        }
        if (b.IsEmpty) return;
        for (int img = 0; img < n; img++)
            for (int ch = 0; ch < k; ch++)
            {
                var plane = y.Slice((img * k + ch) * howo, howo);
                System.Numerics.Tensors.TensorPrimitives.Add<T>(plane, b[ch], plane);
            }
    }

    private static void ConvBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, Span<T> db, ConvGeometry g, int n, int k, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hw = g.H * g.W, howo = g.Ho * g.Wo, cIn = g.C * groups, kg = k / groups;
        if (!db.IsEmpty)
            for (int img = 0; img < n; img++)
                for (int ch = 0; ch < k; ch++)
                    db[ch] += System.Numerics.Tensors.TensorPrimitives.Sum(dy.Slice((img * k + ch) * howo, howo));
        if (dx.IsEmpty && dw.IsEmpty) return;
        if (groups == cIn && k == cIn)
        {
            DepthwiseConv.Backward(x, w, dy, dx, dw, g, n, k);
            return;
        }
        int band = BandRows(g);
        bool pointwise = IsPointwise(g);
        T[]? cols = pointwise ? null : ArrayPool<T>.Shared.Rent(g.Rows * band * g.Wo);
        T[]? dcols = pointwise || dx.IsEmpty ? null : ArrayPool<T>.Shared.Rent(g.Rows * band * g.Wo);
        try
        {
            for (int img = 0; img < n; img++)
                for (int gr = 0; gr < groups; gr++)
                {
                    var xs = x.Slice((img * cIn + gr * g.C) * hw, g.C * hw);
                    var ws = w.Slice(gr * kg * g.Rows, kg * g.Rows);
                    var dys = dy.Slice((img * k + gr * kg) * howo);
                    var dws = dw.IsEmpty ? dw : dw.Slice(gr * kg * g.Rows, kg * g.Rows);
                    var dxs = dx.IsEmpty ? dx : dx.Slice((img * cIn + gr * g.C) * hw, g.C * hw);
                    if (pointwise)
                    {
                        if (!dw.IsEmpty) Blas.Gemm(false, true, kg, g.C, howo, T.One, dys, howo, xs, hw, T.One, dws, g.C);
                        if (!dx.IsEmpty) Blas.Gemm(true, false, g.C, hw, kg, T.One, ws, g.C, dys, howo, T.Zero, dxs, hw);
                        continue;
                    }
                    for (int oh0 = 0; oh0 < g.Ho; oh0 += band)
                    {
                        int rows = Math.Min(band, g.Ho - oh0), width = rows * g.Wo;
                        var dyBand = dys.Slice(oh0 * g.Wo);
                        if (!dw.IsEmpty)
                        {
                            Im2Col.Unfold<T>(xs, g, oh0, rows, cols);
                            Blas.Gemm(false, true, kg, g.Rows, width, T.One, dyBand, howo, cols, width, T.One, dws, g.Rows);
                        }
                        if (dcols is not null)
                        {
                            Blas.Gemm(true, false, g.Rows, width, kg, T.One, ws, g.Rows, dyBand, howo, T.Zero, dcols, width);
                            Im2Col.FoldAdd<T>(dcols, g, oh0, rows, dxs);
                        }
                    }
                }
        }
        finally
        {
            if (cols is not null) ArrayPool<T>.Shared.Return(cols);
            if (dcols is not null) ArrayPool<T>.Shared.Return(dcols);
        }
    }
}
