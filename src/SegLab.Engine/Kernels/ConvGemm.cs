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

/// <summary>
/// A convolution's weight matrix op(A) (m x k) multiplied against many right-hand sides (each image's or band's
/// unfolded columns): with the managed SGEMM it is packed once per call instead of once per product, which on
/// DeepLabV3's 8x8 to 32x32 planes was a tenth of the convolutions' time. Other providers and element types take
/// the plain product, as does a weight used by one product only (or a grouped convolution's, one slice per group:
/// uses 1). Dispose to return the packed buffer.
/// </summary>
internal sealed class ConvWeights<T> : IDisposable where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly bool _transA;
    private readonly int _m, _k;
    private readonly ManagedGemm? _gemm;
    private readonly ManagedGemm.PackedA? _packed;

    /// <param name="transA">A stored k x m.</param>
    /// <param name="m">Rows of op(A).</param>
    /// <param name="k">Columns of op(A).</param>
    /// <param name="a">A's storage.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="typicalN">The columns of most products (a band's width).</param>
    /// <param name="uses">How many products will use A; one product is not worth a separate packing.</param>
    public ConvWeights(bool transA, int m, int k, ReadOnlySpan<T> a, int lda, int typicalN, int uses)
    {
        (_transA, _m, _k) = (transA, m, k);
        if (typeof(T) == typeof(float) && uses > 1 && Linalg.Gemm.Provider is ManagedGemm mg && mg.TakesPackedPath(transA, false, m, typicalN, k))
        {
            _gemm = mg;
            _packed = mg.Pack(transA, m, k, MemoryMarshal.Cast<T, float>(a), lda);
        }
    }

    /// <summary>C (m x n) = op(A) B + beta C, B k x n; a and lda are A's storage as given to the constructor.</summary>
    public void Multiply(ReadOnlySpan<T> a, int lda, int n, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
    {
        if (_packed is not null && _gemm!.TakesPackedPath(_transA, false, _m, n, _k))
        {
            _gemm.SgemmPacked(_packed, false, n, 1f, MemoryMarshal.Cast<T, float>(b), ldb, (float)(object)beta, MemoryMarshal.Cast<T, float>(c), ldc);
            return;
        }
        ConvGemm.Gemm(_transA, false, _m, n, _k, T.One, a, lda, b, ldb, beta, c, ldc);
    }

    public void Dispose() => _packed?.Dispose();
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
