// SGEMM through OpenBLAS (P/Invoke), used when libopenblas.so.0 loads. OpenBLAS runs single-threaded; large
// products are split into bands over the engine's workers (SEGLAB_THREADS), so that one pool, which never spins,
// owns every thread (measured against OpenBLAS's own threads in docs/benchmarks.md).
using SegLab.Engine.Threading;

namespace SegLab.Engine.Linalg;

/// <summary>OpenBLAS's cblas_sgemm behind <see cref="IGemmProvider"/>.</summary>
public sealed unsafe class OpenBlasGemm : IGemmProvider
{
    private readonly OpenBlasNative _native;

    private OpenBlasGemm(OpenBlasNative native)
    {
        _native = native;
        // OpenBLAS never threads: its idle threads would busy-wait after each call (about 0.1 s by default) on
        // the core that the engine's next parallel loop needs, and convolutions call it from several workers at once.
        _native.SetThreads(1);
    }

    /// <summary>The provider, or null when libopenblas.so.0 cannot be loaded.</summary>
    public static OpenBlasGemm? TryCreate() => TryCreate(out _);

    /// <summary>The provider, or null when OpenBLAS cannot be loaded (<paramref name="why"/> says why).</summary>
    /// <param name="why">Reason when null.</param>
    public static OpenBlasGemm? TryCreate(out string? why)
    {
        var native = OpenBlasNative.TryLoad(out why);
        return native is null ? null : new OpenBlasGemm(native);
    }

    /// <inheritdoc/>
    public string Name => "openblas";

    /// <summary>OpenBLAS's own thread count (openblas_get_num_threads): always 1, the engine's workers split the products.</summary>
    public int NativeThreads => _native.Threads;

    /// <summary>The kernel family OpenBLAS runs (openblas_get_corename), e.g. Haswell or SkylakeX.</summary>
    public string CoreName => _native.CoreName;

    /// <summary>Whether OpenBLAS runs AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids).</summary>
    public bool UsesAvx512Kernels => CoreName.Trim().ToLowerInvariant() is "skylakex" or "cooperlake" or "sapphirerapids";

    /// <inheritdoc/>
    public string Describe()
    {
        string config = _native.Config.Trim();
        if (!config.StartsWith("OpenBLAS", StringComparison.OrdinalIgnoreCase)) config = "OpenBLAS " + config;
        string core = OpenBlasNative.RequestedCoreType is { } requested ? $", kernels OPENBLAS_CORETYPE={requested} set by SegLab (AVX-512 AMD processor)" : "";
        return $"{config} (openblas_get_config){core}, single-threaded in each of up to {Parallelism.Threads} bands on the engine's workers";
    }

    /// <inheritdoc/>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        GemmChecks.Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            GemmChecks.ScaleC(m, n, beta, c, ldc);
            return;
        }
        lda = Math.Max(lda, 1);
        ldb = Math.Max(ldb, 1);
        ldc = Math.Max(ldc, 1);
        int threads = Parallelism.Threads;
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (threads == 1 || Parallelism.InParallelRegion)
            {
                _native.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
                return;
            }
            // OpenBLAS runs single-threaded on each of `threads` bands of C (columns when C is wide, rows
            // otherwise; bands a multiple of 16 wide), spread over the engine's workers. Each element of C is
            // computed by one band, with its full k sum.
            bool byColumns = n >= m;
            int extent = byColumns ? n : m;
            int band = (extent + threads - 1) / threads;
            band = (band + 15) / 16 * 16;
            int bands = (extent + band - 1) / band;
            nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
            Parallelism.For(bands, 2L * m * n * k / bands / FlopsPerWorkUnit, t =>
            {
                int start = t * band, len = Math.Min(band, extent - start);
                float* a0 = (float*)ia, b0 = (float*)ib, c0 = (float*)ic;
                if (byColumns)
                    _native.Sgemm(transA, transB, m, len, k, alpha, a0, lda, b0 + (transB ? (long)start * ldb : start), ldb, beta, c0 + start, ldc);
                else
                    _native.Sgemm(transA, transB, len, n, k, alpha, a0 + (transA ? start : (long)start * lda), lda, b0, ldb, beta, c0 + (long)start * ldc, ldc);
            });
        }
    }

    /// <summary>
    /// Flops per unit of Parallelism's work: a product is split when 2mnk reaches about 6 MFLOP (CGNet's 1x1
    /// convolutions at batch 1, about 44 MFLOP, went from 1.0x to 1.3-2.1x with two threads; docs/benchmarks.md).
    /// </summary>
    private const int FlopsPerWorkUnit = 6;
}
