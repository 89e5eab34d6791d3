// Managed SGEMM in the GotoBLAS/BLIS shape: C is cut into NC-column and KC-deep blocks; B's block is packed
// once into NR-wide slivers, each MC-row block of A into MR-tall slivers, and a 6x16 register-blocked
// Vector256 FMA micro-kernel (12 accumulators) runs over sliver pairs. Blocks were chosen by measurement on the
// Zen 4 VMs (docs/benchmarks.md): KC 512 (a deep k block halves C's load/store traffic, which matters at power-of-two
// leading dimensions), MC 72 (A block 144 KB in L2), NC 2048 (B block 4 MB in L3), column slices of 512.
// Threads take (A block, column slice) tiles; every element of C is computed by one tile with the same k order,
// so results do not depend on the thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Linalg;

/// <summary>The managed, packed, cache-blocked SIMD SGEMM.</summary>
public sealed unsafe class ManagedGemm : IGemmProvider
{
    internal const int MR = 6, NR = 16, KC = 512, MC = 72, NC = 2048, SliceN = 512;

    // Packing buffers: 64-byte aligned (a 32-byte load must never straddle a cache line) and kept per thread.
    [ThreadStatic] private static float* t_aPack;
    [ThreadStatic] private static float* t_bPack;
    [ThreadStatic] private static long t_bCapacity;

    /// <inheritdoc/>
    public string Name => "managed";

    /// <inheritdoc/>
    public string Describe() =>
        $"packed {MR}x{NR} {(Fma.IsSupported ? "AVX2 FMA" : "Vector256 (no FMA)")} micro-kernel, KC {KC}, MC {MC}, NC {NC}, {Parallelism.Threads} thread(s)";

    /// <inheritdoc/>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        GemmChecks.Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            GemmChecks.ScaleC(m, n, beta, c, ldc);
            return;
        }
        if ((long)m * n * k < 16384 || !Vector256.IsHardwareAccelerated)
        {
            Small(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
            Blocked(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    private static void Blocked(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        int ncMax = Math.Min(NC, RoundUp(n, NR));
        int kcMax = Math.Min(KC, k);
        float* bPack = BPackBuffer((long)ncMax * kcMax);
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                float betaBlock = pc == 0 ? beta : 1f;
                int slivers = (nc + NR - 1) / NR;
                nint aAddr = (nint)a, bAddr = (nint)b, cAddr = (nint)c, bpAddr = (nint)bPack;
                Parallelism.For(slivers, (long)kc * NR, s =>
                    PackB(transB, (float*)bAddr, ldb, pc, jc + s * NR, kc, Math.Min(NR, nc - s * NR), (float*)bpAddr + (long)s * NR * kc));
                int mBlocks = (m + MC - 1) / MC;
                int nSlices = (nc + SliceN - 1) / SliceN;
                Parallelism.For(mBlocks * nSlices, 2L * MC * SliceN * kc, t =>
                {
                    int ic = t / nSlices * MC, js = t % nSlices * SliceN;
                    int mc = Math.Min(MC, m - ic), ns = Math.Min(SliceN, nc - js);
                    float* ap = APackBuffer();
                    PackA(transA, (float*)aAddr, lda, ic, pc, mc, kc, ap);
                    Macro(mc, ns, kc, alpha, ap, (float*)bpAddr + (long)js * kc, betaBlock, (float*)cAddr + (long)ic * ldc + jc + js, ldc);
                });
            }
        }
    }

    private static float* APackBuffer()
    {
        if (t_aPack == null) t_aPack = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(MC * KC * sizeof(float)), 64);
        return t_aPack;
    }

    private static float* BPackBuffer(long floats)
    {
        if (t_bCapacity < floats)
        {
            if (t_bPack != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(t_bPack);
            t_bPack = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            t_bCapacity = floats;
        }
        return t_bPack;
    }

    // aPack: [ceil(mc/MR)][kc][MR], zero-padded rows; op(A)[ic + i, pc + p].
    private static void PackA(bool transA, float* a, int lda, int ic, int pc, int mc, int kc, float* aPack)
    {
        for (int i0 = 0; i0 < mc; i0 += MR)
        {
            int mr = Math.Min(MR, mc - i0);
            float* dst = aPack + (long)i0 * kc;
            if (!transA)
            {
                for (int r = 0; r < MR; r++)
                {
                    if (r < mr)
                    {
                        float* src = a + (long)(ic + i0 + r) * lda + pc;
                        for (int p = 0; p < kc; p++) dst[p * MR + r] = src[p];
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++) dst[p * MR + r] = 0;
                    }
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)(pc + p) * lda + ic + i0;
                    int r = 0;
                    for (; r < mr; r++) dst[p * MR + r] = src[r];
                    for (; r < MR; r++) dst[p * MR + r] = 0;
                }
            }
        }
    }

    // bPack: [kc][NR] for one sliver of nr <= NR columns, zero-padded; op(B)[pc + p, j0 + j].
    private static void PackB(bool transB, float* b, int ldb, int pc, int j0, int kc, int nr, float* bPack)
    {
        if (!transB)
        {
            if (nr == NR)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)(pc + p) * ldb + j0;
                    Vector256.Store(Vector256.Load(src), bPack + p * NR);
                    Vector256.Store(Vector256.Load(src + 8), bPack + p * NR + 8);
                }
                return;
            }
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (long)(pc + p) * ldb + j0;
                int j = 0;
                for (; j < nr; j++) bPack[p * NR + j] = src[j];
                for (; j < NR; j++) bPack[p * NR + j] = 0;
            }
            return;
        }
        for (int j = 0; j < NR; j++)
        {
            if (j < nr)
            {
                float* src = b + (long)(j0 + j) * ldb + pc;
                for (int p = 0; p < kc; p++) bPack[p * NR + j] = src[p];
            }
            else
            {
                for (int p = 0; p < kc; p++) bPack[p * NR + j] = 0;
            }
        }
    }

    // C[mc, ns] (+)= alpha * Apack[mc, kc] * Bpack[kc, ns]; edge tiles go through a local 6x16 buffer.
    private static void Macro(int mc, int ns, int kc, float alpha, float* aPack, float* bPack, float beta, float* c, int ldc)
    {
        float* tile = stackalloc float[MR * NR];
        for (int j0 = 0; j0 < ns; j0 += NR)
        {
            int nr = Math.Min(NR, ns - j0);
            float* bp = bPack + (long)j0 * kc;
            for (int i0 = 0; i0 < mc; i0 += MR)
            {
                int mr = Math.Min(MR, mc - i0);
                float* ap = aPack + (long)i0 * kc;
                if (mr == MR && nr == NR)
                {
                    Kernel(kc, ap, bp, alpha, beta, c + (long)i0 * ldc + j0, ldc);
                    continue;
                }
                Kernel(kc, ap, bp, 1f, 0f, tile, NR);
                for (int r = 0; r < mr; r++)
                {
                    float* crow = c + (long)(i0 + r) * ldc + j0;
                    for (int j = 0; j < nr; j++)
                        crow[j] = beta == 0 ? alpha * tile[r * NR + j] : alpha * tile[r * NR + j] + beta * crow[j];
                }
            }
        }
    }

    // The 6x16 micro-kernel: c[6, 16] = alpha * sum_p a[p, 0..6] (x) b[p, 0..16] + beta * c (beta 0 ignores c).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel(int kc, float* a, float* b, float alpha, float beta, float* c, int ldc)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (Fma.IsSupported)
        {
            for (int p = 0; p < kc; p++, a += MR, b += NR)
            {
                var b0 = Avx.LoadVector256(b);
                var b1 = Avx.LoadVector256(b + 8);
                var x = Vector256.Create(a[0]);
                c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
                x = Vector256.Create(a[1]);
                c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
                x = Vector256.Create(a[2]);
                c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
                x = Vector256.Create(a[3]);
                c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
                x = Vector256.Create(a[4]);
                c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
                x = Vector256.Create(a[5]);
                c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            }
        }
        else
        {
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
        Store(c, c00, c01, alpha, beta);
        Store(c + ldc, c10, c11, alpha, beta);
        Store(c + 2 * ldc, c20, c21, alpha, beta);
        Store(c + 3 * ldc, c30, c31, alpha, beta);
        Store(c + 4 * ldc, c40, c41, alpha, beta);
        Store(c + 5 * ldc, c50, c51, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> v0, Vector256<float> v1, float alpha, float beta)
    {
        var va = Vector256.Create(alpha);
        v0 *= va;
        v1 *= va;
        if (beta != 0)
        {
            var vb = Vector256.Create(beta);
            v0 += Vector256.Load(c) * vb;
            v1 += Vector256.Load(c + 8) * vb;
        }
        Vector256.Store(v0, c);
        Vector256.Store(v1, c + 8);
    }

    /// <summary>Direct loops for tiny products, where packing costs more than it saves.</summary>
    private static void Small(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Span<float> row = n <= 1024 ? stackalloc float[n] : new float[n];
        for (int i = 0; i < m; i++)
        {
            row.Clear();
            for (int p = 0; p < k; p++)
            {
                float av = transA ? a[p * lda + i] : a[i * lda + p];
                if (av == 0) continue;
                if (!transB) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), av, row, row);
                else for (int j = 0; j < n; j++) row[j] += av * b[j * ldb + p];
            }
            var crow = c.Slice(i * ldc, n);
            for (int j = 0; j < n; j++) crow[j] = beta == 0 ? alpha * row[j] : alpha * row[j] + beta * crow[j];
        }
    }

    private static int RoundUp(int x, int m) => (x + m - 1) / m * m;
}
