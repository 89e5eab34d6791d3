// Provider selection for SGEMM (SEGLAB_BLAS=auto|managed|openblas; auto takes OpenBLAS when it loads, unless the
// managed kernel is AVX-512 and OpenBLAS's is not) and the float64 path used by gradient checks.
namespace SegLab.Engine.Linalg;

/// <summary>The engine's GEMM entry point.</summary>
public static class Gemm
{
    private static readonly Lazy<(OpenBlasGemm? Provider, string? Why)> s_openBlas = new(() => (OpenBlasGemm.TryCreate(out var why), why));
    private static IGemmProvider? s_provider;

    /// <summary>The managed provider (always available).</summary>
    public static ManagedGemm Managed { get; } = new();

    /// <summary>The OpenBLAS provider, or null when libopenblas.so.0 cannot be loaded.</summary>
    public static OpenBlasGemm? OpenBlas => s_openBlas.Value.Provider;

    /// <summary>The provider in use: chosen from SEGLAB_BLAS on first use, or set explicitly.</summary>
    public static IGemmProvider Provider
    {
        get => s_provider ??= Select(Environment.GetEnvironmentVariable("SEGLAB_BLAS"));
        set => s_provider = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// What auto selects: OpenBLAS when it loads, except where the managed provider runs its AVX-512 kernel and
    /// OpenBLAS does not (Debian's OpenBLAS 0.3.21 runs Haswell kernels on AMD's AVX-512 processors, or wherever
    /// OPENBLAS_CORETYPE=Haswell is set): there the managed one is faster (1024^3 on one thread of a Zen 5 VM:
    /// 161 against 94 GFLOP/s; a DeepLabV3 training step about 20% faster; docs/benchmarks.md).
    /// </summary>
    public static IGemmProvider Auto => OpenBlas is { } ob && !(Managed.Wide && !ob.UsesAvx512Kernels) ? ob : Managed;

    /// <summary>The provider a SEGLAB_BLAS value selects.</summary>
    /// <param name="setting">auto (or empty), managed or openblas.</param>
    public static IGemmProvider Select(string? setting)
    {
        switch ((setting ?? "auto").Trim().ToLowerInvariant())
        {
            case "" or "auto":
                return Auto;
            case "managed":
                return Managed;
            case "openblas":
                return OpenBlas ?? throw new InvalidOperationException(
                    $"SEGLAB_BLAS=openblas but OpenBLAS cannot be used ({s_openBlas.Value.Why}): install Debian's libopenblas0-pthread, or set SEGLAB_BLAS=managed.");
            default:
                throw new InvalidOperationException($"SEGLAB_BLAS='{setting}' is not one of auto, managed, openblas.");
        }
    }

    /// <summary>Row-major SGEMM through the current provider; see <see cref="IGemmProvider.Sgemm"/>.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Provider.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Row-major DGEMM by plain cache-friendly loops (i-p-j), for float64 work such as gradient checks.</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"gemm: negative size m={m} n={n} k={k}.");
        var row = new double[n];
        for (int i = 0; i < m; i++)
        {
            Array.Clear(row);
            for (int p = 0; p < k; p++)
            {
                double av = transA ? a[p * lda + i] : a[i * lda + p];
                if (!transB)
                {
                    var brow = b.Slice(p * ldb, n);
                    for (int j = 0; j < n; j++) row[j] += av * brow[j];
                }
                else
                {
                    for (int j = 0; j < n; j++) row[j] += av * b[j * ldb + p];
                }
            }
            var crow = c.Slice(i * ldc, n);
            for (int j = 0; j < n; j++) crow[j] = beta == 0 ? alpha * row[j] : alpha * row[j] + beta * crow[j];
        }
    }
}
