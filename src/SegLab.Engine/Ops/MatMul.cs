// Matrix products with autograd: [.., m, k] x [.., k, n] -> [.., m, n], batch axes broadcast.
// Forward and backward both call GEMM with transpose flags, so no transposed copies are made:
//   dA = dY B^T,  dB = A^T dY  (summed over broadcast batch axes).
using SegLab.Engine.Autograd;
using SegLab.Engine.Linalg;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Matrix product of rank-2 or batched (rank &gt; 2, broadcasting batch axes) tensors.</summary>
    /// <param name="a">[.., m, k].</param>
    /// <param name="b">[.., k, n].</param>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var y = MatMulCore("matmul", a, false, b, false);
        if (!GradMode.Needs(a, b)) return y;
        return Tape.Record(y, "matmul", [a, b], g => [
            Tape.Wants(a) ? SumTo(MatMulCore("matmul", g, false, b, true), a.Dims) : null,
            Tape.Wants(b) ? SumTo(MatMulCore("matmul", a, true, g, false), b.Dims) : null]);
    }

    /// <summary>op(a) @ op(b) where op transposes the last two axes when asked; batch axes broadcast.</summary>
    private static Tensor MatMulCore(string name, Tensor a, bool ta, Tensor b, bool tb)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"{name}: both operands need rank >= 2, got {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)}.");
        if (a.DType != b.DType)
            throw new ArgumentException($"{name}: element types differ ({a.DType} vs {b.DType}).");
        int ar = a.Rank, br = b.Rank;
        int m = ta ? a.Dims[ar - 1] : a.Dims[ar - 2];
        int k = ta ? a.Dims[ar - 2] : a.Dims[ar - 1];
        int kb = tb ? b.Dims[br - 1] : b.Dims[br - 2];
        int n = tb ? b.Dims[br - 2] : b.Dims[br - 1];
        if (k != kb)
            throw new ArgumentException($"{name}: inner dimensions differ: {Shapes.Format(a.Shape)} @ {Shapes.Format(b.Shape)} ({k} vs {kb}).");
        var batchA = a.Dims[..(ar - 2)];
        var batchB = b.Dims[..(br - 2)];
        var batch = Shapes.Broadcast(name, batchA, batchB);
        var outShape = batch.Append(m).Append(n).ToArray();
        var y = Tensor.Uninitialized(a.DType, outShape);
        int batches = Shapes.Numel(batch);
        int lda = a.Dims[ar - 1], ldb = b.Dims[br - 1];
        int sizeA = a.Dims[ar - 2] * lda, sizeB = b.Dims[br - 2] * ldb;
        var offA = BatchOffsets(batchA, batch, sizeA);
        var offB = BatchOffsets(batchB, batch, sizeB);
        for (int i = 0; i < batches; i++)
        {
            if (a.DType == DType.Float32)
                Gemm.Sgemm(ta, tb, m, n, k, 1f, a.Buf<float>()[offA[i]..], lda, b.Buf<float>()[offB[i]..], ldb, 0f, y.Buf<float>().Slice(i * m * n, m * n), n);
            else
                Gemm.Dgemm(ta, tb, m, n, k, 1.0, a.Buf<double>()[offA[i]..], lda, b.Buf<double>()[offB[i]..], ldb, 0.0, y.Buf<double>().Slice(i * m * n, m * n), n);
        }
        return y;
    }

    /// <summary>Storage offset of each output batch's matrix in an operand whose batch axes broadcast.</summary>
    private static int[] BatchOffsets(int[] operandBatch, int[] batch, int matrixSize)
    {
        int total = Shapes.Numel(batch);
        var offsets = new int[total];
        if (total == 0) return offsets;
        var strides = Shapes.BroadcastStrides(operandBatch, batch);
        var idx = new int[batch.Length];
        int off = 0;
        for (int i = 0; i < total; i++)
        {
            offsets[i] = off * matrixSize;
            for (int d = batch.Length - 1; d >= 0; d--)
            {
                off += strides[d];
                if (++idx[d] < batch[d]) break;
                off -= strides[d] * batch[d];
                idx[d] = 0;
            }
        }
        return offsets;
    }
}
