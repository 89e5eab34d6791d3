// Transposed 2-D convolution (the adjoint of conv2d), PyTorch semantics: weight [C_in, C_out/groups, kh, kw],
// Ho = (H - 1) s - 2p + d (kh - 1) + output_padding + 1. With g the geometry of the convolution that maps the
// output y [C_out, Ho, Wo] onto the input grid x [C_in, H, W] (weight [C_in, C_out/groups, kh, kw] is exactly
// that convolution's weight), the kernels of Conv2d.cs serve unchanged:
//   forward:  y = conv2d input-gradient of x     (fold(W^T x), or a flipped-filter conv for stride 1)
//   backward: dx = conv2d forward of dy;  dW += conv2d weight-gradient with (input dy, output-gradient x);  db = sum dy
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

    /// <summary>Transposed convolution (PyTorch's conv_transpose2d): y = [N, C_out, Ho, Wo].</summary>
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
        string shapes = $"input {Shapes.Format(x.Shape)}, weight {Shapes.Format(weight.Shape)}" + (bias is null ? "" : $", bias {Shapes.Format(bias.Shape)}");
        if (x.Rank != 4 || weight.Rank != 4)
            throw new ArgumentException($"conv_transpose2d: input must be [N, C_in, H, W] and weight [C_in, C_out/groups, kh, kw] ({shapes}).");
        if (x.DType != weight.DType || (bias is not null && bias.DType != x.DType))
            throw new ArgumentException($"conv_transpose2d: element types differ (input {x.DType}, weight {weight.DType}).");
        int n = x.Dims[0], cin = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        if (groups < 1 || cin % groups != 0)
            throw new ArgumentException($"conv_transpose2d: groups {groups} must divide the input channels {cin} ({shapes}).");
        if (weight.Dims[0] != cin)
            throw new ArgumentException($"conv_transpose2d: channel mismatch: weight has {weight.Dims[0]} input channels, the input {cin} ({shapes}).");
        int coutG = weight.Dims[1], cout = coutG * groups, kh = weight.Dims[2], kw = weight.Dims[3];
        if (bias is not null && (bias.Rank != 1 || bias.Numel != cout))
            throw new ArgumentException($"conv_transpose2d: bias must be [{cout}] for {cout} output channels ({shapes}).");
        if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 || padH < 0 || padW < 0 || kh < 1 || kw < 1 || coutG < 1)
            throw new ArgumentException($"conv_transpose2d: stride ({strideH}, {strideW}) and dilation ({dilationH}, {dilationW}) must be positive, padding ({padH}, {padW}) non-negative and the kernel non-empty ({shapes}).");
        if (outputPadH < 0 || outputPadW < 0 || outputPadH >= Math.Max(strideH, dilationH) || outputPadW >= Math.Max(strideW, dilationW))
            throw new ArgumentException($"conv_transpose2d: output padding ({outputPadH}, {outputPadW}) must be non-negative and smaller than the stride or the dilation ({shapes}).");
        int ho = (h - 1) * strideH - 2 * padH + dilationH * (kh - 1) + outputPadH + 1;
        int wo = (w - 1) * strideW - 2 * padW + dilationW * (kw - 1) + outputPadW + 1;
        if (ho < 1 || wo < 1)
            throw new ArgumentException($"conv_transpose2d: output size would be {ho} x {wo}, smaller than 1 ({shapes}).");
        // The convolution that maps y [C_out/G per group, ho, wo] onto x's grid [h, w].
        var g = new ConvGeometry(coutG, ho, wo, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, h, w);
        var y = Tensor.Uninitialized(x.DType, [n, cout, ho, wo]);
        if (x.DType == DType.Float32) TransposedForward(x.Buf<float>(), weight.Buf<float>(), ConvSpan<float>(bias), y.Buf<float>(), g, n, cin, groups);
        else TransposedForward(x.Buf<double>(), weight.Buf<double>(), ConvSpan<double>(bias), y.Buf<double>(), g, n, cin, groups);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        if (!GradMode.Needs(inputs)) return y;
        return Tape.Record(y, "conv_transpose2d", inputs, dy =>
        {
            var gx = Tape.Wants(x) ? Tensor.Uninitialized(x.DType, x.Dims) : null;
            var gw = Tape.Wants(weight) ? Tensor.Zeros(x.DType, weight.Dims) : null;
            var gb = Tape.Wants(bias) ? Tensor.Zeros(x.DType, bias.Dims) : null;
            if (x.DType == DType.Float32)
                TransposedBackward(x.Buf<float>(), weight.Buf<float>(), dy.Buf<float>(), ConvSpan<float>(gx), ConvSpan<float>(gw), ConvSpan<float>(gb), g, n, cin, groups);
            else
                TransposedBackward(x.Buf<double>(), weight.Buf<double>(), dy.Buf<double>(), ConvSpan<double>(gx), ConvSpan<double>(gw), ConvSpan<double>(gb), g, n, cin, groups);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    // x: [N, C_in, H, W], w: [C_in, C_out/G, kh, kw], b: [C_out] or empty -> y: [N, C_out, Ho, Wo] (written)
    private static void TransposedForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> y, ConvGeometry g, int n, int cin, int groups)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ConvInputGrad(x, w, y, g, n, cin, groups);
        if (!b.IsEmpty) AddChannelBias(y, b, n, g.C * groups, g.H * g.W);
    }

    // dy: [N, C_out, Ho, Wo] -> dx: [N, C_in, H, W] (written), dw: [C_in, C_out/G, kh, kw] and db: [C_out] (added)
    private static void TransposedBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, Span<T> db, ConvGeometry g, int n, int cin, int groups)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (!db.IsEmpty) AddChannelSums(dy, db, n, g.C * groups, g.H * g.W);
        if (!dw.IsEmpty) ConvWeightGrad(dy, x, dw, g, n, cin, groups);
        if (!dx.IsEmpty) ConvForward<T>(dy, w, default, dx, g, n, cin, groups);
    }
}
