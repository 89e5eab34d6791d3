// Decodes ONNX TensorProtos (initializers and Constant attributes) into engine tensors. Before any storage is
// allocated, the declared element count (product of dims, each non-negative, at most int.MaxValue in all) times the
// element size is checked against what is present: raw_data's length, the typed field's count, or, for external data,
// the length recorded and the size of the file it names. External files must lie inside the model's folder
// (relative names, no '..', no rooted paths), as the ONNX external-data rules require.
using System.Buffers.Binary;
using SegLab.Engine;
using SegLab.Onnx.Proto;
using DataType = SegLab.Onnx.Proto.TensorProto.Types.DataType;

namespace SegLab.Onnx;

/// <summary>Reads tensors of one model file.</summary>
internal sealed class OnnxTensorReader(string modelPath, DType floatType)
{
    private readonly string _dir = Path.GetFullPath(Path.GetDirectoryName(Path.GetFullPath(modelPath)) ?? ".");

    /// <summary>The ONNX name of an element type code.</summary>
    public static string TypeName(int code) => Enum.IsDefined(typeof(DataType), code) ? ((DataType)code).ToString().ToUpperInvariant() : $"type {code}";

    /// <summary>Bytes per element of a numeric type, or 0 where SegLab does not read the type.</summary>
    private static int ElementSize(DataType t) => t switch
    {
        DataType.Float or DataType.Int32 or DataType.Uint32 => 4,
        DataType.Double or DataType.Int64 or DataType.Uint64 => 8,
        DataType.Int16 or DataType.Uint16 or DataType.Float16 or DataType.Bfloat16 => 2,
        DataType.Int8 or DataType.Uint8 or DataType.Bool => 1,
        _ => 0,
    };

    private static bool IsFloat(DataType t) => t is DataType.Float or DataType.Double or DataType.Float16 or DataType.Bfloat16;

    /// <summary>Decodes <paramref name="t"/>; <paramref name="what"/> names it in errors ("initializer 'conv1.weight'").</summary>
    public OnnxConstant Read(TensorProto t, string what)
    {
        var type = (DataType)t.DataType;
        int size = ElementSize(type);
        if (size == 0) throw Error($"{what} has element type {TypeName(t.DataType)}, which SegLab does not read (numeric types and bool only)");
        int[] dims = Dims(t, what);
        long numel = 1;
        foreach (int d in dims) numel *= d;
        long bytes = numel * size;
        double[]? wide = null;
        float[]? narrow = null;
        bool isFloat = IsFloat(type);
        bool asFloat32 = isFloat && floatType == DType.Float32;
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            var raw = ReadExternal(t, what, bytes);
            Decode(raw, type, (int)numel, asFloat32, out narrow, out wide);
        }
        else if (!t.RawData.IsEmpty)
        {
            if (t.RawData.Length != bytes)
                throw Error($"{what} declares {Shape(dims)} {TypeName(t.DataType)} ({bytes} bytes) but holds {t.RawData.Length} bytes of raw data");
            Decode(t.RawData.Span, type, (int)numel, asFloat32, out narrow, out wide);
        }
        else
        {
            int present = type switch
            {
                DataType.Float => t.FloatData.Count,
                DataType.Double => t.DoubleData.Count,
                DataType.Int64 => t.Int64Data.Count,
                DataType.Uint32 or DataType.Uint64 => t.Uint64Data.Count,
                _ => t.Int32Data.Count,
            };
            if (present != numel)
                throw Error($"{what} declares {Shape(dims)} ({numel} values) but holds {present} values");
            wide = new double[numel];
            for (int i = 0; i < numel; i++)
                wide[i] = type switch
                {
                    DataType.Float => t.FloatData[i],
                    DataType.Double => t.DoubleData[i],
                    DataType.Int64 => t.Int64Data[i],
                    DataType.Uint32 or DataType.Uint64 => t.Uint64Data[i],
                    DataType.Float16 => (double)BitConverter.UInt16BitsToHalf((ushort)t.Int32Data[i]),
                    DataType.Bfloat16 => BitConverter.Int32BitsToSingle(t.Int32Data[i] << 16),
                    _ => t.Int32Data[i],
                };
            if (asFloat32) narrow = Array.ConvertAll(wide, v => (float)v);
        }
        var tensor = narrow is not null ? Tensor.FromArray(narrow, dims) : Tensor.FromArray(wide!, dims);
        if (isFloat && floatType == DType.Float32 && tensor.DType != DType.Float32) tensor = tensor.To(DType.Float32);
        return new OnnxConstant(tensor, !isFloat, TypeName(t.DataType));
    }

    private int[] Dims(TensorProto t, string what)
    {
        var dims = new int[t.Dims.Count];
        long numel = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > int.MaxValue) throw Error($"{what} has dimension {d} at axis {i}");
            numel *= Math.Max(d, 1);
            if (numel > int.MaxValue) throw Error($"{what} declares {Shape(t.Dims.Select(x => (int)Math.Min(x, int.MaxValue)).ToArray())}, more than {int.MaxValue} elements");
            dims[i] = (int)d;
        }
        return dims;
    }

    // Little-endian bytes to float32 (when asked and the type is floating point) or float64 values.
    private static void Decode(ReadOnlySpan<byte> raw, DataType type, int n, bool asFloat32, out float[]? narrow, out double[]? wide)
    {
        narrow = null;
        wide = null;
        if (type == DataType.Float && asFloat32)
        {
            narrow = new float[n];
            for (int i = 0; i < n; i++) narrow[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
            return;
        }
        var w = new double[n];
        for (int i = 0; i < n; i++)
            w[i] = type switch
            {
                DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]),
                DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]),
                DataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]),
                DataType.Bfloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16),
                DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]),
                DataType.Uint64 => BinaryPrimitives.ReadUInt64LittleEndian(raw[(8 * i)..]),
                DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]),
                DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(4 * i)..]),
                DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * i)..]),
                DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]),
                DataType.Int8 => (sbyte)raw[i],
                _ => raw[i],
            };
        if (asFloat32) narrow = Array.ConvertAll(w, v => (float)v);
        else wide = w;
    }

    // The bytes of an external-data tensor: location relative to the model's folder and inside it, offset and
    // length (when given) within the file, and exactly the declared size.
    private byte[] ReadExternal(TensorProto t, string what, long bytes)
    {
        string? location = null;
        long offset = 0, length = -1;
        foreach (var e in t.ExternalData)
        {
            switch (e.Key)
            {
                case "location": location = e.Value; break;
                case "offset": offset = ParseLong(e.Value, what, "offset"); break;
                case "length": length = ParseLong(e.Value, what, "length"); break;
            }
        }
        if (string.IsNullOrEmpty(location)) throw Error($"{what} is stored externally but names no location");
        if (Path.IsPathRooted(location) || location.Split('/', '\\').Contains("..") || location.Contains('\0', StringComparison.Ordinal))
            throw Error($"{what} names external data '{location}', which is not a relative path inside the model's folder");
        string full = Path.GetFullPath(Path.Combine(_dir, location));
        if (!full.StartsWith(_dir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw Error($"{what} names external data '{location}', which lies outside the model's folder");
        if (!File.Exists(full)) throw Error($"{what} is stored in '{full}', which does not exist");
        if (length >= 0 && length != bytes)
            throw Error($"{what} declares {bytes} bytes but its external data records a length of {length}");
        long fileLength = new FileInfo(full).Length;
        if (offset + bytes > fileLength)
            throw Error($"{what} needs {bytes} bytes at offset {offset} of '{full}', which has {fileLength} bytes");
        var buf = new byte[bytes];
        using var f = File.OpenRead(full);
        f.Seek(offset, SeekOrigin.Begin);
        f.ReadExactly(buf);
        return buf;
    }

    private long ParseLong(string s, string what, string key) =>
        long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v : throw Error($"{what} has external-data {key} '{s}', not a non-negative integer");

    private static string Shape(int[] dims) => Shapes.Format(dims);

    private OnnxFormatException Error(string message) => new($"'{modelPath}': {message}.");
}
