// Reductions with autograd: sum, mean, max (values and the argmax that routes their gradient), argmax.
// Every axis reduction views the tensor as [outer, n, inner] and reduces the middle axis.
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Sum of all elements, as a rank-0 tensor.</summary>
    public static Tensor Sum(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Zeros(x.DType, []);
        if (x.DType == DType.Float32) y.Span[0] = TensorPrimitives.Sum<float>(x.Span);
        else y.SpanF64[0] = TensorPrimitives.Sum<double>(x.SpanF64);
        return GradMode.Needs(x) ? Tape.Record(y, "sum", [x], g => [BroadcastTo(g, x.Dims)]) : y;
    }

    /// <summary>Sum over <paramref name="axes"/>.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axes">Axes to reduce (negative count from the end); none means all.</param>
    /// <param name="keepDim">Keep reduced axes with size 1.</param>
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(axes);
        var (norm, kept, outShape) = ReducedShapes("sum", x, axes, keepDim);
        Tensor y = x;
        using (GradMode.NoGrad())
        {
            foreach (int a in norm.OrderDescending()) y = SumAxisKernel(y, a);
            y = y.Numel == Shapes.Numel(outShape) && ReferenceEquals(y, x) ? x.Clone() : y;
            y = new Tensor(y.Storage, outShape);
        }
        return GradMode.Needs(x) ? Tape.Record(y, "sum", [x], g => [BroadcastTo(Reshape(g, kept), x.Dims)]) : y;
    }

    /// <summary>Mean of all elements.</summary>
    public static Tensor Mean(Tensor x) => Mul(Sum(x), 1.0 / Math.Max(1, x.Numel));

    /// <summary>Mean over <paramref name="axes"/>.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axes">Axes to reduce.</param>
    /// <param name="keepDim">Keep reduced axes with size 1.</param>
    public static Tensor Mean(Tensor x, int[] axes, bool keepDim = false)
    {
        var y = Sum(x, axes, keepDim);
        return Mul(y, (double)y.Numel / Math.Max(1, x.Numel));
    }

    /// <summary>Reduces a broadcast gradient back to <paramref name="shape"/> by summing the broadcast axes.</summary>
    /// <param name="g">Gradient with the broadcast shape.</param>
    /// <param name="shape">Target shape that broadcasts to g's shape.</param>
    public static Tensor SumTo(Tensor g, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (Shapes.Equal(g.Shape, shape)) return g;
        int lead = g.Rank - shape.Length;
        if (lead < 0) throw new ArgumentException($"sum_to: shape {Shapes.Format(shape)} has more axes than {Shapes.Format(g.Shape)}.");
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
        {
            if (i < lead || (shape[i - lead] == 1 && g.Shape[i] != 1)) axes.Add(i);
            else if (shape[i - lead] != g.Shape[i])
                throw new ArgumentException($"sum_to: {Shapes.Format(g.Shape)} cannot be reduced to {Shapes.Format(shape)}.");
        }
        return Reshape(Sum(g, axes.ToArray(), keepDim: true), shape);
    }

    /// <summary>Largest element, as a rank-0 tensor; the gradient goes to the first maximal element.</summary>
    public static Tensor Max(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Numel == 0) throw new ArgumentException("max: the tensor is empty.");
        int idx = x.DType == DType.Float32 ? TensorPrimitives.IndexOfMax<float>(x.Span) : TensorPrimitives.IndexOfMax<double>(x.SpanF64);
        var y = Tensor.Full(x.DType, x.GetFlat(idx), []);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "max", [x], g =>
        {
            var gx = Tensor.Zeros(x.DType, x.Dims);
            gx.SetFlat(idx, g.GetFlat(0));
            return [gx];
        });
    }

    /// <summary>Largest value along an axis; the gradient goes to the first maximal element of each slice.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis to reduce.</param>
    /// <param name="keepDim">Keep the axis with size 1.</param>
    public static Tensor Max(Tensor x, int axis, bool keepDim = false)
    {
        var (values, indices) = MaxWithIndices(x, axis, keepDim);
        if (!GradMode.Needs(x)) return values;
        int ax = Shapes.Axis(axis, x.Rank, "max");
        var (outer, n, inner) = Split3(x.Dims, ax);
        return Tape.Record(values, "max", [x], g =>
        {
            var gx = Tensor.Zeros(x.DType, x.Dims);
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                    gx.SetFlat((o * n + indices[o * inner + i]) * inner + i, g.GetFlat(o * inner + i));
            return [gx];
        });
    }

    /// <summary>Index of the largest value along an axis (first on ties), as float values; no gradient.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">Axis to reduce.</param>
    /// <param name="keepDim">Keep the axis with size 1.</param>
    public static Tensor Argmax(Tensor x, int axis, bool keepDim = false)
    {
        var (values, indices) = MaxWithIndices(x, axis, keepDim);
        var r = Tensor.Uninitialized(DType.Float32, values.Dims);
        var s = r.Span;
        for (int i = 0; i < indices.Length; i++) s[i] = indices[i];
        return r;
    }

    /// <summary>Index of the largest element of the flattened tensor (first on ties).</summary>
    public static int Argmax(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.DType == DType.Float32 ? TensorPrimitives.IndexOfMax<float>(x.Span) : TensorPrimitives.IndexOfMax<double>(x.SpanF64);
    }

    /// <summary>Max values and their indices along an axis, computed once for Max and Argmax.</summary>
    internal static (Tensor Values, int[] Indices) MaxWithIndices(Tensor x, int axis, bool keepDim)
    {
        ArgumentNullException.ThrowIfNull(x);
        int ax = Shapes.Axis(axis, x.Rank, "max");
        if (x.Dims[ax] == 0) throw new ArgumentException($"max: axis {axis} of shape {Shapes.Format(x.Shape)} is empty.");
        var (_, _, outShape) = ReducedShapes("max", x, [ax], keepDim);
        var (outer, n, inner) = Split3(x.Dims, ax);
        var values = Tensor.Uninitialized(x.DType, outShape);
        var indices = new int[outer * inner];
        if (x.DType == DType.Float32) MaxKernel(x.Buf<float>(), values.Buf<float>(), indices, outer, n, inner);
        else MaxKernel(x.Buf<double>(), values.Buf<double>(), indices, outer, n, inner);
        return (values, indices);
    }

    // x: [outer, n, inner] -> y: [outer, inner], idx: [outer, inner]
    private static void MaxKernel<T>(ReadOnlySpan<T> x, Span<T> y, Span<int> idx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
        {
            var yo = y.Slice(o * inner, inner);
            var io = idx.Slice(o * inner, inner);
            x.Slice(o * n * inner, inner).CopyTo(yo);
            io.Clear();
            for (int j = 1; j < n; j++)
            {
                var row = x.Slice((o * n + j) * inner, inner);
                for (int i = 0; i < inner; i++)
                {
                    if (row[i] > yo[i] || (T.IsNaN(row[i]) && !T.IsNaN(yo[i])))
                    {
                        yo[i] = row[i];
                        io[i] = j;
                    }
                }
            }
        }
    }

    // x: [outer, n, inner] -> [outer, 1, inner]
    private static Tensor SumAxisKernel(Tensor x, int axis)
    {
        var (outer, n, inner) = Split3(x.Dims, axis);
        var shape = x.ShapeArray();
        shape[axis] = 1;
        var y = Tensor.Zeros(x.DType, shape);
        if (x.DType == DType.Float32) SumAxis(x.Buf<float>(), y.Buf<float>(), outer, n, inner);
        else SumAxis(x.Buf<double>(), y.Buf<double>(), outer, n, inner);
        return y;
    }

    private static void SumAxis<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
        {
            if (inner == 1)
            {
                y[o] = TensorPrimitives.Sum(x.Slice(o * n, n));
                continue;
            }
            var acc = y.Slice(o * inner, inner);
            for (int j = 0; j < n; j++) TensorPrimitives.Add(acc, x.Slice((o * n + j) * inner, inner), acc);
        }
    }

    internal static (int Outer, int N, int Inner) Split3(int[] dims, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= dims[i];
        for (int i = axis + 1; i < dims.Length; i++) inner *= dims[i];
        return (outer, dims[axis], inner);
    }

    /// <summary>Normalised axes, the keep-dim shape and the output shape of a reduction.</summary>
    private static (int[] Axes, int[] Kept, int[] Out) ReducedShapes(string op, Tensor x, int[] axes, bool keepDim)
    {
        var norm = axes.Length == 0 ? Enumerable.Range(0, x.Rank).ToArray() : axes.Select(a => Shapes.Axis(a, x.Rank, op)).Distinct().ToArray();
        if (norm.Length != (axes.Length == 0 ? x.Rank : axes.Length))
            throw new ArgumentException($"{op}: repeated axis in [{string.Join(", ", axes)}].");
        var kept = x.ShapeArray();
        foreach (int a in norm) kept[a] = 1;
        var outShape = keepDim ? kept : Enumerable.Range(0, x.Rank).Where(i => !norm.Contains(i)).Select(i => x.Dims[i]).ToArray();
        return (norm, kept, outShape);
    }
}
