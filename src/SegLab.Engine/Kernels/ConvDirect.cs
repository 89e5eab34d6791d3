// Direct stride-1 convolution (groups = 1, float32, AVX2 + FMA) for kernels larger than 1x1, dilation and padding
// included, used where im2col + GEMM is inefficient: few output channels (ESPNet's dilated 3x3 branches of 13-25
// channels), where the GEMM's 6x16 micro-kernel has too few rows to amortise packing the unfolded input. The input
// is copied once into a zero-padded scratch image; a register block of 6 output channels x 16 output columns (12
// ymm accumulators) runs over chunks of 4 input channels and every tap with one unaligned load pair per tap and 6
// broadcast weights, accumulating one output row of all channels in a stack buffer; nothing is unfolded. Weights
// are packed per block of 6 output channels as [C][kh*kw][6] (zeros past K). Stride-1 input gradients reuse it
// through the flipped-kernel identity in Conv2d.ConvInputGrad.
using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Kernels;

internal static unsafe class ConvDirect
{
    private const int KB = 6;  // output channels per register block
    private const int WB = 16; // output columns per register block (two Vector256<float>)
    private const int KB512 = 8, WB512 = 32; // the same with AVX-512: 8 channels x 32 columns (16 zmm accumulators)

    /// <summary>
    /// Whether the 8x32 AVX-512 block runs for this geometry: rows at least 32 wide. Each output element sums the
    /// same products in the same order as with the 6x16 block, so the two give identical results (tested).
    /// </summary>
    internal static bool UseWide(ConvGeometry g, int k) =>
        AllowWide && Avx512F.IsSupported && Vector512.IsHardwareAccelerated && g.Wo >= WB512
        && (long)((k + KB512 - 1) / KB512 * KB512) * ((g.Wo + WB512 - 1) / WB512 * WB512) <= MaxRowFloats;

    /// <summary>Test switch (per thread): false keeps the 6x16 AVX2 block.</summary>
    internal static bool AllowWide { get => t_allowWide ?? true; set => t_allowWide = value; }

    [ThreadStatic] private static bool? t_allowWide;

    /// <summary>Whether this kernel handles the geometry (otherwise im2col + GEMM does).</summary>
    public static bool Applies(ConvGeometry g, int k, int groups) =>
        Fma.IsSupported && Avx.IsSupported && groups == 1 && g.Sh == 1 && g.Sw == 1 && g.Kh * g.Kw > 1
        && k <= MaxOutputChannels && g.Wo >= WB && (long)((k + KB - 1) / KB * KB) * ((g.Wo + WB - 1) / WB * WB) <= MaxRowFloats && (long)g.C * k * g.Kh * g.Kw <= 1L << 20;

    // Measured on an idle machine (one thread, 2026-12-01): the direct kernel beats im2col + GEMM for few output
    // channels (K 13 and 25: 0.74-0.78x the time) and loses from K 32 on (1.13-1.37x), where the GEMM's 6x16
    // micro-kernel amortises its packing over enough rows.
    private const int MaxOutputChannels = 24;

    // Padded images held at once: 16 MB.
    private const int MaxPaddedFloats = 1 << 22;

    // The row accumulators are on the stack: at most 64K floats (256 KB).
    private const int MaxRowFloats = 1 << 16;

    // x: [N, C, H, W], w: [K, C, kh, kw], b: [K] or empty -> y: [N, K, Ho, Wo] (written)
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, ConvGeometry g, int n, int k)
    {
        bool wide = UseWide(g, k);
        int kbT = wide ? KB512 : KB, wbT = wide ? WB512 : WB;
        int taps = g.Kh * g.Kw, blocks = (k + kbT - 1) / kbT;
        int colBlocks = (g.Wo + wbT - 1) / wbT;
        // Padded scratch: every vector read of a column block (up to colBlocks * wbT + (kw - 1) dw) stays inside a row.
        int hp = g.H + 2 * g.Ph, wp = Math.Max(g.W + 2 * g.Pw, colBlocks * wbT + (g.Kw - 1) * g.Dw);
        int plane = hp * wp, image = g.C * plane;
        // Several images are padded at once so that one parallel loop runs over all their rows: a batch of small
        // planes (DeepLabV3's 32x32 at batch 8) otherwise paid a fork and join per image for a few microseconds of
        // work each.
        int batch = Math.Clamp(MaxPaddedFloats / Math.Max(1, image), 1, n);
        float[] padded = ArrayPool<float>.Shared.Rent(batch * image);
        float[] packed = ArrayPool<float>.Shared.Rent(blocks * g.C * taps * kbT);
        try
        {
            Pack(w, packed, g.C, k, taps, blocks, kbT);
            int howo = g.Ho * g.Wo, chw = g.C * g.H * g.W;
            for (int img0 = 0; img0 < n; img0 += batch)
            {
                int count = Math.Min(batch, n - img0);
                for (int i = 0; i < count; i++) Pad(x.Slice((img0 + i) * chw, chw), padded.AsSpan(i * image, image), g, hp, wp);
                var yImgs = y.Slice(img0 * k * howo, count * k * howo);
                fixed (float* pp = padded, wk = packed, yp = yImgs, bp = b)
                {
                    var (pPad, pW, pY, pB) = ((nint)pp, (nint)wk, (nint)yp, (nint)bp);
                    bool hasBias = !b.IsEmpty;
                    // One work item = one output row of every output channel of one image.
                    Parallelism.For(count * g.Ho, 2L * k * g.Wo * g.C * taps, item =>
                    {
                        int i = item / g.Ho, oy = item % g.Ho;
                        if (wide) Row512((float*)pPad + (long)i * image, (float*)pW, (float*)pY + (long)i * k * howo, hasBias ? (float*)pB : null, g, k, oy, taps, wp, plane, colBlocks);
                        else Row((float*)pPad + (long)i * image, (float*)pW, (float*)pY + (long)i * k * howo, hasBias ? (float*)pB : null, g, k, oy, taps, wp, plane, colBlocks);
                    });
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(padded);
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    // w: [K, C, taps] -> packed: [blocks][C][taps][kbT], zeros for output channels past K
    private static void Pack(ReadOnlySpan<float> w, float[] packed, int c, int k, int taps, int blocks, int kbT)
    {
        for (int kb = 0; kb < blocks; kb++)
            for (int ch = 0; ch < c; ch++)
                for (int t = 0; t < taps; t++)
                {
                    int dst = ((kb * c + ch) * taps + t) * kbT;
                    for (int j = 0; j < kbT; j++)
                    {
                        int oc = kb * kbT + j;
                        packed[dst + j] = oc < k ? w[(oc * c + ch) * taps + t] : 0f;
                    }
                }
    }

    // x: [C, H, W] -> padded: [C, hp, wp], x at (Ph, Pw), zeros elsewhere
    private static void Pad(ReadOnlySpan<float> x, Span<float> dst, ConvGeometry g, int hp, int wp)
    {
        dst.Clear();
        for (int ch = 0; ch < g.C; ch++)
            for (int r = 0; r < g.H; r++)
                x.Slice((ch * g.H + r) * g.W, g.W).CopyTo(dst.Slice((ch * hp + r + g.Ph) * wp + g.Pw, g.W));
    }

    // Output row oy of every output channel into y: [K, Ho, Wo]. The row's accumulators live in a stack buffer
    // [blocks * 6][wA]; input channels go in chunks of 4, so the 4 x kh input rows a chunk reads (a few KB) stay
    // in L1 while every channel block and column block uses them, and the hardware prefetcher follows a dozen
    // sequential streams instead of C x kh.
    private static void Row(float* padded, float* packed, float* y, float* bias, ConvGeometry g, int k, int oy, int taps, int wp, int plane, int colBlocks)
    {
        const int Chunk = 4;
        int kw = g.Kw, dh = g.Dh, dw = g.Dw, c = g.C, blocks = (k + KB - 1) / KB, wA = colBlocks * WB;
        float* acc = stackalloc float[blocks * KB * wA];
        new Span<float>(acc, blocks * KB * wA).Clear();
        for (int c0 = 0; c0 < c; c0 += Chunk)
        {
            int c1 = Math.Min(c, c0 + Chunk);
            for (int kb = 0; kb < blocks; kb++)
            {
                float* wBlock = packed + (long)kb * c * taps * KB;
                for (int cb = 0; cb < colBlocks; cb++)
                {
                    int ox0 = cb * WB;
                    float* ab = acc + (long)kb * KB * wA + ox0;
                    var a00 = Avx.LoadVector256(ab); var a01 = Avx.LoadVector256(ab + 8);
                    var a10 = Avx.LoadVector256(ab + wA); var a11 = Avx.LoadVector256(ab + wA + 8);
                    var a20 = Avx.LoadVector256(ab + 2 * wA); var a21 = Avx.LoadVector256(ab + 2 * wA + 8);
                    var a30 = Avx.LoadVector256(ab + 3 * wA); var a31 = Avx.LoadVector256(ab + 3 * wA + 8);
                    var a40 = Avx.LoadVector256(ab + 4 * wA); var a41 = Avx.LoadVector256(ab + 4 * wA + 8);
                    var a50 = Avx.LoadVector256(ab + 5 * wA); var a51 = Avx.LoadVector256(ab + 5 * wA + 8);
                    for (int ch = c0; ch < c1; ch++)
                    {
                        float* src = padded + (long)ch * plane + (long)oy * wp + ox0;
                        float* wt = wBlock + (long)ch * taps * KB;
                        for (int ky = 0; ky < g.Kh; ky++)
                        {
                            float* row = src + (long)ky * dh * wp;
                            for (int kx = 0; kx < kw; kx++, wt += KB)
                            {
                                var v0 = Avx.LoadVector256(row + kx * dw);
                                var v1 = Avx.LoadVector256(row + kx * dw + 8);
                                var s = Avx.BroadcastScalarToVector256(wt);
                                a00 = Fma.MultiplyAdd(v0, s, a00); a01 = Fma.MultiplyAdd(v1, s, a01);
                                s = Avx.BroadcastScalarToVector256(wt + 1);
                                a10 = Fma.MultiplyAdd(v0, s, a10); a11 = Fma.MultiplyAdd(v1, s, a11);
                                s = Avx.BroadcastScalarToVector256(wt + 2);
                                a20 = Fma.MultiplyAdd(v0, s, a20); a21 = Fma.MultiplyAdd(v1, s, a21);
                                s = Avx.BroadcastScalarToVector256(wt + 3);
                                a30 = Fma.MultiplyAdd(v0, s, a30); a31 = Fma.MultiplyAdd(v1, s, a31);
                                s = Avx.BroadcastScalarToVector256(wt + 4);
                                a40 = Fma.MultiplyAdd(v0, s, a40); a41 = Fma.MultiplyAdd(v1, s, a41);
                                s = Avx.BroadcastScalarToVector256(wt + 5);
                                a50 = Fma.MultiplyAdd(v0, s, a50); a51 = Fma.MultiplyAdd(v1, s, a51);
                            }
                        }
                    }
                    Avx.Store(ab, a00); Avx.Store(ab + 8, a01);
                    Avx.Store(ab + wA, a10); Avx.Store(ab + wA + 8, a11);
                    Avx.Store(ab + 2 * wA, a20); Avx.Store(ab + 2 * wA + 8, a21);
                    Avx.Store(ab + 3 * wA, a30); Avx.Store(ab + 3 * wA + 8, a31);
                    Avx.Store(ab + 4 * wA, a40); Avx.Store(ab + 4 * wA + 8, a41);
                    Avx.Store(ab + 5 * wA, a50); Avx.Store(ab + 5 * wA + 8, a51);
                }
            }
        }
        WriteRow(acc, wA, y, bias, g, k, oy);
    }
    // Row with the 8 x 32 block (Vector512): the same loops as Row, twice the channels' width per load.
    private static void Row512(float* padded, float* packed, float* y, float* bias, ConvGeometry g, int k, int oy, int taps, int wp, int plane, int colBlocks)
    {
        const int Chunk = 4;
        int kw = g.Kw, dh = g.Dh, dw = g.Dw, c = g.C, blocks = (k + KB512 - 1) / KB512, wA = colBlocks * WB512;
        float* acc = stackalloc float[blocks * KB512 * wA];
        new Span<float>(acc, blocks * KB512 * wA).Clear();
        for (int c0 = 0; c0 < c; c0 += Chunk)
        {
            int c1 = Math.Min(c, c0 + Chunk);
            for (int kb = 0; kb < blocks; kb++)
            {
                float* wBlock = packed + (long)kb * c * taps * KB512;
                for (int cb = 0; cb < colBlocks; cb++)
                {
                    int ox0 = cb * WB512;
                    float* ab = acc + (long)kb * KB512 * wA + ox0;
                    var a00 = Vector512.Load(ab); var a01 = Vector512.Load(ab + 16);
                    var a10 = Vector512.Load(ab + wA); var a11 = Vector512.Load(ab + wA + 16);
                    var a20 = Vector512.Load(ab + 2 * wA); var a21 = Vector512.Load(ab + 2 * wA + 16);
                    var a30 = Vector512.Load(ab + 3 * wA); var a31 = Vector512.Load(ab + 3 * wA + 16);
                    var a40 = Vector512.Load(ab + 4 * wA); var a41 = Vector512.Load(ab + 4 * wA + 16);
                    var a50 = Vector512.Load(ab + 5 * wA); var a51 = Vector512.Load(ab + 5 * wA + 16);
                    var a60 = Vector512.Load(ab + 6 * wA); var a61 = Vector512.Load(ab + 6 * wA + 16);
                    var a70 = Vector512.Load(ab + 7 * wA); var a71 = Vector512.Load(ab + 7 * wA + 16);
                    for (int ch = c0; ch < c1; ch++)
                    {
                        float* src = padded + (long)ch * plane + (long)oy * wp + ox0;
                        float* wt = wBlock + (long)ch * taps * KB512;
                        for (int ky = 0; ky < g.Kh; ky++)
                        {
                            float* row = src + (long)ky * dh * wp;
                            for (int kx = 0; kx < kw; kx++, wt += KB512)
                            {
                                var v0 = Vector512.Load(row + kx * dw);
                                var v1 = Vector512.Load(row + kx * dw + 16);
                                var s = Vector512.Create(wt[0]);
                                a00 = Avx512F.FusedMultiplyAdd(v0, s, a00); a01 = Avx512F.FusedMultiplyAdd(v1, s, a01);
                                s = Vector512.Create(wt[1]);
                                a10 = Avx512F.FusedMultiplyAdd(v0, s, a10); a11 = Avx512F.FusedMultiplyAdd(v1, s, a11);
                                s = Vector512.Create(wt[2]);
                                a20 = Avx512F.FusedMultiplyAdd(v0, s, a20); a21 = Avx512F.FusedMultiplyAdd(v1, s, a21);
                                s = Vector512.Create(wt[3]);
                                a30 = Avx512F.FusedMultiplyAdd(v0, s, a30); a31 = Avx512F.FusedMultiplyAdd(v1, s, a31);
                                s = Vector512.Create(wt[4]);
                                a40 = Avx512F.FusedMultiplyAdd(v0, s, a40); a41 = Avx512F.FusedMultiplyAdd(v1, s, a41);
                                s = Vector512.Create(wt[5]);
                                a50 = Avx512F.FusedMultiplyAdd(v0, s, a50); a51 = Avx512F.FusedMultiplyAdd(v1, s, a51);
                                s = Vector512.Create(wt[6]);
                                a60 = Avx512F.FusedMultiplyAdd(v0, s, a60); a61 = Avx512F.FusedMultiplyAdd(v1, s, a61);
                                s = Vector512.Create(wt[7]);
                                a70 = Avx512F.FusedMultiplyAdd(v0, s, a70); a71 = Avx512F.FusedMultiplyAdd(v1, s, a71);
                            }
                        }
                    }
                    a00.Store(ab); a01.Store(ab + 16);
                    a10.Store(ab + wA); a11.Store(ab + wA + 16);
                    a20.Store(ab + 2 * wA); a21.Store(ab + 2 * wA + 16);
                    a30.Store(ab + 3 * wA); a31.Store(ab + 3 * wA + 16);
                    a40.Store(ab + 4 * wA); a41.Store(ab + 4 * wA + 16);
                    a50.Store(ab + 5 * wA); a51.Store(ab + 5 * wA + 16);
                    a60.Store(ab + 6 * wA); a61.Store(ab + 6 * wA + 16);
                    a70.Store(ab + 7 * wA); a71.Store(ab + 7 * wA + 16);
                }
            }
        }
        WriteRow(acc, wA, y, bias, g, k, oy);
    }

    // The accumulated row [K][wA] -> y[oc, oy, :] (+ bias), for both register blocks.
    private static void WriteRow(float* acc, int wA, float* y, float* bias, ConvGeometry g, int k, int oy)
    {
        for (int oc = 0; oc < k; oc++)
        {
            var src = new ReadOnlySpan<float>(acc + (long)oc * wA, g.Wo);
            var dst = new Span<float>(y + ((long)oc * g.Ho + oy) * g.Wo, g.Wo);
            if (bias is null) src.CopyTo(dst);
            else System.Numerics.Tensors.TensorPrimitives.Add(src, bias[oc], dst);
        }
    }
}
