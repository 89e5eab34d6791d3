// Parsing and validation of a safetensors file held in memory, following the rules of the reference
// implementation (huggingface/safetensors, safetensors/src/tensor.rs): 8-byte little-endian header length,
// at most 100 MB of UTF-8 JSON starting with '{', no duplicate keys, known dtypes, data_offsets that tile the
// data buffer exactly (sorted, contiguous from 0, no holes, no overlaps, no trailing bytes).
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace SegLab.Engine.Serialization;

/// <summary>Turns file bytes into a validated <see cref="SafeTensorFile"/> or a <see cref="SafeTensorsException"/>.</summary>
internal static class SafeTensorsReader
{
    /// <summary>The reference implementation's limit on the JSON header (MAX_HEADER_SIZE).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private sealed record RawEntry(string Name, SafeTensorDType DType, int[] Shape, long Begin, long End, int Index)
    {
        public long Numel { get; set; }
    }

    public static SafeTensorFile Parse(byte[] file, string origin)
    {
        SafeTensors.RequireLittleEndian(origin, BitConverter.IsLittleEndian);
        if (file.Length < 8)
            throw Fail(origin, null, $"the file is {file.Length} bytes long, shorter than the 8-byte header length field.");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (n > MaxHeaderLength)
            throw Fail(origin, null, $"the header length field says {n} bytes, more than the limit of {MaxHeaderLength} bytes (corrupt or not a safetensors file).");
        if (n > (ulong)(file.Length - 8))
            throw Fail(origin, null, $"the header length field says {n} bytes, but only {file.Length - 8} bytes follow it (truncated file?).");
        var header = file.AsSpan(8, (int)n);
        if (header.Length == 0 || header[0] != (byte)'{')
            throw Fail(origin, null, header.Length == 0
                ? "the JSON header is empty; it must start with '{'."
                : $"the JSON header must start with '{{', but starts with byte 0x{header[0]:X2}.");
        if (!Utf8.IsValid(header))
            throw Fail(origin, null, "the JSON header is not valid UTF-8.");

        var (raw, metadata) = ParseHeader(header, origin);
        long bufferLength = file.Length - 8 - (long)n;
        CheckLayout(raw, bufferLength, origin);

        int dataStart = 8 + (int)n;
        var entries = new SafeTensorEntry[raw.Count];
        for (int i = 0; i < raw.Count; i++)
        {
            var r = raw[i];
            entries[i] = new SafeTensorEntry(origin, r.Name, r.DType, r.Shape, (int)r.Numel, r.Begin, r.End, file, dataStart + (int)r.Begin);
        }
        return new SafeTensorFile(origin, entries, metadata, (long)n);
    }

    /// <summary>Sizes match shapes and the sorted offsets tile [0, bufferLength) exactly.</summary>
    private static void CheckLayout(List<RawEntry> raw, long bufferLength, string origin)
    {
        foreach (var r in raw)
        {
            long numel = 1;
            foreach (int d in r.Shape)
            {
                if (d != 0 && numel > long.MaxValue / d)
                    throw Fail(origin, r.Name, $"the element count of shape {Shapes.Format(r.Shape)} overflows a 64-bit integer.");
                numel *= d;
            }
            int size = r.DType.ByteSize();
            if (numel > long.MaxValue / size)
                throw Fail(origin, r.Name, $"the byte size of shape {Shapes.Format(r.Shape)} of {r.DType.HeaderName()} overflows a 64-bit integer.");
            long bytes = numel * size;
            if (r.End - r.Begin != bytes)
                throw Fail(origin, r.Name, $"data_offsets [{r.Begin}, {r.End}] hold {r.End - r.Begin} bytes, but shape {Shapes.Format(r.Shape)} of {r.DType.HeaderName()} needs {numel} x {size} = {bytes} bytes.");
            r.Numel = numel;
        }

        var sorted = raw.OrderBy(r => r.Begin).ThenBy(r => r.End).ThenBy(r => r.Index).ToList();
        long expected = 0;
        RawEntry? previous = null;
        foreach (var r in sorted)
        {
            if (r.Begin > expected)
                throw Fail(origin, r.Name, previous is null
                    ? $"data_offsets start at {r.Begin}, leaving a hole of {r.Begin} unused bytes at the start of the data buffer (offsets must be contiguous from 0)."
                    : $"data_offsets start at {r.Begin}, leaving a hole of {r.Begin - expected} unused bytes after tensor '{previous.Name}' (which ends at {expected}).");
            if (r.Begin < expected)
                throw Fail(origin, r.Name, $"data_offsets [{r.Begin}, {r.End}] overlap tensor '{previous!.Name}' (which ends at {expected}).");
            expected = r.End;
            previous = r;
        }
        if (expected > bufferLength)
            throw Fail(origin, previous!.Name, $"data_offsets end at {expected}, beyond the end of the data buffer ({bufferLength} bytes after the header; truncated file?).");
        if (expected < bufferLength)
            throw Fail(origin, null, $"the data buffer has {bufferLength - expected} trailing bytes after the last tensor (tensors cover {expected} of {bufferLength} bytes).");
    }

    private static (List<RawEntry> Entries, IReadOnlyDictionary<string, string> Metadata) ParseHeader(ReadOnlySpan<byte> header, string origin)
    {
        var entries = new List<RawEntry>();
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        try
        {
            Next(ref reader, origin); // '{', checked by the caller
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (Next(ref reader, origin) != JsonTokenType.EndObject)
            {
                string key = reader.GetString()!;
                if (!seen.Add(key))
                    throw Fail(origin, null, $"duplicate key '{key}' in the JSON header.");
                Next(ref reader, origin);
                if (key == MetadataKey) metadata = ReadMetadata(ref reader, origin);
                else entries.Add(ReadEntry(ref reader, origin, key, entries.Count));
            }
            // Only whitespace (the writer's space padding) may follow; the reader throws on anything else.
            if (reader.Read())
                throw Fail(origin, null, $"unexpected {Describe(reader.TokenType)} after the JSON header object.");
        }
        catch (JsonException ex)
        {
            throw Fail(origin, null, $"the header is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw Fail(origin, null, $"the header has an invalid JSON string: {ex.Message}", ex);
        }
        return (entries, metadata);
    }

    private static RawEntry ReadEntry(ref Utf8JsonReader reader, string origin, string name, int index)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(origin, name, $"the header entry must be an object with dtype, shape and data_offsets, but is {Describe(reader.TokenType)}.");
        string? dtypeName = null;
        int[]? shape = null;
        long[]? offsets = null;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader, origin) != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            if (!fields.Add(field))
                throw Fail(origin, name, $"duplicate key '{field}' in the header entry.");
            Next(ref reader, origin);
            switch (field)
            {
                case "dtype":
                    if (reader.TokenType != JsonTokenType.String)
                        throw Fail(origin, name, $"dtype must be a string, but is {Describe(reader.TokenType)}.");
                    dtypeName = reader.GetString()!;
                    break;
                case "shape":
                    shape = ReadShape(ref reader, origin, name);
                    break;
                case "data_offsets":
                    offsets = ReadOffsets(ref reader, origin, name);
                    break;
                default:
                    reader.Skip(); // unknown fields are ignored, as by the reference implementation
                    break;
            }
        }
        if (dtypeName is null) throw Fail(origin, name, "the header entry has no dtype.");
        if (shape is null) throw Fail(origin, name, "the header entry has no shape.");
        if (offsets is null) throw Fail(origin, name, "the header entry has no data_offsets.");
        if (!SafeTensorDTypes.TryParse(dtypeName, out var dtype))
        {
            bool subByte = dtypeName is "F4" || dtypeName.StartsWith("F6_", StringComparison.Ordinal);
            throw Fail(origin, name, subByte
                ? $"dtype '{dtypeName}' (a sub-byte type) is not supported by SegLab."
                : $"unknown dtype '{dtypeName}' (known: {SafeTensorDTypes.KnownNames}).");
        }
        return new RawEntry(name, dtype, shape, offsets[0], offsets[1], index);
    }

    private static int[] ReadShape(ref Utf8JsonReader reader, string origin, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Fail(origin, name, $"shape must be an array of non-negative integers, but is {Describe(reader.TokenType)}.");
        var dims = new List<int>();
        while (Next(ref reader, origin) != JsonTokenType.EndArray)
        {
            long d = ReadNonNegative(ref reader, origin, name, "shape");
            if (d > int.MaxValue)
                throw Fail(origin, name, $"shape dimension {d} is larger than SegLab's limit of {int.MaxValue}.");
            dims.Add((int)d);
        }
        return [.. dims];
    }

    private static long[] ReadOffsets(ref Utf8JsonReader reader, string origin, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Fail(origin, name, $"data_offsets must be [begin, end], two non-negative integers, but is {Describe(reader.TokenType)}.");
        var values = new List<long>(2);
        while (Next(ref reader, origin) != JsonTokenType.EndArray)
            values.Add(ReadNonNegative(ref reader, origin, name, "data_offsets"));
        if (values.Count != 2)
            throw Fail(origin, name, $"data_offsets must be [begin, end], two non-negative integers, but has {values.Count} values.");
        if (values[0] > values[1])
            throw Fail(origin, name, $"data_offsets [{values[0]}, {values[1]}] have begin > end.");
        return [values[0], values[1]];
    }

    private static long ReadNonNegative(ref Utf8JsonReader reader, string origin, string name, string what)
    {
        if (reader.TokenType != JsonTokenType.Number)
            throw Fail(origin, name, $"{what} must hold non-negative integers, but has {Describe(reader.TokenType)}.");
        string text = Encoding.UTF8.GetString(reader.ValueSpan);
        if (reader.TryGetInt64(out long v))
        {
            return v >= 0 ? v : throw Fail(origin, name, $"{what} has a negative value {v}.");
        }
        if (reader.TryGetUInt64(out _))
            throw Fail(origin, name, $"{what} value {text} is too large.");
        throw Fail(origin, name, text.StartsWith('-')
            ? $"{what} has a negative value {text}."
            : $"{what} value {text} is not an integer.");
    }

    private static Dictionary<string, string> ReadMetadata(ref Utf8JsonReader reader, string origin)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reader.TokenType == JsonTokenType.Null) return metadata; // the reference reads it as an Option
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(origin, null, $"{MetadataKey} must be an object of string values, but is {Describe(reader.TokenType)}.");
        while (Next(ref reader, origin) != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            if (metadata.ContainsKey(key))
                throw Fail(origin, null, $"duplicate key '{key}' in {MetadataKey}.");
            Next(ref reader, origin);
            if (reader.TokenType != JsonTokenType.String)
                throw Fail(origin, null, $"{MetadataKey} value of '{key}' must be a string, but is {Describe(reader.TokenType)}.");
            metadata.Add(key, reader.GetString()!);
        }
        return metadata;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader, string origin) =>
        reader.Read() ? reader.TokenType : throw Fail(origin, null, "the JSON header ends before its closing '}'.");

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };

    private static SafeTensorsException Fail(string origin, string? tensor, string problem, Exception? inner = null) =>
        new(origin, tensor, problem, inner);
}
