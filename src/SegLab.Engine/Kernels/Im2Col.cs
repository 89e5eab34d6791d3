// im2col / col2im for convolutions: unfold the receptive fields of a band of output rows into a matrix so a
// convolution becomes a GEMM (and fold the matrix back, adding, for the input gradient and transposed convs).
// Geometry: image [C, H, W]; output grid [Ho, Wo]; cols [C*kh*kw, rows*Wo] for output rows [oh0, oh0 + rows).
using System.Numerics;

namespace SegLab.Engine.Kernels;

/// <summary>Convolution geometry of one image.</summary>
internal readonly record struct ConvGeometry(int C, int H, int W, int Kh, int Kw, int Sh, int Sw, int Ph, int Pw, int Dh, int Dw, int Ho, int Wo)
{
    public int Rows => C * Kh * Kw;
}

internal static class Im2Col
{
    // image: [C, H, W] -> cols: [C*kh*kw, rows*Wo] for output rows oh0 .. oh0+rows-1 (zero where the field leaves the image)
    public static void Unfold<T>(ReadOnlySpan<T> image, ConvGeometry g, int oh0, int rows, Span<T> cols) where T : unmanaged, INumberBase<T>
    {
        int width = rows * g.Wo;
        for (int c = 0; c < g.C; c++)
            for (int i = 0; i < g.Kh; i++)
                for (int j = 0; j < g.Kw; j++)
                {
                    var dst = cols.Slice(((c * g.Kh + i) * g.Kw + j) * width, width);
                    int dw = j * g.Dw - g.Pw;
                    var (lo, hi) = ValidRange(dw, g.Sw, g.W, g.Wo);
                    for (int r = 0; r < rows; r++)
                    {
                        var drow = dst.Slice(r * g.Wo, g.Wo);
                        int ih = (oh0 + r) * g.Sh - g.Ph + i * g.Dh;
                        if ((uint)ih >= (uint)g.H || lo >= hi)
                        {
                            drow.Clear();
                            continue;
                        }
                        var src = image.Slice((c * g.H + ih) * g.W, g.W);
                        drow[..lo].Clear();
                        drow[hi..].Clear();
                        if (g.Sw == 1) src.Slice(lo + dw, hi - lo).CopyTo(drow[lo..hi]);
                        else for (int ow = lo; ow < hi; ow++) drow[ow] = src[ow * g.Sw + dw];
                    }
                }
    }

    // cols: [C*kh*kw, rows*Wo] -> image [C, H, W], adding (the adjoint of Unfold)
    public static void FoldAdd<T>(ReadOnlySpan<T> cols, ConvGeometry g, int oh0, int rows, Span<T> image) where T : unmanaged, INumberBase<T>
    {
        int width = rows * g.Wo;
        for (int c = 0; c < g.C; c++)
            for (int i = 0; i < g.Kh; i++)
                for (int j = 0; j < g.Kw; j++)
                {
                    var src = cols.Slice(((c * g.Kh + i) * g.Kw + j) * width, width);
                    int dw = j * g.Dw - g.Pw;
                    var (lo, hi) = ValidRange(dw, g.Sw, g.W, g.Wo);
                    if (lo >= hi) continue;
                    for (int r = 0; r < rows; r++)
                    {
                        int ih = (oh0 + r) * g.Sh - g.Ph + i * g.Dh;
                        if ((uint)ih >= (uint)g.H) continue;
                        var dst = image.Slice((c * g.H + ih) * g.W, g.W);
                        var srow = src.Slice(r * g.Wo, g.Wo);
                        if (g.Sw == 1)
                        {
                            var d = dst.Slice(lo + dw, hi - lo);
                            System.Numerics.Tensors.TensorPrimitives.Add<T>(d, srow[lo..hi], d);
                        }
                        else
                        {
                            for (int ow = lo; ow < hi; ow++) dst[ow * g.Sw + dw] += srow[ow];
                        }
                    }
                }
    }

    /// <summary>Output columns [lo, hi) whose input column ow*s + dw lies in [0, w).</summary>
    public static (int Lo, int Hi) ValidRange(int dw, int s, int w, int wo)
    {
        int lo = dw >= 0 ? 0 : (-dw + s - 1) / s;
        int hi = w - 1 - dw < 0 ? 0 : Math.Min(wo, (w - 1 - dw) / s + 1);
        return (Math.Min(lo, wo), Math.Max(Math.Min(hi, wo), Math.Min(lo, wo)));
    }
}
