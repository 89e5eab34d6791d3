// The pieces under ManagedGemm's loops: packing of A into mr-row slivers and of B into nr-column slivers (the
// transposes are absorbed here, edges zero-padded), the macro-kernel over one packed block pair, and two
// register-blocked micro-kernels: 6x16 (12 Vector256 accumulators, A broadcast, two loads of B per k step) and,
// where AVX-512 runs, 8x32 (16 Vector512 accumulators, the same scheme twice as wide).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SegLab.Engine.Linalg;

internal static unsafe class ManagedGemmKernels
{
    /// <summary>The AVX2 (Vector256) micro-kernel's tile.</summary>
    public const int MR = 6, NR = 16;

    /// <summary>The AVX-512 (Vector512) micro-kernel's tile.</summary>
    public const int MR512 = 8, NR512 = 32;

    /// <summary>Whether the 8x32 Vector512 kernel can run here (AVX-512 F, and Vector512 accelerated by the runtime).</summary>
    public static bool Wide512Supported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Packs op(A)[ic.., pc..] (mc x kc) as ceil(mc/mrT) slivers, each kc x mrT (k-major), rows past mc zeroed.
    /// </summary>
    public static void PackA(bool transA, float* a, int lda, int ic, int pc, int mc, int kc, float* dst, int mrT)
    {
        for (int i0 = 0; i0 < mc; i0 += mrT, dst += (long)mrT * kc)
        {
            int mr = Math.Min(mrT, mc - i0);
            if (transA)
            {
                // A stored k x m: each k step is mrT contiguous floats.
                float* src = a + (long)pc * lda + ic + i0;
                float* d = dst;
                if (mr == 6 && mrT == 6)
                {
                    for (int p = 0; p < kc; p++, src += lda, d += 6)
                    {
                        *(Vector128<float>*)d = Vector128.Load(src);
                        *(Vector64<float>*)(d + 4) = Vector64.Load(src + 4);
                    }
                }
                else if (mr == 8 && mrT == 8)
                {
                    for (int p = 0; p < kc; p++, src += lda, d += 8)
                        Vector256.Store(Vector256.Load(src), d);
                }
                else
                {
                    for (int p = 0; p < kc; p++, src += lda, d += mrT)
                    {
                        int r = 0;
                        for (; r < mr; r++) d[r] = src[r];
                        for (; r < mrT; r++) d[r] = 0;
                    }
                }
            }
            else if (mr == 6 && mrT == 6)
            {
                // Six row streams read in step, one contiguous write stream.
                float* s0 = a + (long)(ic + i0) * lda + pc;
                float* s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda, s4 = s3 + lda, s5 = s4 + lda;
                float* d = dst;
                for (int p = 0; p < kc; p++, d += 6)
                {
                    d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p];
                    d[3] = s3[p]; d[4] = s4[p]; d[5] = s5[p];
                }
            }
            else if (mr == 8 && mrT == 8)
            {
                float* s0 = a + (long)(ic + i0) * lda + pc;
                float* s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda, s4 = s3 + lda, s5 = s4 + lda, s6 = s5 + lda, s7 = s6 + lda;
                float* d = dst;
                int p = 0;
                if (Avx.IsSupported)
                    for (; p + 8 <= kc; p += 8, d += 64)
                        Transpose8x8(s0 + p, lda, d, 8);
                for (; p < kc; p++, d += 8)
                {
                    d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
                    d[4] = s4[p]; d[5] = s5[p]; d[6] = s6[p]; d[7] = s7[p];
                }
            }
            else
            {
                for (int r = 0; r < mrT; r++)
                {
                    float* d = dst + r;
                    if (r < mr)
                    {
                        float* src = a + (long)(ic + i0 + r) * lda + pc;
                        for (int p = 0; p < kc; p++) d[p * mrT] = src[p];
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++) d[p * mrT] = 0;
                    }
                }
            }
        }
    }

    /// <summary>Packs one sliver op(B)[pc.., j0..] (kc x nr, nr &lt;= nrT) as kc x nrT, columns past nr zeroed.</summary>
    public static void PackB(bool transB, float* b, int ldb, int pc, int j0, int kc, int nr, float* dst, int nrT)
    {
        if (!transB)
        {
            float* src = b + (long)pc * ldb + j0;
            if (nr == nrT)
            {
                for (int p = 0; p < kc; p++, src += ldb, dst += nrT)
                    for (int j = 0; j < nrT; j += 8)
                        Vector256.Store(Vector256.Load(src + j), dst + j);
                return;
            }
            for (int p = 0; p < kc; p++, src += ldb, dst += nrT)
            {
                int j = 0;
                for (; j < nr; j++) dst[j] = src[j];
                for (; j < nrT; j++) dst[j] = 0;
            }
            return;
        }
        // B stored n x k: column j of op(B) is row j0 + j of B. Read the rows in blocks of 8 k steps.
        float* rows = b + (long)j0 * ldb + pc;
        int p0 = 0;
        if (nr == nrT && Avx.IsSupported)
        {
            // 8 x 8 blocks: eight rows of B (eight columns of op(B)), eight k steps each, transposed in registers.
            for (; p0 + 8 <= kc; p0 += 8)
                for (int j = 0; j < nrT; j += 8)
                    Transpose8x8(rows + (long)j * ldb + p0, ldb, dst + (long)p0 * nrT + j, nrT);
        }
        else if (nr == nrT)
        {
            for (; p0 + 8 <= kc; p0 += 8)
            {
                float* d = dst + (long)p0 * nrT;
                for (int j = 0; j < nrT; j++)
                {
                    float* s = rows + (long)j * ldb + p0;
                    d[j] = s[0]; d[nrT + j] = s[1]; d[2 * nrT + j] = s[2]; d[3 * nrT + j] = s[3];
                    d[4 * nrT + j] = s[4]; d[5 * nrT + j] = s[5]; d[6 * nrT + j] = s[6]; d[7 * nrT + j] = s[7];
                }
            }
        }
        for (int j = 0; j < nrT; j++)
        {
            float* s = rows + (long)j * ldb;
            for (int p = p0; p < kc; p++) dst[(long)p * nrT + j] = j < nr ? s[p] : 0;
        }
    }

    /// <summary>
    /// C[m x n] = alpha * A B^T + beta * C (beta 0 ignores C) for row-major A [m x k] and B [n x k], as dot products
    /// along k, four rows of A against four of B at a time (16 Vector512 accumulators, summed across lanes at the
    /// end), with no packing: for a long k and a short m (a convolution's weight gradient, dY unfold(x)^T, 16-32
    /// output channels against 1,000-4,000 pixels) a packed product spends more time packing B than computing,
    /// because each element of B meets only m rows of A. Columns j0 .. j1 of C only.
    /// </summary>
    public static void DotProductsAbt(int m, int j0, int j1, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        for (int j = j0; j < j1; j += 4)
        {
            int nj = Math.Min(4, j1 - j);
            for (int i = 0; i < m; i += 4)
            {
                int ni = Math.Min(4, m - i);
                if (ni == 4 && nj == 4) Dot4x4(k, alpha, a + (long)i * lda, lda, b + (long)j * ldb, ldb, beta, c + (long)i * ldc + j, ldc);
                else
                    for (int ii = 0; ii < ni; ii++)
                        for (int jj = 0; jj < nj; jj++)
                        {
                            float dot = Dot1(k, a + (long)(i + ii) * lda, b + (long)(j + jj) * ldb);
                            float* cp = c + (long)(i + ii) * ldc + j + jj;
                            *cp = beta == 0 ? alpha * dot : alpha * dot + beta * *cp;
                        }
            }
        }
    }

    private static float Dot1(int k, float* a, float* b)
    {
        var acc = Vector512<float>.Zero;
        int p = 0;
        for (; p + 16 <= k; p += 16) acc = Avx512F.FusedMultiplyAdd(Vector512.Load(a + p), Vector512.Load(b + p), acc);
        float s = Vector512.Sum(acc);
        for (; p < k; p++) s += a[p] * b[p];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4(int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        float* a0 = a, a1 = a + lda, a2 = a + 2L * lda, a3 = a + 3L * lda;
        float* b0 = b, b1 = b + ldb, b2 = b + 2L * ldb, b3 = b + 3L * ldb;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            var x0 = Vector512.Load(a0 + p); var x1 = Vector512.Load(a1 + p);
            var x2 = Vector512.Load(a2 + p); var x3 = Vector512.Load(a3 + p);
            var y = Vector512.Load(b0 + p);
            c00 = Avx512F.FusedMultiplyAdd(x0, y, c00); c10 = Avx512F.FusedMultiplyAdd(x1, y, c10);
            c20 = Avx512F.FusedMultiplyAdd(x2, y, c20); c30 = Avx512F.FusedMultiplyAdd(x3, y, c30);
            y = Vector512.Load(b1 + p);
            c01 = Avx512F.FusedMultiplyAdd(x0, y, c01); c11 = Avx512F.FusedMultiplyAdd(x1, y, c11);
            c21 = Avx512F.FusedMultiplyAdd(x2, y, c21); c31 = Avx512F.FusedMultiplyAdd(x3, y, c31);
            y = Vector512.Load(b2 + p);
            c02 = Avx512F.FusedMultiplyAdd(x0, y, c02); c12 = Avx512F.FusedMultiplyAdd(x1, y, c12);
            c22 = Avx512F.FusedMultiplyAdd(x2, y, c22); c32 = Avx512F.FusedMultiplyAdd(x3, y, c32);
            y = Vector512.Load(b3 + p);
            c03 = Avx512F.FusedMultiplyAdd(x0, y, c03); c13 = Avx512F.FusedMultiplyAdd(x1, y, c13);
            c23 = Avx512F.FusedMultiplyAdd(x2, y, c23); c33 = Avx512F.FusedMultiplyAdd(x3, y, c33);
        }
        float* sums = stackalloc float[16];
        sums[0] = Vector512.Sum(c00); sums[1] = Vector512.Sum(c01); sums[2] = Vector512.Sum(c02); sums[3] = Vector512.Sum(c03);
        sums[4] = Vector512.Sum(c10); sums[5] = Vector512.Sum(c11); sums[6] = Vector512.Sum(c12); sums[7] = Vector512.Sum(c13);
        sums[8] = Vector512.Sum(c20); sums[9] = Vector512.Sum(c21); sums[10] = Vector512.Sum(c22); sums[11] = Vector512.Sum(c23);
        sums[12] = Vector512.Sum(c30); sums[13] = Vector512.Sum(c31); sums[14] = Vector512.Sum(c32); sums[15] = Vector512.Sum(c33);
        for (; p < k; p++)
            for (int i = 0; i < 4; i++)
            {
                float av = a[i * (long)lda + p];
                for (int j = 0; j < 4; j++) sums[i * 4 + j] += av * b[j * (long)ldb + p];
            }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                float* cp = c + (long)i * ldc + j;
                *cp = beta == 0 ? alpha * sums[i * 4 + j] : alpha * sums[i * 4 + j] + beta * *cp;
            }
    }

    /// <summary>dst[i * dstStride + r] = src[r * srcStride + i] for r, i in 0..8 (AVX shuffles, no scalar moves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8x8(float* src, long srcStride, float* dst, long dstStride)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride);
        var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride);
        var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride);
        var r7 = Avx.LoadVector256(src + 7 * srcStride);
        // pairs of rows interleaved, then pairs of pairs, then the 128-bit halves exchanged
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// C[mc x ns] = alpha * Apack * Bpack + beta * C (beta 0 ignores C): B slivers outer (one stays in L1), A
    /// slivers inner (the A block stays in L2). Edge tiles are computed into a local tile first. wide picks the
    /// 8x32 Vector512 kernel (slivers packed MR512 / NR512), otherwise the 6x16 one.
    /// </summary>
    public static void Macro(bool wide, int mc, int ns, int kc, float alpha, float* aPack, float* bPack, float beta, float* c, int ldc)
    {
        int mrT = wide ? MR512 : MR, nrT = wide ? NR512 : NR;
        float* tile = stackalloc float[MR512 * NR512];
        for (int j0 = 0; j0 < ns; j0 += nrT)
        {
            int nr = Math.Min(nrT, ns - j0);
            float* bp = bPack + (long)j0 * kc;
            for (int i0 = 0; i0 < mc; i0 += mrT)
            {
                int mr = Math.Min(mrT, mc - i0);
                float* ap = aPack + (long)i0 * kc;
                float* ct = c + (long)i0 * ldc + j0;
                if (mr == mrT && nr == nrT)
                {
                    if (wide) Kernel512(kc, ap, bp, alpha, beta, ct, ldc);
                    else Kernel(kc, ap, bp, alpha, beta, ct, ldc);
                    continue;
                }
                if (wide) Kernel512(kc, ap, bp, 1f, 0f, tile, nrT);
                else Kernel(kc, ap, bp, 1f, 0f, tile, nrT);
                for (int r = 0; r < mr; r++)
                {
                    float* crow = ct + (long)r * ldc;
                    float* trow = tile + r * nrT;
                    if (beta == 0)
                        for (int j = 0; j < nr; j++) crow[j] = alpha * trow[j];
                    else
                        for (int j = 0; j < nr; j++) crow[j] = alpha * trow[j] + beta * crow[j];
                }
            }
        }
    }

    /// <summary>c[8 x 32] = alpha * sum_p a[p, 0..8] (x) b[p, 0..32] + beta * c (beta 0 ignores c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel512(int kc, float* a, float* b, float alpha, float beta, float* c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int r = 0; r < MR512; r++)
        {
            Sse.Prefetch0(c + (long)r * ldc);
            Sse.Prefetch0(c + (long)r * ldc + NR512 - 1);
        }
        for (int p = 0; p < kc; p++, a += MR512, b += NR512)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
        }
        var va = Vector512.Create(alpha);
        if (beta == 0)
        {
            Store0(c, c00, c01, va); Store0(c + ldc, c10, c11, va);
            Store0(c + 2L * ldc, c20, c21, va); Store0(c + 3L * ldc, c30, c31, va);
            Store0(c + 4L * ldc, c40, c41, va); Store0(c + 5L * ldc, c50, c51, va);
            Store0(c + 6L * ldc, c60, c61, va); Store0(c + 7L * ldc, c70, c71, va);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Store(c, c00, c01, va, vb); Store(c + ldc, c10, c11, va, vb);
            Store(c + 2L * ldc, c20, c21, va, vb); Store(c + 3L * ldc, c30, c31, va, vb);
            Store(c + 4L * ldc, c40, c41, va, vb); Store(c + 5L * ldc, c50, c51, va, vb);
            Store(c + 6L * ldc, c60, c61, va, vb); Store(c + 7L * ldc, c70, c71, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store0(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> va)
    {
        Vector512.Store(v0 * va, c);
        Vector512.Store(v1 * va, c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> va, Vector512<float> vb)
    {
        Vector512.Store(v0 * va + Vector512.Load(c) * vb, c);
        Vector512.Store(v1 * va + Vector512.Load(c + 16) * vb, c + 16);
    }

    /// <summary>c[6 x 16] = alpha * sum_p a[p, 0..6] (x) b[p, 0..16] + beta * c (beta 0 ignores c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel(int kc, float* a, float* b, float alpha, float beta, float* c, int ldc)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (Fma.IsSupported)
        {
            // Bring C's rows towards L1 while the k loop runs (they are needed only at the end).
            for (int r = 0; r < MR; r++)
            {
                Sse.Prefetch0(c + (long)r * ldc);
                Sse.Prefetch0(c + (long)r * ldc + NR - 1);
            }
            int p = 0;
            for (; p + 2 <= kc; p += 2, a += 2 * MR, b += 2 * NR)
            {
                var b0 = Avx.LoadVector256(b);
                var b1 = Avx.LoadVector256(b + 8);
                var x = Avx.BroadcastScalarToVector256(a);
                c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
                x = Avx.BroadcastScalarToVector256(a + 1);
                c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
                x = Avx.BroadcastScalarToVector256(a + 2);
                c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
                x = Avx.BroadcastScalarToVector256(a + 3);
                c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
                x = Avx.BroadcastScalarToVector256(a + 4);
                c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
                x = Avx.BroadcastScalarToVector256(a + 5);
                c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);

                b0 = Avx.LoadVector256(b + NR);
                b1 = Avx.LoadVector256(b + NR + 8);
                x = Avx.BroadcastScalarToVector256(a + MR);
                c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
                x = Avx.BroadcastScalarToVector256(a + MR + 1);
                c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
                x = Avx.BroadcastScalarToVector256(a + MR + 2);
                c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
                x = Avx.BroadcastScalarToVector256(a + MR + 3);
                c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
                x = Avx.BroadcastScalarToVector256(a + MR + 4);
                c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
                x = Avx.BroadcastScalarToVector256(a + MR + 5);
                c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            }
            if (p < kc)
            {
                var b0 = Avx.LoadVector256(b);
                var b1 = Avx.LoadVector256(b + 8);
                var x = Avx.BroadcastScalarToVector256(a);
                c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
                x = Avx.BroadcastScalarToVector256(a + 1);
                c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
                x = Avx.BroadcastScalarToVector256(a + 2);
                c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
                x = Avx.BroadcastScalarToVector256(a + 3);
                c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
                x = Avx.BroadcastScalarToVector256(a + 4);
                c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
                x = Avx.BroadcastScalarToVector256(a + 5);
                c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            }
        }
        else
        {
            // Vector256 without FMA (or emulated): separate multiply and add, same k order.
            for (int p = 0; p < kc; p++, a += MR, b += NR)
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                var x = Vector256.Create(a[0]); c00 += x * b0; c01 += x * b1;
                x = Vector256.Create(a[1]); c10 += x * b0; c11 += x * b1;
                x = Vector256.Create(a[2]); c20 += x * b0; c21 += x * b1;
                x = Vector256.Create(a[3]); c30 += x * b0; c31 += x * b1;
                x = Vector256.Create(a[4]); c40 += x * b0; c41 += x * b1;
                x = Vector256.Create(a[5]); c50 += x * b0; c51 += x * b1;
            }
        }
        var va = Vector256.Create(alpha);
        if (beta == 0)
        {
            Store0(c, c00, c01, va);
            Store0(c + ldc, c10, c11, va);
            Store0(c + 2L * ldc, c20, c21, va);
            Store0(c + 3L * ldc, c30, c31, va);
            Store0(c + 4L * ldc, c40, c41, va);
            Store0(c + 5L * ldc, c50, c51, va);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Store(c, c00, c01, va, vb);
            Store(c + ldc, c10, c11, va, vb);
            Store(c + 2L * ldc, c20, c21, va, vb);
            Store(c + 3L * ldc, c30, c31, va, vb);
            Store(c + 4L * ldc, c40, c41, va, vb);
            Store(c + 5L * ldc, c50, c51, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store0(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> va)
    {
        Vector256.Store(v0 * va, c);
        Vector256.Store(v1 * va, c + 8);
    }

    // alpha * acc + beta * c as a separate multiply and add (never fused), so that an edge tile, computed through
    // a scalar alpha * t + beta * c, rounds identically.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> va, Vector256<float> vb)
    {
        Vector256.Store(v0 * va + Vector256.Load(c) * vb, c);
        Vector256.Store(v1 * va + Vector256.Load(c + 8) * vb, c + 8);
    }
}
