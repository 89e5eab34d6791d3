// Transposed 2-D convolution (the adjoint of conv2d), PyTorch semantics: weight [C_in, C_out/groups, kh, kw],
// Ho = (H - 1) s - 2p + d (kh - 1) + output_padding + 1. The output is the "image" of a convolution whose
// "output grid" is the input, so the same unfold/fold kernels serve:
//   forward:  y = fold(W^T x);  backward: dx = W unfold(dy),  dW += x unfold(dy)^T,  db = sum dy
using System.Buffers;
using System.Numerics;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Transposed convolution with square arguments.</summary>
    /// <param name="x">[N, C_in, H, W].</param>
    /// <param name="weight">[C_in, C_out/groups, k, k].</param>
    /// <param name="bias">[C_out] or null.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Padding removed from each side of the output.</param>
    /// <param name="outputPadding">Extra rows/columns at the bottom/right.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Groups.</param>
    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1, int groups = 1)
        => ConvTranspose2d(x, weight, bias, stride, stride, padding, padding, outputPadding, outputPadding, dilation, dilation, groups);

    /// <summary>Transposed convolution.</summary>
    /// <param name="x">[N, C_in, H, W].</param>
    /// <param name="weight">[C_in, C_out/groups, kh, kw].</param>
    /// <param name="bias">[C_out] or null.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Vertical padding.</param>
    /// <param name="padW">Horizontal padding.</param>
    /// <param name="outputPadH">Extra output rows.</param>
    /// <param name="outputPadW">Extra output columns.</param>
    /// <param name="dilationH">Vertical dilation.</param>
    /// <param name="dilationW">Horizontal dilation.</param>
    /// <param name="groups">Groups.</param>
    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW,
        int outputPadH, int outputPadW, int dilationH, int dilationW, int groups)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        if (x.Rank != 4 || weight.Rank != 4)
            throw new ArgumentException($"conv_transpose2d: input must be [N, C, H, W] and weight [C_in, C_out/groups, kh, kw], got {Shapes.Format(x.Shape)} and {Shapes.Format(weight.Shape)}.");
        int n = x.Dims[0], cin = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        if (groups < 1 || cin % groups != 0 || weight.Dims[0] != cin)
            throw new ArgumentException($"conv_transpose2d: weight {Shapes.Format(weight.Shape)} does not fit input {Shapes.Format(x.Shape)} with {groups} group(s).");
        int coutG = weight.Dims[1], cout = coutG * groups, kh = weight.Dims[2], kw = weight.Dims[3];
        if (bias is not null && bias.Numel != cout)
            throw new ArgumentException($"conv_transpose2d: bias {Shapes.Format(bias.Shape)} does not match {cout} output channels.");
        if (outputPadH >= Math.Max(strideH, dilationH) || outputPadW >= Math.Max(strideW, dilationW) || outputPadH < 0 || outputPadW < 0)
            throw new ArgumentException($"conv_transpose2d: output padding ({outputPadH}, {outputPadW}) must be smaller than the stride or dilation.");
        int ho = (h - 1) * strideH - 2 * padH + dilationH * (kh - 1) + outputPadH + 1;
        int wo = (w - 1) * strideW - 2 * padW + dilationW * (kw - 1) + outputPadW + 1;
        if (ho < 1 || wo < 1) throw new ArgumentException($"conv_transpose2d: output would be {ho}x{wo} for input {Shapes.Format(x.Shape)}.");
        // The convolution that maps y [C_out/G, ho, wo] to x's grid [h, w]:
        var g = new ConvGeometry(coutG, ho, wo, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, h, w);
        var y = Tensor.Zeros(x.DType, [n, cout, ho, wo]);
        if (x.DType == DType.Float32) TransposedForward(x.Buf<float>(), weight.Buf<float>(), Opt<float>(bias), y.Buf<float>(), g, n, cin, groups);
        else TransposedForward(x.Buf<double>(), weight.Buf<double>(), Opt<double>(bias), y.Buf<double>(), g, n, cin, groups);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        if (!GradMode.Needs(inputs)) return y;
        return Tape.Record(y, "conv_transpose2d", inputs, dy =>
        {
            var gx = x.RequiresGrad ? Tensor.Zeros(x.DType, x.Dims) : null;
            var gw = weight.RequiresGrad ? Tensor.Zeros(x.DType, weight.Dims) : null;
            var gb = bias is { RequiresGrad: true } ? Tensor.Zeros(x.DType, bias.Dims) : null;
            if (x.DType == DType.Float32)
                TransposedBackward(x.Buf<float>(), weight.Buf<float>(), dy.Buf<float>(), Opt<float>(gx), Opt<float>(gw), Opt<float>(gb), g, n, cin, groups);
            else
                TransposedBackward(x.Buf<double>(), weight.Buf<double>(), dy.Buf<double>(), Opt<double>(gx), Opt<double>(gw), Opt<double>(gb), g, n, cin, groups);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    // x: [N, C_in, h, w], W: [C_in, C_out/G * kh * kw] -> y: [N, C_out, ho, wo] (y starts zeroed)
    private static void TransposedForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> y, ConvGeometry g, int n, int cin, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cinG = cin / groups, hw = g.Ho * g.Wo, img = g.H * g.W, cout = g.C * groups;
        var cols = ArrayPool<T>.Shared.Rent(g.Rows * hw);
        try
        {
            for (int i = 0; i < n; i++)
                for (int gr = 0; gr < groups; gr++)
                {
                    var xs = x.Slice((i * cin + gr * cinG) * hw, cinG * hw);
                    var ws = w.Slice(gr * cinG * g.Rows, cinG * g.Rows);
                    Blas.Gemm(true, false, g.Rows, hw, cinG, T.One, ws, g.Rows, xs, hw, T.Zero, cols, hw);
                    Im2Col.FoldAdd<T>(cols, g, 0, g.Ho, y.Slice((i * cout + gr * g.C) * img, g.C * img));
                }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(cols);
        }
        if (b.IsEmpty) return;
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < cout; ch++)
            {
                var plane = y.Slice((i * cout + ch) * img, img);
                System.Numerics.Tensors.TensorPrimitives.Add<T>(plane, b[ch], plane);
            }
    }

    private static void TransposedBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, Span<T> db, ConvGeometry g, int n, int cin, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cinG = cin / groups, hw = g.Ho * g.Wo, img = g.H * g.W, cout = g.C * groups;
        if (!db.IsEmpty)
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < cout; ch++)
                    db[ch] += System.Numerics.Tensors.TensorPrimitives.Sum(dy.Slice((i * cout + ch) * img, img));
        if (dx.IsEmpty && dw.IsEmpty) return;
        var cols = ArrayPool<T>.Shared.Rent(g.Rows * hw);
        try
        {
            for (int i = 0; i < n; i++)
                for (int gr = 0; gr < groups; gr++)
                {
                    Im2Col.Unfold<T>(dy.Slice((i * cout + gr * g.C) * img, g.C * img), g, 0, g.Ho, cols);
                    var ws = w.Slice(gr * cinG * g.Rows, cinG * g.Rows);
                    var xs = x.Slice((i * cin + gr * cinG) * hw, cinG * hw);
                    if (!dx.IsEmpty) Blas.Gemm(false, false, cinG, hw, g.Rows, T.One, ws, g.Rows, cols, hw, T.Zero, dx.Slice((i * cin + gr * cinG) * hw, cinG * hw), hw);
                    if (!dw.IsEmpty) Blas.Gemm(false, true, cinG, g.Rows, hw, T.One, xs, hw, cols, hw, T.One, dw.Slice(gr * cinG * g.Rows, cinG * g.Rows), g.Rows);
                }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(cols);
        }
    }
}
