// One interface for single-precision matrix products, row-major, BLAS semantics.
namespace SegLab.Engine.Linalg;

/// <summary>A provider of row-major SGEMM: C = alpha * op(A) * op(B) + beta * C.</summary>
public interface IGemmProvider
{
    /// <summary>Short provider name ("managed", "openblas").</summary>
    string Name { get; }

    /// <summary>Human-readable configuration (kernel, blocking, library version, threads).</summary>
    string Describe();

    /// <summary>Row-major SGEMM. op(A) is m x k (A stored k x m when <paramref name="transA"/>), op(B) is k x n.</summary>
    /// <param name="transA">Use A transposed.</param>
    /// <param name="transB">Use B transposed.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A's storage.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="b">B's storage.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="beta">Scale of C's previous contents (0 ignores them, even NaN).</param>
    /// <param name="c">C's storage, m x n with row stride <paramref name="ldc"/>.</param>
    /// <param name="ldc">Row stride of C.</param>
    void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc);
}
