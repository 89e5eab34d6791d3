// The engine's tensor: contiguous row-major storage (NCHW for images), a shape, and an autograd node.
// Float32 is the working type; float64 exists for gradient checks. Views (reshape) share storage.
using System.Runtime.CompilerServices;
using System.Text;
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

/// <summary>A dense, contiguous, row-major tensor with reverse-mode autograd.</summary>
public sealed partial class Tensor
{
    private readonly Array _data;
    private readonly int[] _shape;
    private bool _requiresGrad;

    internal Tensor(Array data, int[] shape)
    {
        _data = data;
        _shape = shape;
        DType = data is double[] ? DType.Float64 : DType.Float32;
        Numel = Shapes.Numel(shape);
        if (data.Length < Numel)
            throw new ArgumentException($"Storage of {data.Length} elements is too small for shape {Shapes.Format(shape)}.");
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>The shape; do not modify.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of axes.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Numel { get; }

    /// <summary>Optional name, used in error messages and feature lookups.</summary>
    public string? Name { get; set; }

    /// <summary>Accumulated gradient of a leaf after <see cref="Backward"/>; null before.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The tape node that produced this tensor; null for leaves and untracked results.</summary>
    internal Node? GradFn { get; set; }

    /// <summary>True for a tensor created by the user rather than by a tracked operation.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>
    /// Whether gradients flow to this tensor. Settable on leaves only; results of operations on such
    /// tensors require gradients automatically while gradient recording is enabled.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf && !value)
                throw new InvalidOperationException("RequiresGrad can only be cleared on a leaf tensor; use Detach() instead.");
            _requiresGrad = value;
        }
    }

    internal int[] Dims => _shape;

    internal Array Storage => _data;

    /// <summary>Size of axis <paramref name="axis"/> (negative counts from the end).</summary>
    /// <param name="axis">The axis.</param>
    public int Size(int axis) => _shape[Shapes.Axis(axis, Rank, "Size")];

    /// <summary>The float32 elements. Throws for float64 tensors.</summary>
    public Span<float> Span => DType == DType.Float32
        ? ((float[])_data).AsSpan(0, Numel)
        : throw new InvalidOperationException($"Tensor is {DType}; use SpanF64 or To(DType.Float32).");

    /// <summary>The float64 elements. Throws for float32 tensors.</summary>
    public Span<double> SpanF64 => DType == DType.Float64
        ? ((double[])_data).AsSpan(0, Numel)
        : throw new InvalidOperationException($"Tensor is {DType}; use Span or To(DType.Float64).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<T> Buf<T>() where T : unmanaged => Unsafe.As<T[]>(_data).AsSpan(0, Numel);

    /// <summary>Element at a multi-index, as double.</summary>
    /// <param name="index">One index per axis.</param>
    [IndexerName("Element")]
    public double this[params int[] index]
    {
        get
        {
            int off = Offset(index);
            return DType == DType.Float32 ? ((float[])_data)[off] : ((double[])_data)[off];
        }
        set
        {
            int off = Offset(index);
            if (DType == DType.Float32) ((float[])_data)[off] = (float)value;
            else ((double[])_data)[off] = value;
        }
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public double Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs a tensor with one element, got shape {Shapes.Format(_shape)}.");
        return DType == DType.Float32 ? ((float[])_data)[0] : ((double[])_data)[0];
    }

    /// <summary>A copy of the elements as float32.</summary>
    public float[] ToArray()
    {
        if (DType == DType.Float32) return Span.ToArray();
        var r = new float[Numel];
        var s = SpanF64;
        for (int i = 0; i < r.Length; i++) r[i] = (float)s[i];
        return r;
    }

    /// <summary>A copy of the elements as float64.</summary>
    public double[] ToArrayF64()
    {
        if (DType == DType.Float64) return SpanF64.ToArray();
        var r = new double[Numel];
        var s = Span;
        for (int i = 0; i < r.Length; i++) r[i] = s[i];
        return r;
    }

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>A tensor sharing this storage but cut from the tape: no gradient flows through it.</summary>
    public Tensor Detach() => new(_data, _shape) { Name = Name };

    /// <summary>Whether this tensor and <paramref name="other"/> are views of one storage (a reshape, a detach).</summary>
    /// <param name="other">Another tensor.</param>
    public bool SharesStorageWith(Tensor other) => other is not null && ReferenceEquals(_data, other._data);

    /// <summary>A deep copy with no autograd history.</summary>
    public Tensor Clone()
    {
        Array copy = DType == DType.Float32 ? Span.ToArray() : SpanF64.ToArray();
        return new Tensor(copy, (int[])_shape.Clone()) { Name = Name };
    }

    /// <summary>Clears the accumulated gradient.</summary>
    public void ZeroGrad() => Grad = null;

    // The Grad tensor that a backward pass made for this leaf (null once the caller replaces Grad), and storage an
    // optimizer's ZeroGrad handed back for the next pass to write this leaf's gradient into.
    private Tensor? _engineGrad;
    private Array? _spareGrad;

    /// <summary>
    /// Clears the gradient and, when a backward pass made it, keeps its storage for the next pass's gradient of
    /// this leaf (optimizers' ZeroGrad): a parameter's gradient then lands in warm memory every step instead of
    /// freshly allocated pages (a DeepLabV3 training step allocated about 5 MB of them per step for this alone).
    /// A Grad that the caller set is never reused.
    /// </summary>
    internal void RecycleGrad()
    {
        if (Grad is { } g && ReferenceEquals(g, _engineGrad) && g.Storage.Length == g.Numel) _spareGrad = g.Storage;
        _engineGrad = null;
        Grad = null;
    }

    /// <summary>Sets Grad to a tensor a backward pass made (so that <see cref="RecycleGrad"/> may reuse it).</summary>
    internal void SetEngineGrad(Tensor grad)
    {
        Grad = grad;
        _engineGrad = grad;
    }

    /// <summary>Sets Grad to a copy of <paramref name="g"/>, in the storage <see cref="RecycleGrad"/> kept when it fits.</summary>
    internal void SetGradCopy(Tensor g)
    {
        Tensor grad;
        if (_spareGrad is { } spare && spare.Length == g.Numel && g.DType == DType && (spare is float[]) == (DType == DType.Float32))
        {
            if (DType == DType.Float32) g.Span.CopyTo((float[])spare);
            else g.SpanF64.CopyTo((double[])spare);
            grad = new Tensor(spare, (int[])_shape.Clone());
        }
        else
        {
            grad = g.DType == DType ? g.Clone() : g.To(DType);
        }
        _spareGrad = null;
        Grad = grad;
        _engineGrad = grad;
    }

    /// <summary>Back-propagates from this scalar (or with an explicit output gradient), accumulating into leaves' <see cref="Grad"/>.</summary>
    /// <param name="gradient">Gradient of the output; required unless this tensor has one element.</param>
    /// <param name="retainGraph">Keep the graph for another backward pass; by default every node that ran is released.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Tape.Backward(this, gradient, retainGraph);

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Tensor").Append(Shapes.Format(_shape)).Append(' ').Append(DType);
        if (Name is not null) sb.Append(" '").Append(Name).Append('\'');
        if (RequiresGrad) sb.Append(" requires_grad");
        sb.Append(" [");
        int n = Math.Min(Numel, 8);
        for (int i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(", ");
            double v = DType == DType.Float32 ? ((float[])_data)[i] : ((double[])_data)[i];
            sb.Append(v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (Numel > n) sb.Append(", ...");
        return sb.Append(']').ToString();
    }

    private int Offset(int[] index)
    {
        if (index.Length != Rank)
            throw new ArgumentException($"Index has {index.Length} coordinates but the tensor has shape {Shapes.Format(_shape)}.");
        int off = 0;
        for (int d = 0; d < Rank; d++)
        {
            int i = index[d] < 0 ? index[d] + _shape[d] : index[d];
            if ((uint)i >= (uint)_shape[d])
                throw new IndexOutOfRangeException($"Index {index[d]} is out of range for axis {d} of shape {Shapes.Format(_shape)}.");
            off = off * _shape[d] + i;
        }
        return off;
    }
}
