// Builds small ONNX models in tests with SegLab's protobuf classes: inputs, outputs, initializers (float or int64),
// nodes with attributes, and an opset. The same bytes go to ONNX Runtime and to SegLab's importer.
using Google.Protobuf;
using SegLab.Engine;
using SegLab.Onnx.Proto;
using AttrType = SegLab.Onnx.Proto.AttributeProto.Types.AttributeType;
using DataType = SegLab.Onnx.Proto.TensorProto.Types.DataType;

namespace SegLab.Tests.Onnx;

/// <summary>A fluent builder of one-graph ONNX models.</summary>
internal sealed class OnnxBuilder(long opset)
{
    private readonly GraphProto _graph = new() { Name = "test" };
    private int _nodes;
    private readonly Rng _rng = new(1234 + opset);

    public long Opset { get; } = opset;

    /// <summary>A float input; a null dim is symbolic.</summary>
    public OnnxBuilder Input(string name, params long?[] dims)
    {
        _graph.Input.Add(ValueInfo(name, DataType.Float, dims));
        return this;
    }

    public OnnxBuilder Output(string name)
    {
        _graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } } });
        return this;
    }

    public OnnxBuilder Float(string name, float[] data, params long[] dims)
    {
        _graph.Initializer.Add(FloatTensor(name, data, dims));
        return this;
    }

    /// <summary>A float initializer of uniform random values in [lo, hi).</summary>
    public OnnxBuilder Random(string name, long[] dims, double lo = -1, double hi = 1)
    {
        long n = dims.Aggregate(1L, (a, b) => a * b);
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float)(lo + (hi - lo) * _rng.NextDouble());
        return Float(name, data, dims);
    }

    public OnnxBuilder Int64(string name, long[] data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(data);
        _graph.Initializer.Add(t);
        return this;
    }

    /// <summary>A node; attributes as (name, value) with long, float, string, long[], float[] or TensorProto values.</summary>
    public OnnxBuilder Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = $"{op.ToLowerInvariant()}_{_nodes++}" };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        foreach (var (name, value) in attrs) n.Attribute.Add(Attr(name, value));
        _graph.Node.Add(n);
        return this;
    }

    public ModelProto Model()
    {
        var m = new ModelProto { IrVersion = Opset >= 21 ? 10 : Opset >= 15 ? 8 : Opset >= 9 ? 4 : 3, ProducerName = "seglab-tests", ProducerVersion = "1", Graph = _graph.Clone() };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return m;
    }

    public byte[] Bytes() => Model().ToByteArray();

    public static TensorProto FloatTensor(string name, float[] data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Float };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        return t;
    }

    public static TensorProto Int64Tensor(long[] data, params long[] dims)
    {
        var t = new TensorProto { DataType = (int)DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(data);
        return t;
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, long?[] dims)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dim.Add(dims[i] is { } d ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = $"d{i}" });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    private static AttributeProto Attr(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case long l: a.Type = AttrType.Int; a.I = l; break;
            case int i: a.Type = AttrType.Int; a.I = i; break;
            case float f: a.Type = AttrType.Float; a.F = f; break;
            case double d: a.Type = AttrType.Float; a.F = (float)d; break;
            case string s: a.Type = AttrType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttrType.Ints; a.Ints.AddRange(ls); break;
            case float[] fs: a.Type = AttrType.Floats; a.Floats.AddRange(fs); break;
            case TensorProto t: a.Type = AttrType.Tensor; a.T = t; break;
            default: throw new ArgumentException($"attribute {name}: unsupported value type {value.GetType()}");
        }
        return a;
    }
}
