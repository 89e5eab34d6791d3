// Generic elementwise kernels: operator structs with static abstract members (the System.Numerics.Tensors
// pattern) specialise each loop per operation and element type at no cost. Vectorised paths call TensorPrimitives.
using System.Numerics;
using System.Numerics.Tensors;

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
        if (x.DType == DType.Float32) TOp.Vec<float>(x.Buf<float>(), y.Buf<float>());
        else TOp.Vec<double>(x.Buf<double>(), y.Buf<double>());
        return y;
    }

    private static void Run<TOp, T>(Tensor a, Tensor b, Tensor y)
        where TOp : struct, IBinaryOp<TOp>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> ad = a.Buf<T>(), bd = b.Buf<T>(), yd = y.Buf<T>();
        if (a.Numel == y.Numel && b.Numel == y.Numel)
        {
            TOp.Vec<T>(ad, bd, yd);
            return;
        }
        if (b.Numel == 1 && a.Numel == y.Numel)
        {
            TOp.VecScalarB(ad, bd[0], yd);
            return;
        }
        if (a.Numel == 1 && b.Numel == y.Numel)
        {
            TOp.VecScalarA(ad[0], bd, yd);
            return;
        }
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
