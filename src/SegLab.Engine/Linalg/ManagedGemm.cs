// Managed SGEMM in the GotoBLAS/BLIS shape: C is cut into NC-column and KC-deep blocks; B's block is packed once
// into NR-wide slivers (L3), each MC-row block of A into MR-tall slivers (L2), and a micro-kernel in
// ManagedGemmKernels (8x32 Vector512 where AVX-512 runs, else 6x16 Vector256 FMA) runs over sliver pairs, one B sliver held in L1 while the A slivers pass.
// Threads take (A block, column slice) tiles through Parallelism.For; every element of C is computed by one tile
// with the same k order, and neither the blocks nor the sliver edges depend on the thread count, so results are
// bitwise the same for any SEGLAB_THREADS.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SegLab.Engine.Threading;
using static SegLab.Engine.Linalg.ManagedGemmKernels;

namespace SegLab.Engine.Linalg;

/// <summary>The managed, packed, cache-blocked SIMD SGEMM.</summary>
public sealed unsafe class ManagedGemm : IGemmProvider
{
    /// <summary>
    /// Cache blocking for Zen 4 (32 KiB L1d, 1 MiB L2, shared L3): a B sliver KC x NR is 16 KiB (half of L1, the
    /// streaming A sliver and C take the rest), an A block MC x KC is 144 KiB (well inside L2 alongside the B
    /// slivers passing through), a B block KC x NC is 4 MiB (L3).
    /// </summary>
    internal const int KC = 256, MC = 144, NC = 4096;

    /// <summary>Below this m*n*k, a direct loop beats packing.</summary>
    internal const long SmallVolume = 32_768;

    /// <summary>
    /// Flops per unit of Parallelism's work (scalar-op units): the micro-kernel runs 10-20 times faster than scalar
    /// code, and on the shared VMs a woken worker often arrives 0.1-2 ms late, so a product is split only when
    /// 2mnk reaches 48 MFLOP (about 0.6 ms on one core); 256^3 stays on the caller, 384^3 and up are shared.
    /// </summary>
    private const int FlopsPerWorkUnit = 48;

    // Packing buffers: 64-byte aligned (a 32-byte load never straddles a cache line), one set per thread, kept for
    // the thread's lifetime and grown only when a larger block is needed.
    [ThreadStatic] private static float* t_aPack;
    [ThreadStatic] private static float* t_bPack;
    [ThreadStatic] private static long t_bCapacity;

    private readonly bool _wide;
    private readonly int _mr, _nr;

    /// <summary>The provider with the widest micro-kernel this processor runs.</summary>
    public ManagedGemm() : this(Wide512Supported) { }

    /// <summary>The provider with the 8x32 AVX-512 micro-kernel (wide) or the 6x16 AVX2 one.</summary>
    /// <param name="wide">True for the Vector512 kernel; it must be supported here.</param>
    internal ManagedGemm(bool wide)
    {
        if (wide && !Wide512Supported) throw new PlatformNotSupportedException("managed gemm: the 8x32 kernel needs AVX-512 F and an accelerated Vector512.");
        _wide = wide;
        (_mr, _nr) = wide ? (MR512, NR512) : (MR, NR);
    }

    /// <summary>Whether this instance runs the 8x32 Vector512 micro-kernel.</summary>
    public bool Wide => _wide;

    /// <inheritdoc/>
    public string Name => "managed";

    /// <inheritdoc/>
    public string Describe() =>
        $"packed {_mr}x{_nr} {(_wide ? "AVX-512" : Fma.IsSupported ? "AVX2 FMA" : Vector256.IsHardwareAccelerated ? "Vector256 (no FMA)" : "scalar")} micro-kernel, "
        + $"KC {KC}, MC {MC}, NC {NC}, direct loops under m*n*k {SmallVolume:N0}, {Parallelism.Threads} thread(s)";

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
        if ((long)m * n * k < SmallVolume || !Vector256.IsHardwareAccelerated)
        {
            Small(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (_wide && !transA && transB && m <= DotMaxM && k >= DotMinK)
            {
                DotProducts(m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
                return;
            }
            Blocked(transA, transB, m, n, k, alpha, pa, lda, null, pb, ldb, beta, pc, ldc);
        }
    }

    /// <summary>
    /// Whether <see cref="Sgemm"/> would run this product through the packed, blocked path (not the direct loops
    /// for tiny products, nor the dot products for short, deep A B^T), so that an A packed once by
    /// <see cref="Pack"/> can stand in for A.
    /// </summary>
    internal bool TakesPackedPath(bool transA, bool transB, int m, int n, int k) =>
        m > 0 && n > 0 && k > 0 && (long)m * n * k >= SmallVolume && Vector256.IsHardwareAccelerated
        && !(_wide && !transA && transB && m <= DotMaxM && k >= DotMinK);

    /// <summary>
    /// Packs op(A) (m x k) once, in the layout the blocked path packs each block of A into, for a sequence of
    /// products with the same A (a convolution's weights against each image's unfolded columns): each product
    /// then skips packing A, and gives bitwise the result <see cref="Sgemm"/> gives. Dispose to return the buffer.
    /// </summary>
    internal PackedA Pack(bool transA, int m, int k, ReadOnlySpan<float> a, int lda)
    {
        GemmChecks.ValidateOperand("A", transA ? k : m, transA ? m : k, a.Length, lda);
        if (m < 1 || k < 1) throw new ArgumentException($"gemm: cannot pack an empty A ({m}x{k}).");
        var packed = new PackedA(this, m, k, RoundUp(m, _mr));
        int mBlocks = (m + MC - 1) / MC, kBlocks = (k + KC - 1) / KC, mrT = _mr;
        fixed (float* pa = a)
        {
            nint aAddr = (nint)pa, dAddr = (nint)packed.Pointer;
            int mPad = packed.RowsPadded;
            // One block (KC deep, MC tall) per item; a block is a plain copy, so only large A are shared out.
            Parallelism.For(mBlocks * kBlocks, (long)MC * KC, t =>
            {
                int pc = t / mBlocks * KC, ic = t % mBlocks * MC;
                int kc = Math.Min(KC, k - pc), mc = Math.Min(MC, m - ic);
                PackA(transA, (float*)aAddr, lda, ic, pc, mc, kc, (float*)dAddr + (long)pc * mPad + (long)ic * kc, mrT);
            });
        }
        return packed;
    }

    /// <summary>
    /// C = alpha A op(B) + beta C with A packed by <see cref="Pack"/> of this provider (m and k are A's); only for
    /// products where <see cref="TakesPackedPath"/> holds.
    /// </summary>
    internal void SgemmPacked(PackedA a, bool transB, int n, float alpha, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        if (!ReferenceEquals(a.Owner, this)) throw new ArgumentException("gemm: A was packed by another provider.");
        int m = a.M, k = a.K;
        GemmChecks.ValidateOperand("B", transB ? n : k, transB ? k : n, b.Length, ldb);
        GemmChecks.ValidateOperand("C", m, n, c.Length, ldc);
        if (!TakesPackedPath(false, transB, m, n, k))
            throw new ArgumentException($"gemm: a {m}x{n}x{k} product does not take the packed path; call Sgemm.");
        if (alpha == 0)
        {
            GemmChecks.ScaleC(m, n, beta, c, ldc);
            return;
        }
        fixed (float* pb = b, pc = c)
            Blocked(false, transB, m, n, k, alpha, null, 0, a, pb, ldb, beta, pc, ldc);
    }

    /// <summary>The micro-kernel's sliver width (columns of B per packed sliver).</summary>
    internal int SliverWidth => _nr;

    /// <summary>
    /// Floats of a B (k x n, n at most <see cref="NC"/>) packed as the blocked path packs it: one panel per KC rows,
    /// panel pc (its first row) at offset pc * RoundUp(n, SliverWidth), within it sliver s (columns s*nr ..) at
    /// s * nr * kc and row p of the sliver at p * nr, columns past n zero.
    /// </summary>
    internal long PackedBLength(int n, int k) => (long)RoundUp(n, _nr) * k;

    /// <summary>
    /// C = op(A) B + beta C (m x n) with B already in the layout of <see cref="PackedBLength"/> (a convolution's
    /// unfolded band written there directly, skipping the copy the blocked path would make), and A either packed by
    /// <see cref="Pack"/> (m and k its) or raw (a, lda, not transposed). Bitwise the result <see cref="Sgemm"/>
    /// gives for the same B, where <see cref="TakesPackedPath"/> holds (the caller checks) and n is at most NC.
    /// </summary>
    internal void SgemmPrepackedB(PackedA? packedA, ReadOnlySpan<float> a, int lda, int m, int n, int k, float* bPacked, float beta, Span<float> c, int ldc)
    {
        if (packedA is not null && (!ReferenceEquals(packedA.Owner, this) || packedA.M != m || packedA.K != k)) throw new ArgumentException("gemm: A was packed by another provider or for another shape.");
        if (n > NC || !TakesPackedPath(false, false, m, n, k)) throw new ArgumentException($"gemm: a {m}x{n}x{k} product with B pre-packed needs the packed path and n <= {NC}.");
        if (packedA is null) GemmChecks.ValidateOperand("A", m, k, a.Length, lda);
        GemmChecks.ValidateOperand("C", m, n, c.Length, ldc);
        fixed (float* pa = a, pc = c)
            Blocked(false, false, m, n, k, 1f, pa, lda, packedA, null, 0, beta, pc, ldc, bPacked);
    }

    /// <summary>
    /// op(A) packed for the blocked path: for each KC-deep panel (offset pc * RowsPadded) the MC-row blocks one after
    /// another (offset ic * kc within the panel), each as PackA lays it out. The buffer is pooled.
    /// </summary>
    internal sealed class PackedA : IDisposable
    {
        private float[]? _buffer;
        private GCHandle _pin;

        internal PackedA(ManagedGemm owner, int m, int k, int rowsPadded)
        {
            Owner = owner;
            M = m;
            K = k;
            RowsPadded = rowsPadded;
            // 16 floats of slack so that the start can be moved to a 64-byte boundary.
            _buffer = System.Buffers.ArrayPool<float>.Shared.Rent(checked(rowsPadded * k + 16));
            _pin = GCHandle.Alloc(_buffer, GCHandleType.Pinned);
            nint start = _pin.AddrOfPinnedObject();
            Pointer = (float*)((start + 63) & ~(nint)63);
        }

        internal ManagedGemm Owner { get; }
        internal int M { get; }
        internal int K { get; }
        internal int RowsPadded { get; }
        internal float* Pointer { get; }

        internal float* Block(int pc, int ic, int kc) => Pointer + (long)pc * RowsPadded + (long)ic * kc;

        public void Dispose()
        {
            if (_buffer is null) return;
            _pin.Free();
            System.Buffers.ArrayPool<float>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    /// <summary>
    /// A B^T with at most this many rows of A and at least <see cref="DotMinK"/> terms goes to the unpacked dot
    /// products (<see cref="ManagedGemmKernels.DotProductsAbt"/>). Side by side on one thread of a Zen 5 VM, packed
    /// against dot products, GFLOP/s: 16x144x1024 45 -> 111, 16x147x832 75 -> 98, 16x147x4096 58 -> 122,
    /// 32x144x1024 79 -> 112; with k = 256 the packed product was as fast or faster (16x288x256 124 against 90,
    /// 32x288x256 149 against 88), and with more rows of A too (64x288x1024 135 against 117).
    /// </summary>
    internal const int DotMaxM = 32, DotMinK = 512;

    private static void DotProducts(int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        // Column blocks of C (multiples of 4) over the threads; every element is one dot product computed the same
        // way whichever thread takes it, so the result does not depend on the thread count.
        int blocks = (n + 63) / 64;
        nint ia = (nint)a, ib = (nint)b, ic = (nint)c;
        Parallelism.For(blocks, 2L * m * Math.Min(64, n) * k / FlopsPerWorkUnit, t =>
            DotProductsAbt(m, t * 64, Math.Min(n, t * 64 + 64), k, alpha, (float*)ia, lda, (float*)ib, ldb, beta, (float*)ic, ldc));
    }

    // A comes either raw (a, lda: each tile packs its block) or packed once (packed).
    private void Blocked(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, PackedA? packed, float* b, int ldb, float beta, float* c, int ldc, float* bPrepacked = null)
    {
        int threads = Parallelism.Threads;
        int kcMax = Math.Min(KC, k);
        int mrT = _mr, nrT = _nr;
        bool wide = _wide;
        int ncMax = Math.Min(NC, RoundUp(n, nrT));
        // B packed by the caller (n <= NC, one column block): each KC panel at pc * RoundUp(n, nr) (PackedBLength).
        float* bPack = bPrepacked != null ? bPrepacked : BPackBuffer((long)ncMax * kcMax);
        nint aAddr = (nint)a, bAddr = (nint)b, cAddr = (nint)c, bpAddr = (nint)bPack;
        int mBlocks = (m + MC - 1) / MC;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int slivers = (nc + nrT - 1) / nrT;
            // Column slices (whole slivers) only when there are too few A blocks to keep every thread busy with
            // about three tiles each; the slicing changes who computes a tile, never how.
            int nSlices = Math.Clamp((3 * threads + mBlocks - 1) / mBlocks, 1, slivers);
            if (threads == 1) nSlices = 1;
            int sliceSlivers = (slivers + nSlices - 1) / nSlices;
            nSlices = (slivers + sliceSlivers - 1) / sliceSlivers;
            int sliceN = sliceSlivers * nrT;
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                float betaBlock = pc == 0 ? beta : 1f;
                int jcc = jc, pcc = pc;
                // Packing is a plain copy, cheaper per element than a scalar flop: counted in elements, it is
                // parallelised only for B blocks over a million elements, where it outlasts a worker's wake-up.
                if (bPrepacked != null) bpAddr = (nint)(bPrepacked + (long)pc * ncMax);
                else
                {
                    Parallelism.For(slivers, (long)kc * nrT, s =>
                        PackB(transB, (float*)bAddr, ldb, pcc, jcc + s * nrT, kc, Math.Min(nrT, nc - s * nrT), (float*)bpAddr + (long)s * nrT * kc, nrT));
                }
                long tileFlops = 2L * Math.Min(MC, m) * Math.Min(sliceN, nc) * kc;
                Parallelism.For(mBlocks * nSlices, tileFlops / FlopsPerWorkUnit, t =>
                {
                    int ic = t / nSlices * MC, js = t % nSlices * sliceN;
                    int mc = Math.Min(MC, m - ic), ns = Math.Min(sliceN, nc - js);
                    float* ap;
                    if (packed is null)
                    {
                        ap = APackBuffer();
                        PackA(transA, (float*)aAddr, lda, ic, pcc, mc, kc, ap, mrT);
                    }
                    else ap = packed.Block(pcc, ic, kc);
                    Macro(wide, mc, ns, kc, alpha, ap, (float*)bpAddr + (long)js * kc, betaBlock, (float*)cAddr + (long)ic * ldc + jcc + js, ldc);
                });
            }
        }
    }

    private static float* APackBuffer()
    {
        if (t_aPack == null) t_aPack = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(RoundUp(MC, MR), RoundUp(MC, MR512)) * KC * sizeof(float)), 64);
        return t_aPack;
    }

    private static float* BPackBuffer(long floats)
    {
        if (t_bCapacity < floats)
        {
            if (t_bPack != null) NativeMemory.AlignedFree(t_bPack);
            t_bPack = null;
            t_bCapacity = 0;
            t_bPack = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            t_bCapacity = floats;
        }
        return t_bPack;
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
                if (!transB) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), av, row, row);
                else for (int j = 0; j < n; j++) row[j] += av * b[j * ldb + p];
            }
            var crow = c.Slice(i * ldc, n);
            if (beta == 0)
                for (int j = 0; j < n; j++) crow[j] = alpha * row[j];
            else
                for (int j = 0; j < n; j++) crow[j] = alpha * row[j] + beta * crow[j];
        }
    }

    private static int RoundUp(int x, int m) => (x + m - 1) / m * m;
}
