// Shape operations with autograd: reshape (a view), permute/transpose, broadcast, slice, select, cat, stack, type casts.
using System.Numerics;
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Same elements, new shape (one axis may be -1); shares storage.</summary>
    /// <param name="x">Input.</param>
    /// <param name="shape">New shape.</param>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        var s = ResolveShape(x, shape);
        var y = new Tensor(x.Storage, s);
        return GradMode.Needs(x) ? Tape.Record(y, "reshape", [x], g => [Reshape(g, x.Dims)]) : y;
    }

    /// <summary>Flattens axes [startAxis, end] into one.</summary>
    /// <param name="x">Input.</param>
    /// <param name="startAxis">First axis to merge.</param>
    public static Tensor Flatten(Tensor x, int startAxis = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        int a = x.Rank == 0 ? 0 : Shapes.Axis(startAxis, x.Rank, "flatten");
        var s = x.Dims.Take(a).Append(-1).ToArray();
        return Reshape(x, s);
    }

    /// <summary>Inserts an axis of size 1 at <paramref name="axis"/>.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Position of the new axis (in the result).</param>
    public static Tensor Unsqueeze(Tensor x, int axis)
    {
        ArgumentNullException.ThrowIfNull(x);
        int a = Shapes.Axis(axis, x.Rank + 1, "unsqueeze");
        var s = x.Dims.ToList();
        s.Insert(a, 1);
        return Reshape(x, s.ToArray());
    }

    /// <summary>Removes axis <paramref name="axis"/>, which must have size 1.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis to remove.</param>
    public static Tensor Squeeze(Tensor x, int axis)
    {
        ArgumentNullException.ThrowIfNull(x);
        int a = Shapes.Axis(axis, x.Rank, "squeeze");
        if (x.Dims[a] != 1) throw new ArgumentException($"squeeze: axis {axis} of shape {Shapes.Format(x.Shape)} has size {x.Dims[a]}, not 1.");
        return Reshape(x, x.Dims.Where((_, i) => i != a).ToArray());
    }

    /// <summary>Reorders axes (copies).</summary>
    /// <param name="x">Input.</param>
    /// <param name="perm">New order: result axis i is input axis perm[i].</param>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(perm);
        if (perm.Length != x.Rank)
            throw new ArgumentException($"permute: {perm.Length} axes given for shape {Shapes.Format(x.Shape)}.");
        var p = perm.Select(a => Shapes.Axis(a, x.Rank, "permute")).ToArray();
        if (p.Distinct().Count() != p.Length) throw new ArgumentException($"permute: [{string.Join(", ", perm)}] repeats an axis.");
        var outShape = p.Select(a => x.Dims[a]).ToArray();
        var y = Tensor.Uninitialized(x.DType, outShape);
        if (x.DType == DType.Float32) PermuteKernel(x.Buf<float>(), x.Dims, p, y.Buf<float>(), outShape);
        else PermuteKernel(x.Buf<double>(), x.Dims, p, y.Buf<double>(), outShape);
        if (!GradMode.Needs(x)) return y;
        var inverse = new int[p.Length];
        for (int i = 0; i < p.Length; i++) inverse[p[i]] = i;
        return Tape.Record(y, "permute", [x], g => [Permute(g, inverse)]);
    }

    /// <summary>Swaps two axes (copies).</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis0">First axis.</param>
    /// <param name="axis1">Second axis.</param>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        ArgumentNullException.ThrowIfNull(x);
        var p = Enumerable.Range(0, x.Rank).ToArray();
        int a = Shapes.Axis(axis0, x.Rank, "transpose"), b = Shapes.Axis(axis1, x.Rank, "transpose");
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(x, p);
    }

    /// <summary>Materialises broadcasting of <paramref name="x"/> to <paramref name="shape"/> (copies).</summary>
    /// <param name="x">Input.</param>
    /// <param name="shape">Target shape.</param>
    public static Tensor BroadcastTo(Tensor x, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(shape);
        if (Shapes.Equal(x.Shape, shape)) return x;
        var b = Shapes.Broadcast("broadcast_to", x.Shape, shape);
        if (!Shapes.Equal(b, shape))
            throw new ArgumentException($"broadcast_to: {Shapes.Format(x.Shape)} cannot be broadcast to {Shapes.Format(shape)}.");
        Tensor y;
        using (GradMode.NoGrad()) y = Add(x.Detach(), Tensor.Zeros(x.DType, shape));
        return GradMode.Needs(x) ? Tape.Record(y, "broadcast_to", [x], g => [SumTo(g, x.Dims)]) : y;
    }

    /// <summary>Elements [start, end) with step along one axis (copies).</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis.</param>
    /// <param name="start">First index (negative counts from the end).</param>
    /// <param name="end">Exclusive end (clamped to the size).</param>
    /// <param name="step">Positive step.</param>
    public static Tensor Slice(Tensor x, int axis, int start, int end, int step = 1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int ax = Shapes.Axis(axis, x.Rank, "slice");
        int n = x.Dims[ax];
        if (step <= 0) throw new ArgumentException($"slice: step must be positive, got {step}.");
        if (start < 0) start += n;
        if (end < 0) end += n;
        end = Math.Min(end, n);
        if (start < 0 || start > n)
            throw new ArgumentOutOfRangeException(nameof(start), $"slice: start {start} out of range for axis {axis} of shape {Shapes.Format(x.Shape)}.");
        int len = Math.Max(0, (end - start + step - 1) / step);
        var shape = x.ShapeArray();
        shape[ax] = len;
        var (outer, _, inner) = Split3(x.Dims, ax);
        var y = Tensor.Uninitialized(x.DType, shape);
        CopyStrided(x, y, outer, inner, n, len, start, step, scatter: false);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "slice", [x], g =>
        {
            var gx = Tensor.Zeros(x.DType, x.Dims);
            CopyStrided(gx, g, outer, inner, n, len, start, step, scatter: true);
            return [gx];
        });
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="axis"/>, with that axis removed.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis.</param>
    /// <param name="index">Index (negative counts from the end).</param>
    public static Tensor Select(Tensor x, int axis, int index)
    {
        ArgumentNullException.ThrowIfNull(x);
        int ax = Shapes.Axis(axis, x.Rank, "select");
        int i = index < 0 ? index + x.Dims[ax] : index;
        if ((uint)i >= (uint)x.Dims[ax])
            throw new ArgumentOutOfRangeException(nameof(index), $"select: index {index} out of range for axis {axis} of shape {Shapes.Format(x.Shape)}.");
        return Squeeze(Slice(x, ax, i, i + 1), ax);
    }

    /// <summary>Concatenates tensors along an existing axis.</summary>
    /// <param name="xs">Tensors with equal shapes except along <paramref name="axis"/>.</param>
    /// <param name="axis">Axis.</param>
    public static Tensor Cat(IReadOnlyList<Tensor> xs, int axis)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Count == 0) throw new ArgumentException("cat: no tensors given.");
        var first = xs[0];
        int ax = Shapes.Axis(axis, first.Rank, "cat");
        int total = 0;
        foreach (var t in xs)
        {
            if (t.Rank != first.Rank || t.DType != first.DType || Enumerable.Range(0, t.Rank).Any(d => d != ax && t.Dims[d] != first.Dims[d]))
                throw new ArgumentException($"cat: shape {Shapes.Format(t.Shape)} ({t.DType}) does not match {Shapes.Format(first.Shape)} ({first.DType}) outside axis {axis}.");
            total += t.Dims[ax];
        }
        var shape = first.ShapeArray();
        shape[ax] = total;
        var y = Tensor.Uninitialized(first.DType, shape);
        var (outer, _, inner) = Split3(shape, ax);
        int offset = 0;
        foreach (var t in xs)
        {
            CopyStrided(y, t, outer, inner, total, t.Dims[ax], offset, 1, scatter: true);
            offset += t.Dims[ax];
        }
        var inputs = xs.ToArray();
        if (!GradMode.Needs(inputs)) return y;
        return Tape.Record(y, "cat", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            int off = 0;
            for (int k = 0; k < inputs.Length; k++)
            {
                int len = inputs[k].Dims[ax];
                if (Tape.Wants(inputs[k])) grads[k] = Slice(g, ax, off, off + len);
                off += len;
            }
            return grads;
        });
    }

    /// <summary>Stacks equal-shaped tensors along a new axis.</summary>
    /// <param name="xs">Tensors of one shape.</param>
    /// <param name="axis">Position of the new axis.</param>
    public static Tensor Stack(IReadOnlyList<Tensor> xs, int axis = 0)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Count == 0) throw new ArgumentException("stack: no tensors given.");
        return Cat(xs.Select(t => Unsqueeze(t, axis)).ToList(), axis);
    }

    /// <summary>Converts the element type (differentiable; a no-op copy-free return when equal).</summary>
    /// <param name="x">Input.</param>
    /// <param name="dtype">Target type.</param>
    public static Tensor To(Tensor x, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.DType == dtype) return x;
        var y = dtype == DType.Float64 ? Tensor.FromArray(x.ToArrayF64(), x.Dims) : Tensor.FromArray(x.ToArray(), x.Dims);
        return GradMode.Needs(x) ? Tape.Record(y, "to", [x], g => [To(g, x.DType)]) : y;
    }

    /// <summary>Copies a slab along the middle axis of [outer, *, inner]: big[start + i*step] &lt;-&gt; small[i].</summary>
    private static void CopyStrided(Tensor big, Tensor small, int outer, int inner, int bigN, int smallN, int start, int step, bool scatter)
    {
        if (big.DType == DType.Float32) CopyStrided(big.Buf<float>(), small.Buf<float>(), outer, inner, bigN, smallN, start, step, scatter);
        else CopyStrided(big.Buf<double>(), small.Buf<double>(), outer, inner, bigN, smallN, start, step, scatter);
    }

    private static void CopyStrided<T>(Span<T> big, Span<T> small, int outer, int inner, int bigN, int smallN, int start, int step, bool scatter)
        where T : unmanaged
    {
        for (int o = 0; o < outer; o++)
        {
            if (step == 1)
            {
                var b = big.Slice((o * bigN + start) * inner, smallN * inner);
                var s = small.Slice(o * smallN * inner, smallN * inner);
                if (scatter) s.CopyTo(b);
                else b.CopyTo(s);
                continue;
            }
            for (int i = 0; i < smallN; i++)
            {
                var b = big.Slice((o * bigN + start + i * step) * inner, inner);
                var s = small.Slice((o * smallN + i) * inner, inner);
                if (scatter) s.CopyTo(b);
                else b.CopyTo(s);
            }
        }
    }

    // x: shape xDims; y[i0..ir] = x[index with axis p[k] = ik].
    private static void PermuteKernel<T>(ReadOnlySpan<T> x, int[] xDims, int[] p, Span<T> y, int[] yDims) where T : unmanaged
    {
        int r = xDims.Length;
        if (r == 0)
        {
            x.CopyTo(y);
            return;
        }
        var xs = Shapes.Strides(xDims);
        var st = new int[r];
        for (int i = 0; i < r; i++) st[i] = xs[p[i]];
        int inner = yDims[r - 1], innerStride = st[r - 1];
        int outer = inner == 0 ? 0 : y.Length / inner;
        var idx = new int[r];
        int off = 0;
        for (int o = 0; o < outer; o++)
        {
            var dst = y.Slice(o * inner, inner);
            if (innerStride == 1) x.Slice(off, inner).CopyTo(dst);
            else for (int i = 0, s = off; i < inner; i++, s += innerStride) dst[i] = x[s];
            for (int d = r - 2; d >= 0; d--)
            {
                off += st[d];
                if (++idx[d] < yDims[d]) break;
                off -= st[d] * yDims[d];
                idx[d] = 0;
            }
        }
    }

    private static int[] ResolveShape(Tensor x, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0)
        {
            if (Array.IndexOf(s, -1, infer + 1) >= 0) throw new ArgumentException($"reshape: more than one -1 in {Shapes.Format(shape)}.");
            int known = 1;
            for (int i = 0; i < s.Length; i++) if (i != infer) known *= s[i];
            if (known == 0 || x.Numel % known != 0)
                throw new ArgumentException($"reshape: cannot reshape {Shapes.Format(x.Shape)} into {Shapes.Format(shape)}.");
            s[infer] = x.Numel / known;
        }
        if (Shapes.Numel(s) != x.Numel)
            throw new ArgumentException($"reshape: cannot reshape {Shapes.Format(x.Shape)} ({x.Numel} elements) into {Shapes.Format(shape)}.");
        return s;
    }
}
