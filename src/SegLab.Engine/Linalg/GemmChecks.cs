// Argument validation shared by the GEMM providers: sizes, leading dimensions and buffer lengths, so a wrong
// call fails with a message instead of reading out of bounds (the native provider cannot check).
namespace SegLab.Engine.Linalg;

internal static class GemmChecks
{
    public static void Validate(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"gemm: negative size m={m} n={n} k={k}.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        ValidateOperand("A", aRows, aCols, a.Length, lda);
        ValidateOperand("B", bRows, bCols, b.Length, ldb);
        ValidateOperand("C", m, n, c.Length, ldc);
    }

    public static void ScaleC(int m, int n, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0) row.Clear();
            else if (beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>Checks one operand of rows x cols stored with row stride ld in a buffer of the given length.</summary>
    public static void ValidateOperand(string name, int rows, int cols, int length, int ld)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols) throw new ArgumentException($"gemm: leading dimension of {name} ({ld}) is smaller than its {cols} columns.");
        long need = (long)(rows - 1) * ld + cols;
        if (length < need) throw new ArgumentException($"gemm: {name} ({rows}x{cols}, ld {ld}) needs {need} elements but has {length}.");
    }
}
