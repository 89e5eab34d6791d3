// Shape arithmetic shared by every operation: element counts, axes, broadcasting, and readable shape errors.
namespace SegLab.Engine;

/// <summary>Shape helpers.</summary>
public static class Shapes
{
    /// <summary>Product of the dimensions; throws on negative sizes or overflow.</summary>
    /// <param name="shape">The shape.</param>
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape {Format(shape)}.");
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException($"Shape {Format(shape)} has too many elements.");
        }
        return (int)n;
    }

    /// <summary>Formats a shape as [a, b, c].</summary>
    /// <param name="shape">The shape.</param>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>Normalises a possibly negative axis, naming the operation on error.</summary>
    /// <param name="axis">Axis, negative counts from the end.</param>
    /// <param name="rank">Rank of the tensor.</param>
    /// <param name="op">Operation name for the error.</param>
    public static int Axis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if ((uint)a >= (uint)rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }

    /// <summary>The broadcast shape of two shapes (NumPy rules), or an error naming the operation and both shapes.</summary>
    /// <param name="op">Operation name.</param>
    /// <param name="a">First shape.</param>
    /// <param name="b">Second shape.</param>
    public static int[] Broadcast(string op, ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (axis {i}: {da} vs {db}).");
            o[i] = da == 1 ? db : da;
        }
        return o;
    }

    /// <summary>Row-major strides of <paramref name="shape"/> aligned to an output of rank <paramref name="rank"/>, 0 on broadcast axes.</summary>
    internal static int[] BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> outShape)
    {
        int r = outShape.Length;
        var s = new int[r];
        int stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            int o = i + r - shape.Length;
            s[o] = shape[i] == 1 && outShape[o] != 1 ? 0 : stride;
            if (shape[i] == 1) s[o] = 0;
            stride *= shape[i];
        }
        return s;
    }

    /// <summary>Row-major contiguous strides.</summary>
    internal static int[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        int stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            s[i] = stride;
            stride *= shape[i];
        }
        return s;
    }

    internal static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
