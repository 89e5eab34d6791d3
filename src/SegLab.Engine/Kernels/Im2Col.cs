// im2col / col2im for convolutions: unfold the receptive fields of a band of output rows into a matrix so a
// convolution becomes a GEMM (and fold the matrix back, adding, for the input gradient and transposed convs).
// Geometry: image [C, H, W]; output grid [Ho, Wo]; cols [C*kh*kw, rows*Wo] for output rows [oh0, oh0 + rows).
// Both directions split over channels (each channel owns its rows of cols and its plane of the image, so the
// parallel fold has no races).
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Kernels;

/// <summary>Convolution geometry of one image (one group): C input channels of H x W, kernel, stride, padding, dilation, output grid.</summary>
internal readonly record struct ConvGeometry(int C, int H, int W, int Kh, int Kw, int Sh, int Sw, int Ph, int Pw, int Dh, int Dw, int Ho, int Wo)
{
    /// <summary>Rows of the unfolded matrix (the GEMM's inner dimension).</summary>
    public int Rows => C * Kh * Kw;
}

internal static class Im2Col
{
    // image: [C, H, W] -> cols: [C*kh*kw, rows*Wo] for output rows oh0 .. oh0+rows-1 (zero where the field leaves the image)
    public static void Unfold<T>(ReadOnlySpan<T> image, ConvGeometry g, int oh0, int rows, Span<T> cols) where T : unmanaged, INumberBase<T>
    {
        long bytes = 2L * g.Kh * g.Kw * rows * g.Wo * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (g.C == 1 || (long)g.C * bytes < Parallelism.MinParallelWork)
        {
            UnfoldChannels(image, g, oh0, rows, cols, 0, g.C);
            return;
        }
        unsafe
        {
            fixed (T* pi = image, pc = cols)
            {
                nint ai = (nint)pi, ac = (nint)pc;
                int il = image.Length, cl = cols.Length;
                Parallelism.For(g.C, bytes, c => UnfoldChannels(new ReadOnlySpan<T>((T*)ai, il), g, oh0, rows, new Span<T>((T*)ac, cl), c, c + 1));
            }
        }
    }

    // cols: [C*kh*kw, rows*Wo] -> image [C, H, W], adding (the adjoint of Unfold)
    public static void FoldAdd<T>(ReadOnlySpan<T> cols, ConvGeometry g, int oh0, int rows, Span<T> image) where T : unmanaged, INumberBase<T>
    {
        long bytes = 3L * g.Kh * g.Kw * rows * g.Wo * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (g.C == 1 || (long)g.C * bytes < Parallelism.MinParallelWork)
        {
            FoldChannels(cols, g, oh0, rows, image, 0, g.C);
            return;
        }
        unsafe
        {
            fixed (T* pi = image, pc = cols)
            {
                nint ai = (nint)pi, ac = (nint)pc;
                int il = image.Length, cl = cols.Length;
                Parallelism.For(g.C, bytes, c => FoldChannels(new ReadOnlySpan<T>((T*)ac, cl), g, oh0, rows, new Span<T>((T*)ai, il), c, c + 1));
            }
        }
    }

    private static void UnfoldChannels<T>(ReadOnlySpan<T> image, ConvGeometry g, int oh0, int rows, Span<T> cols, int c0, int c1) where T : unmanaged, INumberBase<T>
    {
        int width = rows * g.Wo;
        for (int c = c0; c < c1; c++)
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
                        if (lo > 0) drow[..lo].Clear();
                        if (hi < g.Wo) drow[hi..].Clear();
                        if (g.Sw == 1)
                        {
                            src.Slice(lo + dw, hi - lo).CopyTo(drow[lo..hi]);
                        }
                        else
                        {
                            int sw = g.Sw;
                            for (int ow = lo; ow < hi; ow++) drow[ow] = src[ow * sw + dw];
                        }
                    }
                }
    }

    private static void FoldChannels<T>(ReadOnlySpan<T> cols, ConvGeometry g, int oh0, int rows, Span<T> image, int c0, int c1) where T : unmanaged, INumberBase<T>
    {
        int width = rows * g.Wo;
        for (int c = c0; c < c1; c++)
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
                            TensorPrimitives.Add<T>(d, srow[lo..hi], d);
                        }
                        else
                        {
                            int sw = g.Sw;
                            for (int ow = lo; ow < hi; ow++) dst[ow * sw + dw] += srow[ow];
                        }
                    }
                }
    }

    /// <summary>Output columns [lo, hi) whose input column ow*s + dw lies in [0, w) (lo == hi when none).</summary>
    public static (int Lo, int Hi) ValidRange(int dw, int s, int w, int wo)
    {
        int lo = dw >= 0 ? 0 : (-dw + s - 1) / s;
        int hi = w - 1 - dw < 0 ? 0 : Math.Min(wo, (w - 1 - dw) / s + 1);
        return (Math.Min(lo, wo), Math.Max(Math.Min(hi, wo), Math.Min(lo, wo)));
    }
}
