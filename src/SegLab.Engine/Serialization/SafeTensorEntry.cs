// One tensor of a loaded safetensors file: name, dtype, shape and its bytes inside the file's buffer,
// converted on demand to an engine Tensor (float32, or float64 on request) or to raw int64 values.
namespace SegLab.Engine.Serialization;

/// <summary>A validated tensor record of a <see cref="SafeTensorFile"/>; its data is converted on each call.</summary>
public sealed class SafeTensorEntry
{
    private readonly byte[] _file;
    private readonly int _start;
    private readonly int[] _shape;

    internal SafeTensorEntry(string origin, string name, SafeTensorDType dtype, int[] shape, int numel, long begin, long end, byte[] file, int start)
    {
        Origin = origin;
        Name = name;
        DType = dtype;
        _shape = shape;
        Numel = numel;
        Begin = begin;
        End = end;
        _file = file;
        _start = start;
    }

    /// <summary>File path or description of the source, for messages.</summary>
    public string Origin { get; }

    /// <summary>The tensor's name (a PyTorch state-dict key for checkpoints).</summary>
    public string Name { get; }

    /// <summary>The element type stored in the file.</summary>
    public SafeTensorDType DType { get; }

    /// <summary>The shape; empty for a rank-0 tensor. Do not modify.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of axes.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (1 for rank 0).</summary>
    public int Numel { get; }

    /// <summary>Start of the data, in bytes from the start of the data buffer ("data_offsets"[0]).</summary>
    public long Begin { get; }

    /// <summary>End of the data, exclusive, in bytes from the start of the data buffer ("data_offsets"[1]).</summary>
    public long End { get; }

    /// <summary>The raw little-endian element bytes (a view of the file's buffer, not a copy).</summary>
    public ReadOnlySpan<byte> Bytes => _file.AsSpan(_start, (int)(End - Begin));

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>
    /// The values as a new engine tensor named <see cref="Name"/>: float32 by default, or float64 (exact for every
    /// float dtype) when <paramref name="dtype"/> is <see cref="Engine.DType.Float64"/>. Integer and BOOL dtypes are
    /// converted to floating point too (e.g. a rank-0 I64 num_batches_tracked becomes a one-element tensor).
    /// </summary>
    /// <param name="dtype">Element type of the result.</param>
    public Tensor ToTensor(DType dtype = Engine.DType.Float32)
    {
        bool ok;
        Tensor t;
        if (dtype == Engine.DType.Float32)
        {
            var data = GC.AllocateUninitializedArray<float>(Numel);
            ok = SafeTensorConvert.ToSingle(DType, Bytes, data);
            t = Tensor.FromArray(data, _shape);
        }
        else
        {
            var data = GC.AllocateUninitializedArray<double>(Numel);
            ok = SafeTensorConvert.ToDouble(DType, Bytes, data);
            t = Tensor.FromArray(data, _shape);
        }
        if (!ok) throw new SafeTensorsException(Origin, Name, $"dtype {DType.HeaderName()} cannot be converted to a real-valued tensor.");
        t.Name = Name;
        return t;
    }

    /// <summary>The exact integer values of an integer or BOOL tensor, row-major (one value for rank 0).</summary>
    public long[] ToInt64()
    {
        if (!DType.IsInteger())
            throw new InvalidOperationException($"safetensors '{Origin}', tensor '{Name}': ToInt64 needs an integer dtype, but the tensor is {DType.HeaderName()}; use ToTensor().");
        var r = new long[Numel];
        int bad = SafeTensorConvert.ToInt64(DType, Bytes, r);
        if (bad >= 0)
            throw new SafeTensorsException(Origin, Name, $"U64 element {bad} does not fit in a signed 64-bit integer.");
        return r;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {DType.HeaderName()} {Shapes.Format(_shape)}";
}
