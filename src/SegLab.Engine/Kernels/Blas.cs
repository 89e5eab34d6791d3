// GEMM for generic kernels: float goes to the engine's provider, double to the float64 reference path.
using System.Runtime.InteropServices;
using SegLab.Engine.Linalg;

namespace SegLab.Engine.Kernels;

internal static class Blas
{
    public static void Gemm<T>(bool ta, bool tb, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Linalg.Gemm.Sgemm(ta, tb, m, n, k, (float)(object)alpha, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb, (float)(object)beta, MemoryMarshal.Cast<T, float>(c), ldc);
        else
            Linalg.Gemm.Dgemm(ta, tb, m, n, k, (double)(object)alpha, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb, (double)(object)beta, MemoryMarshal.Cast<T, double>(c), ldc);
    }
}
