// SGEMM through OpenBLAS (P/Invoke), used when libopenblas.so.0 loads; its thread count follows SEGLAB_THREADS.
using SegLab.Engine.Threading;

namespace SegLab.Engine.Linalg;

/// <summary>OpenBLAS's cblas_sgemm behind <see cref="IGemmProvider"/>.</summary>
public sealed unsafe class OpenBlasGemm : IGemmProvider
{
    private readonly OpenBlasNative _native;
    private int _threads;

    private OpenBlasGemm(OpenBlasNative native)
    {
        _native = native;
        SyncThreads();
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

    /// <summary>OpenBLAS's own thread count (openblas_get_num_threads), kept equal to <see cref="Parallelism.Threads"/>.</summary>
    public int NativeThreads
    {
        get
        {
            SyncThreads();
            return _native.Threads;
        }
    }

    /// <inheritdoc/>
    public string Describe()
    {
        SyncThreads();
        string config = _native.Config.Trim();
        if (!config.StartsWith("OpenBLAS", StringComparison.OrdinalIgnoreCase)) config = "OpenBLAS " + config;
        return $"{config} (openblas_get_config), {_native.Threads} thread(s) (openblas_get_num_threads)";
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
        SyncThreads();
        fixed (float* pa = a, pb = b, pc = c)
            _native.Sgemm(transA, transB, m, n, k, alpha, pa, Math.Max(lda, 1), pb, Math.Max(ldb, 1), beta, pc, Math.Max(ldc, 1));
    }

    private void SyncThreads()
    {
        int t = Parallelism.Threads;
        if (t == _threads) return;
        _native.SetThreads(t);
        _threads = t;
    }
}
