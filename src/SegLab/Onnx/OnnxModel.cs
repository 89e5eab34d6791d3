// An ONNX file read into memory: its operator set, producer, declared inputs and outputs, nodes, and initializers
// decoded into engine tensors under their ONNX names. Every tensor's declared size (dims x element size) is checked
// against the bytes actually present, embedded or in an external-data file beside the model, before its storage is
// allocated. Values of integer types (shapes, axes, indices) are held exactly as float64 tensors; floating-point
// values in the caller's float type (float32 by default; float16, bfloat16 and float64 are converted).
using Google.Protobuf;
using SegLab.Engine;
using SegLab.Onnx.Proto;

namespace SegLab.Onnx;

/// <summary>A declared graph input or output: name, ONNX element type and dimensions (null where symbolic).</summary>
/// <param name="Name">Value name.</param>
/// <param name="ElementType">ONNX element type name (FLOAT, INT64, ...).</param>
/// <param name="Dims">Dimensions; null entries are symbolic (dim_param) or absent.</param>
public sealed record OnnxValueInfo(string Name, string ElementType, long?[] Dims)
{
    /// <summary>The shape as text, e.g. [1, 3, H, W].</summary>
    public string ShapeText => "[" + string.Join(", ", Dims.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?")) + "]";
}

/// <summary>A parsed ONNX model file.</summary>
public sealed class OnnxModel
{
    private OnnxModel(string path, ModelProto proto, long opset, Dictionary<string, OnnxConstant> initializers)
    {
        Path = path;
        Proto = proto;
        Opset = opset;
        Initializers = initializers;
        Inputs = proto.Graph.Input.Where(i => !initializers.ContainsKey(i.Name)).Select(Info).ToList();
        Outputs = proto.Graph.Output.Select(Info).ToList();
    }

    /// <summary>The file this model was read from.</summary>
    public string Path { get; }

    /// <summary>Version of the default ("ai.onnx") operator set the model imports.</summary>
    public long Opset { get; }

    /// <summary>ONNX IR version of the file.</summary>
    public long IrVersion => Proto.IrVersion;

    /// <summary>Producer name and version, e.g. "pytorch 1.13.1".</summary>
    public string Producer => (Proto.ProducerName + " " + Proto.ProducerVersion).Trim();

    /// <summary>Graph inputs that are not initializers.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>Graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Initializers by ONNX name.</summary>
    public IReadOnlyDictionary<string, OnnxConstant> Initializers { get; }

    internal ModelProto Proto { get; }

    /// <summary>Reads and validates an ONNX file (initializers decoded, external data read from beside it).</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="floatType">Element type of floating-point initializers (Float32, or Float64 for gradient checks).</param>
    public static OnnxModel Load(string path, DType floatType = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        ModelProto proto;
        try
        {
            // Parsed from the stream: the file's bytes are never held whole beside the parsed message.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException($"'{path}' is not a valid ONNX file: {e.Message}", e);
        }
        if (proto.Graph is null || (proto.Graph.Node.Count == 0 && proto.Graph.Output.Count == 0))
            throw new OnnxFormatException($"'{path}' is not an ONNX model: it has no graph (is it another kind of file?).");
        long opset = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        if (opset == 0) throw new OnnxFormatException($"'{path}' imports no version of the default ONNX operator set.");
        var reader = new OnnxTensorReader(path, floatType);
        var inits = new Dictionary<string, OnnxConstant>(StringComparer.Ordinal);
        foreach (var t in proto.Graph.Initializer)
        {
            if (string.IsNullOrEmpty(t.Name)) throw new OnnxFormatException($"'{path}': an initializer has no name.");
            if (!inits.TryAdd(t.Name, reader.Read(t, $"initializer '{t.Name}'")))
                throw new OnnxFormatException($"'{path}': initializer '{t.Name}' appears twice.");
            // The decoded tensor is the only copy kept: the message's bytes go as soon as they are read, so that
            // loading peaks at one tensor's bytes beside the weights (the imported ResNet18: 369 MB resident after
            // loading with every initializer's bytes kept in the message, against ONNX Runtime's 305).
            t.RawData = ByteString.Empty;
            t.FloatData.Clear();
            t.DoubleData.Clear();
        }
        proto.Graph.Initializer.Clear();
        return new OnnxModel(path, proto, opset, inits);
    }

    private static OnnxValueInfo Info(ValueInfoProto v)
    {
        var tt = v.Type?.TensorType;
        string elem = tt is null ? "?" : OnnxTensorReader.TypeName(tt.ElemType);
        var dims = tt?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : (long?)null).ToArray() ?? [];
        return new OnnxValueInfo(v.Name, elem, dims);
    }
}

/// <summary>A constant tensor of an ONNX file: the engine tensor and whether its ONNX type is an integer (or bool) type.</summary>
/// <param name="Value">The values (integers exactly, as float64).</param>
/// <param name="IsInteger">True for integer and bool element types.</param>
/// <param name="ElementType">ONNX element type name.</param>
public sealed record OnnxConstant(Tensor Value, bool IsInteger, string ElementType);
