// One ONNX node as the converters see it: typed attribute access with defaults, the model's opset, and errors that
// name the node, its op and the opset. Values flowing between nodes are engine tensors tagged with whether their
// ONNX type is an integer one (shape arithmetic runs on those, exactly, in float64).
using System.Text;
using SegLab.Engine;
using SegLab.Onnx.Proto;
using AttrType = SegLab.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace SegLab.Onnx;

/// <summary>A value between nodes: the tensor, and whether its ONNX element type is an integer (or bool) type.</summary>
/// <param name="Data">The values (integers as exact float64).</param>
/// <param name="IsInteger">True for integer and bool values.</param>
internal sealed record OnnxValue(Tensor Data, bool IsInteger)
{
    /// <summary>The values as integers (shape arguments, axes, indices).</summary>
    public long[] Longs() => Array.ConvertAll(Data.ToArrayF64(), v => v >= long.MaxValue ? long.MaxValue : v <= long.MinValue ? long.MinValue : (long)v);

    /// <summary>The values as doubles (scales, clip bounds).</summary>
    public double[] Doubles() => Data.ToArrayF64();
}

/// <summary>What a node's computation may read besides its inputs.</summary>
/// <param name="Training">The module's training flag (batch norm uses batch statistics).</param>
/// <param name="FloatType">The float type the graph runs in.</param>
/// <param name="Probing">True during the load-time run at the declared input size (nodes may record what they see).</param>
internal sealed record OnnxRunContext(bool Training, DType FloatType, bool Probing = false);

/// <summary>A compiled node: inputs (null where an optional input is absent) to outputs.</summary>
internal delegate OnnxValue[] OnnxKernel(OnnxValue?[] inputs, OnnxRunContext ctx);

/// <summary>A node with its attributes and the model's opset.</summary>
internal sealed class OnnxNode(NodeProto proto, long opset, string modelPath)
{
    private readonly Dictionary<string, AttributeProto> _attrs = proto.Attribute.GroupBy(a => a.Name).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public NodeProto Proto { get; } = proto;

    public long Opset { get; } = opset;

    public string Op => Proto.OpType;

    /// <summary>The node's name, or a stand-in naming its first output.</summary>
    public string Name => Proto.Name.Length > 0 ? Proto.Name : $"(unnamed, output '{Proto.Output.FirstOrDefault()}')";

    /// <summary>Input shape seen by the load-time probe run (AveragePool uses it), or null.</summary>
    public int[]? ProbeShape { get; set; }

    public bool Has(string name) => _attrs.ContainsKey(name);

    public long Int(string name, long fallback) => Get(name, AttrType.Int) is { } a ? a.I : fallback;

    public long Int(string name) => Get(name, AttrType.Int)?.I ?? throw Unsupported($"attribute '{name}' is required");

    public float Float(string name, float fallback) => Get(name, AttrType.Float) is { } a ? a.F : fallback;

    public string Str(string name, string fallback) => Get(name, AttrType.String) is { } a ? a.S.ToString(Encoding.UTF8) : fallback;

    public long[]? Ints(string name) => Get(name, AttrType.Ints) is { } a ? a.Ints.ToArray() : null;

    public float[]? Floats(string name) => Get(name, AttrType.Floats) is { } a ? a.Floats.ToArray() : null;

    public AttributeProto? Raw(string name) => _attrs.TryGetValue(name, out var a) ? Mark(a) : null;

    /// <summary>Attributes present that no converter read (each converter lists what it understands).</summary>
    public IEnumerable<string> UnreadAttributes() => _attrs.Keys.Where(k => !_read.Contains(k));

    private AttributeProto? Get(string name, AttrType type)
    {
        if (!_attrs.TryGetValue(name, out var a)) return null;
        // Files before IR 0.0.2 leave the type unset: accept the field that is present.
        if (a.Type != type && a.Type != AttrType.Undefined)
            throw Format($"attribute '{name}' is {a.Type}, expected {type}");
        return Mark(a);
    }

    private AttributeProto Mark(AttributeProto a)
    {
        _read.Add(a.Name);
        return a;
    }

    /// <summary>An unsupported feature of this node (names node, op, opset).</summary>
    public OnnxUnsupportedException Unsupported(string what) =>
        new($"'{modelPath}': node '{Name}' ({Op}, opset {Opset}): {what}.");

    /// <summary>A malformed node (names node, op, opset).</summary>
    public OnnxFormatException Format(string what) =>
        new($"'{modelPath}': node '{Name}' ({Op}, opset {Opset}): {what}.");

    /// <summary>The value at input <paramref name="i"/>, which must be present.</summary>
    public OnnxValue Need(OnnxValue?[] inputs, int i, string what) =>
        i < inputs.Length && inputs[i] is { } v ? v : throw Format($"input {i} ({what}) is missing");

    /// <summary>A float tensor operand: floats as they are, integer values converted (ONNX would have cast them).</summary>
    public static Tensor AsFloat(OnnxValue v, OnnxRunContext ctx) => v.Data.DType == ctx.FloatType ? v.Data : v.Data.To(ctx.FloatType);

    /// <summary>An axis attribute or input normalised to [0, rank).</summary>
    public int Axis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw Format($"axis {axis} is out of range for a rank-{rank} input");
        return (int)a;
    }
}
