// im2col / col2im for convolutions: unfold the receptive fields of a band of output rows into a matrix so a
// convolution becomes a GEMM (and fold the matrix back, adding, for the input gradient and transposed convs).
// Geometry: image [C, H, W]; output grid [Ho, Wo]; cols [C*kh*kw, rows*Wo] for output rows [oh0, oh0 + rows).
// Both directions split over channels (each channel owns its rows of cols and its plane of the image, so the
// parallel fold has no races).
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>
    /// image [C, H, W] -> the unfolded band [C*kh*kw, rows*Wo] (float32) straight in the managed GEMM's packed-B
    /// layout (ManagedGemm.PackedBLength: panels of <paramref name="panelDepth"/> rows, slivers <paramref name="nr"/>
    /// columns wide, zeros past the band's width), so that the product skips packing B: each channel's kh*kw rows
    /// are unfolded into <paramref name="scratch"/> (kh*kw*rows*Wo floats, cache-resident) and copied out one sliver
    /// row at a time. The values are those of <see cref="Unfold"/>.
    /// </summary>
    public static unsafe void UnfoldPacked(ReadOnlySpan<float> image, ConvGeometry g, int oh0, int rows, float* packed, int panelDepth, int nr, Span<float> scratch)
    {
        int width = rows * g.Wo, taps = g.Kh * g.Kw, k = g.Rows, plane = g.H * g.W;
        int nPad = (width + nr - 1) / nr * nr, full = width / nr, tail = width - full * nr;
        var one = g with { C = 1 };
        fixed (float* ps = scratch)
        {
            for (int c = 0; c < g.C; c++)
            {
                UnfoldChannels<float>(image.Slice(c * plane, plane), one, oh0, rows, scratch, 0, 1);
                for (int t = 0; t < taps; t++)
                {
                    int r = c * taps + t, pc = r / panelDepth * panelDepth, kc = Math.Min(panelDepth, k - pc);
                    float* src = ps + (long)t * width;
                    float* dst = packed + (long)pc * nPad + (long)(r - pc) * nr;
                    long step = (long)nr * kc;
                    for (int s = 0; s < full; s++, src += nr, dst += step)
                        for (int j = 0; j < nr; j += 8)
                            Vector256.Store(Vector256.Load(src + j), dst + j);
                    if (tail > 0)
                    {
                        int j = 0;
                        for (; j < tail; j++) dst[j] = src[j];
                        for (; j < nr; j++) dst[j] = 0;
                    }
                }
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
        if (g.Sh == 1 && g.Sw == 1 && g.W == g.Wo)
        {
            UnfoldSameWidth(image, g, oh0, rows, cols, c0, c1);
            return;
        }
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
                        else if (typeof(T) == typeof(float) && g.Sw == 2 && Avx2.IsSupported)
                        {
                            GatherEven(MemoryMarshal.Cast<T, float>(src), MemoryMarshal.Cast<T, float>(drow), lo, hi, dw);
                        }
                        else
                        {
                            int sw = g.Sw;
                            for (int ow = lo; ow < hi; ow++) drow[ow] = src[ow * sw + dw];
                        }
                    }
                }
    }

    // Stride 1 with output width = input width (a "same" convolution: 3x3 with padding 1, dilated ones with padding
    // = dilation): for one tap (i, j), the output rows whose input row exists read one contiguous run of the image
    // shifted by dw, so each (channel, tap) is one block copy, and only the columns whose input column is outside
    // the image (dw of them per row) are zeroed afterwards. On small planes (8x8 to 32x32) a copy per output row
    // cost more in per-row overhead than in bytes.
    private static void UnfoldSameWidth<T>(ReadOnlySpan<T> image, ConvGeometry g, int oh0, int rows, Span<T> cols, int c0, int c1) where T : unmanaged, INumberBase<T>
    {
        int w = g.W, width = rows * w;
        for (int c = c0; c < c1; c++)
        {
            var plane = image.Slice(c * g.H * w, g.H * w);
            for (int i = 0; i < g.Kh; i++)
            {
                // output rows r in [r0, r1) read input row ih = oh0 + r - Ph + i Dh inside [0, H)
                int shift = oh0 - g.Ph + i * g.Dh;
                int r0 = Math.Clamp(-shift, 0, rows), r1 = Math.Clamp(g.H - shift, r0, rows);
                for (int j = 0; j < g.Kw; j++)
                {
                    var dst = cols.Slice(((c * g.Kh + i) * g.Kw + j) * width, width);
                    int dw = j * g.Dw - g.Pw;
                    var (lo, hi) = ValidRange(dw, 1, w, w);
                    if (r0 > 0) dst[..(r0 * w)].Clear();
                    if (r1 < rows) dst[(r1 * w)..].Clear();
                    if (r1 == r0) continue;
                    if (lo >= hi)
                    {
                        dst[(r0 * w)..(r1 * w)].Clear();
                        continue;
                    }
                    // dst[r w + ow] = plane[(r + shift) w + ow + dw] for ow in [lo, hi): one run from (r0, lo) to (r1 - 1, hi)
                    int length = (r1 - r0 - 1) * w + hi - lo;
                    plane.Slice((r0 + shift) * w + lo + dw, length).CopyTo(dst.Slice(r0 * w + lo, length));
                    if (lo == 0 && hi == w) continue;
                    // the run wrapped around the rows: clear columns [0, lo) and [hi, w) of rows r0 .. r1 - 1
                    for (int r = r0; r < r1; r++)
                    {
                        var row = dst.Slice(r * w, w);
                        if (lo > 0) row[..lo].Clear();
                        if (hi < w) row[hi..].Clear();
                    }
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
                        else if (typeof(T) == typeof(float) && g.Sw == 2 && Avx2.IsSupported)
                        {
                            ScatterAddEven(MemoryMarshal.Cast<T, float>(srow), MemoryMarshal.Cast<T, float>(dst), lo, hi, dw);
                        }
                        else
                        {
                            int sw = g.Sw;
                            for (int ow = lo; ow < hi; ow++) dst[ow * sw + dw] += srow[ow];
                        }
                    }
                }
    }

    // Stride 2 (float32, AVX2): drow[ow] = src[2 ow + dw] for ow in [lo, hi), 8 columns per step from two loads of
    // 8 (a shuffle keeps the even lanes of each 128-bit half, a cross-lane permute puts them in order); the last
    // columns, whose 16-float load would pass the end of the row, go one by one.
    private static unsafe void GatherEven(ReadOnlySpan<float> src, Span<float> drow, int lo, int hi, int dw)
    {
        int ow = lo;
        fixed (float* ps = src, pd = drow)
        {
            // src[2 ow + dw .. 2 ow + dw + 15] must lie inside the row: 2 ow + dw + 16 <= src.Length
            for (; ow + 8 <= hi && 2 * ow + dw + 16 <= src.Length; ow += 8)
            {
                Avx.Store(pd + ow, LoadEven(ps + 2 * ow + dw));
            }
        }
        for (; ow < hi; ow++) drow[ow] = src[2 * ow + dw];
    }

    /// <summary>src[0], src[2], ..., src[14] (AVX2; reads 16 floats).</summary>
    internal static unsafe Vector256<float> LoadEven(float* src)
    {
        var a = Avx.LoadVector256(src);
        var b = Avx.LoadVector256(src + 8);
        var s = Avx.Shuffle(a, b, 0b10_00_10_00);                         // a0 a2 b0 b2 | a4 a6 b4 b6
        return Avx2.Permute4x64(s.AsDouble(), 0b11_01_10_00).AsSingle(); // a0 a2 a4 a6 b0 b2 b4 b6
    }

    // Stride 2 (float32, AVX2), the adjoint of GatherEven: dst[2 ow + dw] += srow[ow]. Eight values are spread over
    // the even lanes of 16 (zeros in the odd lanes) and added to two vectors of dst.
    private static unsafe void ScatterAddEven(ReadOnlySpan<float> srow, Span<float> dst, int lo, int hi, int dw)
    {
        int ow = lo;
        fixed (float* ps = srow, pd = dst)
        {
            var zero = Vector256<float>.Zero;
            for (; ow + 8 <= hi && 2 * ow + dw + 16 <= dst.Length; ow += 8)
            {
                // [s0 s1 s2 s3 s4 s5 s6 s7] -> [s0 s1 s4 s5 | s2 s3 s6 s7]; unpack with zeros: [s0 0 s1 0 s2 0 s3 0], [s4 0 .. s7 0]
                var v = Avx2.Permute4x64(Avx.LoadVector256(ps + ow).AsDouble(), 0b11_01_10_00).AsSingle();
                float* d = pd + 2 * ow + dw;
                Avx.Store(d, Avx.Add(Avx.LoadVector256(d), Avx.UnpackLow(v, zero)));
                Avx.Store(d + 8, Avx.Add(Avx.LoadVector256(d + 8), Avx.UnpackHigh(v, zero)));
            }
        }
        for (; ow < hi; ow++) dst[2 * ow + dw] += srow[ow];
    }

    /// <summary>Output columns [lo, hi) whose input column ow*s + dw lies in [0, w) (lo == hi when none).</summary>
    public static (int Lo, int Hi) ValidRange(int dw, int s, int w, int wo)
    {
        int lo = dw >= 0 ? 0 : (-dw + s - 1) / s;
        int hi = w - 1 - dw < 0 ? 0 : Math.Min(wo, (w - 1 - dw) / s + 1);
        return (Math.Min(lo, wo), Math.Max(Math.Min(hi, wo), Math.Min(lo, wo)));
    }
}
