// Generic elementwise kernels: operator structs with static abstract members (the System.Numerics.Tensors
// pattern) specialise each loop per operation and element type at no cost. Vectorised paths call TensorPrimitives.
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Kernels;

/// <summary>A scalar binary function with optional vectorised span forms.</summary>
internal interface IBinaryOp<TSelf> where TSelf : struct, IBinaryOp<TSelf>
{
    static abstract T Apply<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T>;

    static virtual void Vec<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = TSelf.Apply(a[i], b[i]);
    }

    static virtual void VecScalarB<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = TSelf.Apply(a[i], b);
    }

    static virtual void VecScalarA<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = TSelf.Apply(a, b[i]);
    }
}

/// <summary>A scalar unary function with an optional vectorised span form.</summary>
internal interface IUnaryOp<TSelf> where TSelf : struct, IUnaryOp<TSelf>
{
    static abstract T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>;

    static virtual void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d.Length; i++) d[i] = TSelf.Apply(x[i]);
    }
}

/// <summary>Broadcasting drivers for the operator structs.</summary>
internal static class ElementwiseKernels
{
    /// <summary>y = op(a, b) with NumPy broadcasting; errors name the operation and both shapes.</summary>
    public static Tensor Binary<TOp>(string name, Tensor a, Tensor b) where TOp : struct, IBinaryOp<TOp>
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.DType != b.DType)
            throw new ArgumentException($"{name}: element types differ ({a.DType} {Shapes.Format(a.Shape)} vs {b.DType} {Shapes.Format(b.Shape)}).");
        int[] shape = Shapes.Equal(a.Shape, b.Shape) ? a.Dims : Shapes.Broadcast(name, a.Shape, b.Shape);
        var y = Tensor.Uninitialized(a.DType, shape);
        if (a.DType == DType.Float32) Run<TOp, float>(a, b, y);
        else Run<TOp, double>(a, b, y);
        return y;
    }

    /// <summary>y = op(x).</summary>
    public static Tensor Unary<TOp>(Tensor x) where TOp : struct, IUnaryOp<TOp>
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        if (x.DType == DType.Float32) UnaryChunks<TOp, float>(x, y);
        else UnaryChunks<TOp, double>(x, y);
        return y;
    }

    // Large same-length operands are cut into contiguous chunks run in parallel: each chunk is the same vectorised
    // loop, so results do not depend on the thread count. Below ParallelElements the operand is one chunk, inline.
    private const int ParallelElements = 1 << 16;
    private const int ChunkElements = 1 << 15;

    private static (int Count, int Length) Chunks(int n) =>
        n < ParallelElements || Parallelism.Threads == 1 || Parallelism.InParallelRegion ? (1, n) : ((n + ChunkElements - 1) / ChunkElements, ChunkElements);

    private static void UnaryChunks<TOp, T>(Tensor x, Tensor y)
        where TOp : struct, IUnaryOp<TOp>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Numel;
        var (count, length) = Chunks(n);
        var xa = (T[])x.Storage;
        var ya = (T[])y.Storage;
        Parallelism.For(count, 4L * length, c =>
        {
            int s = c * length, len = Math.Min(length, n - s);
            TOp.Vec<T>(xa.AsSpan(s, len), ya.AsSpan(s, len));
        });
    }

    private static void Run<TOp, T>(Tensor a, Tensor b, Tensor y)
        where TOp : struct, IBinaryOp<TOp>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // 0: same shape, 1: scalar b, 2: scalar a (chunked); anything else broadcasts below, inline
        int mode = a.Numel == y.Numel && b.Numel == y.Numel ? 0 : b.Numel == 1 && a.Numel == y.Numel ? 1 : a.Numel == 1 && b.Numel == y.Numel ? 2 : -1;
        if (mode >= 0)
        {
            int n = y.Numel;
            var (count, length) = Chunks(n);
            var aa = (T[])a.Storage;
            var ba = (T[])b.Storage;
            var ya = (T[])y.Storage;
            Parallelism.For(count, 4L * length, c =>
            {
                int s = c * length, len = Math.Min(length, n - s);
                var d = ya.AsSpan(s, len);
                if (mode == 0) TOp.Vec<T>(aa.AsSpan(s, len), ba.AsSpan(s, len), d);
                else if (mode == 1) TOp.VecScalarB(aa.AsSpan(s, len), ba[0], d);
                else TOp.VecScalarA(aa[0], ba.AsSpan(s, len), d);
            });
            return;
        }
        Span<T> ad = a.Buf<T>(), bd = b.Buf<T>(), yd = y.Buf<T>();
        var (dims, sa, sb) = Coalesce(y.Dims, Shapes.BroadcastStrides(a.Shape, y.Shape), Shapes.BroadcastStrides(b.Shape, y.Shape));
        int r = dims.Length;
        int inner = dims[r - 1], ia = sa[r - 1], ib = sb[r - 1];
        int outer = y.Numel / Math.Max(inner, 1);
        var idx = new int[r];
        int offA = 0, offB = 0;
        for (int o = 0; o < outer; o++)
        {
            var dst = yd.Slice(o * inner, inner);
            if (ia == 1 && ib == 1) TOp.Vec<T>(ad.Slice(offA, inner), bd.Slice(offB, inner), dst);
            else if (ia == 1) TOp.VecScalarB(ad.Slice(offA, inner), bd[offB], dst);
            else if (ib == 1) TOp.VecScalarA(ad[offA], bd.Slice(offB, inner), dst);
            else dst.Fill(TOp.Apply(ad[offA], bd[offB]));
            for (int d = r - 2; d >= 0; d--)
            {
                offA += sa[d];
                offB += sb[d];
                if (++idx[d] < dims[d]) break;
                offA -= sa[d] * dims[d];
                offB -= sb[d] * dims[d];
                idx[d] = 0;
            }
        }
    }

    /// <summary>Drops unit axes and merges neighbours that are contiguous (or broadcast) in both operands.</summary>
    internal static (int[] Dims, int[] Sa, int[] Sb) Coalesce(int[] dims, int[] sa, int[] sb)
    {
        var d = new List<int>(dims.Length);
        var a = new List<int>(dims.Length);
        var b = new List<int>(dims.Length);
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == 1) continue;
            int n = d.Count;
            if (n > 0 && a[n - 1] == sa[i] * dims[i] && b[n - 1] == sb[i] * dims[i])
            {
                d[n - 1] *= dims[i];
                a[n - 1] = sa[i];
                b[n - 1] = sb[i];
                continue;
            }
            d.Add(dims[i]);
            a.Add(sa[i]);
            b.Add(sb[i]);
        }
        if (d.Count == 0)
        {
            d.Add(1);
            a.Add(1);
            b.Add(1);
        }
        return (d.ToArray(), a.ToArray(), b.ToArray());
    }
}
