// Provider selection for SGEMM (SEGLAB_BLAS=auto|managed|openblas) and a float64 reference path.
// STUB: the real managed kernel and OpenBLAS provider replace the naive loops (issue 2, item 4).
namespace SegLab.Engine.Linalg;

/// <summary>The engine's GEMM entry point.</summary>
public static class Gemm
{
    /// <summary>The provider in use.</summary>
    public static IGemmProvider Provider { get; set; } = new NaiveGemm();

    /// <summary>Row-major SGEMM through the current provider; see <see cref="IGemmProvider.Sgemm"/>.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Provider.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Row-major DGEMM, a plain managed loop used for float64 work (gradient checks).</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * c[i * ldc + j];
            }
        }
    }

    private sealed class NaiveGemm : IGemmProvider
    {
        public string Name => "naive";
        public string Describe() => "naive triple loop";
        public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    float s = 0;
                    for (int p = 0; p < k; p++)
                        s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                    c[i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * c[i * ldc + j];
                }
            }
        }
    }
}
