// Writing a safetensors file: header first (so every tensor's size is known up front), then the data in the
// reference writer's order (element size descending, then name), F32 for float32 and F64 for float64 tensors.
using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SegLab.Engine.Serialization;

/// <summary>Serialises named tensors to the safetensors layout.</summary>
internal static class SafeTensorsWriter
{
    private sealed record Item(string Name, Tensor Tensor, SafeTensorDType DType, long Begin, long End);

    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata, string origin)
    {
        SafeTensors.RequireLittleEndian(origin, BitConverter.IsLittleEndian);
        var items = Layout(tensors);
        byte[] header = Header(items, metadata);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        stream.Write(len);
        stream.Write(header);
        foreach (var it in items)
        {
            if (it.DType == SafeTensorDType.F32) stream.Write(MemoryMarshal.AsBytes<float>(it.Tensor.Span));
            else stream.Write(MemoryMarshal.AsBytes<double>(it.Tensor.SpanF64));
        }
    }

    private static List<Item> Layout(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var named = new List<(string Name, Tensor Tensor, SafeTensorDType DType)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (name is null) throw new ArgumentException("safetensors: a tensor name is null.", nameof(tensors));
            if (t is null) throw new ArgumentException($"safetensors: tensor '{name}' is null.", nameof(tensors));
            if (name == "__metadata__") throw new ArgumentException("safetensors: '__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"safetensors: duplicate tensor name '{name}'.", nameof(tensors));
            named.Add((name, t, t.DType == DType.Float64 ? SafeTensorDType.F64 : SafeTensorDType.F32));
        }
        named.Sort((a, b) => a.DType.ByteSize() != b.DType.ByteSize()
            ? b.DType.ByteSize().CompareTo(a.DType.ByteSize())
            : string.CompareOrdinal(a.Name, b.Name));
        var items = new List<Item>(named.Count);
        long offset = 0;
        foreach (var (name, t, dt) in named)
        {
            long bytes = (long)t.Numel * dt.ByteSize();
            items.Add(new Item(name, t, dt, offset, offset + bytes));
            offset += bytes;
        }
        return items;
    }

    private static byte[] Header(List<Item> items, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (kv.Value is null) throw new ArgumentException($"safetensors: metadata value of '{kv.Key}' is null.", nameof(metadata));
                    w.WriteString(kv.Key, kv.Value);
                }
                w.WriteEndObject();
            }
            foreach (var it in items)
            {
                w.WriteStartObject(it.Name);
                w.WriteString("dtype", it.DType.HeaderName());
                w.WriteStartArray("shape");
                foreach (int d in it.Tensor.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(it.Begin);
                w.WriteNumberValue(it.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }
}
