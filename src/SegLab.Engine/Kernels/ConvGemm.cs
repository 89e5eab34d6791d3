// GEMM and scratch memory for the convolution kernels: float goes to the engine's SGEMM provider (which owns its
// threads), double to the float64 reference path; scratch comes from ArrayPool so an im2col band is not
// allocated per call.
using System.Buffers;
using System.Runtime.InteropServices;
using SegLab.Engine.Linalg;

namespace SegLab.Engine.Kernels;

internal static class ConvGemm
{
    // Row-major C[m, n] = alpha op(A) op(B) + beta C, op(A): [m, k], op(B): [k, n]
    public static void Gemm<T>(bool ta, bool tb, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Linalg.Gemm.Sgemm(ta, tb, m, n, k, (float)(object)alpha, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb, (float)(object)beta, MemoryMarshal.Cast<T, float>(c), ldc);
        else
            Linalg.Gemm.Dgemm(ta, tb, m, n, k, (double)(object)alpha, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb, (double)(object)beta, MemoryMarshal.Cast<T, double>(c), ldc);
    }
}

/// <summary>A pooled scratch array (at least the requested length, contents undefined); dispose to return it.</summary>
internal readonly struct ConvScratch<T> : IDisposable where T : unmanaged
{
    private readonly T[]? _array;

    public ConvScratch(int length) => _array = length > 0 ? ArrayPool<T>.Shared.Rent(length) : null;

    public T[] Array => _array ?? [];

    public Span<T> Span(int length) => _array.AsSpan(0, length);

    public void Dispose()
    {
        if (_array is not null) ArrayPool<T>.Shared.Return(_array);
    }
}
