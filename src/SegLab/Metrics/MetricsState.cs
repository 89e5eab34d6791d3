// Accumulator state files for `seglab merge`: every per-image confusion record (with its K x K matrix when known)
// and small-object record, with the class names, as camelCase JSON written atomically. Loading checks everything
// and reports a corrupt or mismatched file as InvalidDataException naming the file and the problem.
using System.Buffers;
using System.Text.Json;

namespace SegLab.Metrics;

/// <summary>A loaded accumulator with the class names it was saved with.</summary>
/// <param name="Accumulator">The records.</param>
/// <param name="ClassNames">One name per class.</param>
public sealed record MetricState(MetricAccumulator Accumulator, IReadOnlyList<string> ClassNames);

public static partial class MetricsJson
{
    /// <summary>The "format" value of state files.</summary>
    public const string StateFormat = "seglab.metrics-state";

    /// <summary>The state file version this code writes and reads.</summary>
    public const int StateVersion = 1;

    /// <summary>Saves an accumulator's records and the class names atomically.</summary>
    /// <param name="path">The file to (over)write.</param>
    /// <param name="accumulator">The records to save.</param>
    /// <param name="classNames">One distinct name per class.</param>
    public static void SaveState(string path, MetricAccumulator accumulator, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        CheckNames(classNames, accumulator.NumClasses);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("format", StateFormat);
            w.WriteNumber("version", StateVersion);
            w.WriteNumber("numClasses", accumulator.NumClasses);
            w.WriteStartArray("classNames");
            foreach (var n in classNames) w.WriteStringValue(n);
            w.WriteEndArray();
            w.WriteStartArray("images");
            foreach (var c in accumulator.Images)
            {
                w.WriteStartObject();
                w.WriteString("id", c.Id);
                Longs(w, "tp", c.Tp);
                Longs(w, "fp", c.Fp);
                Longs(w, "fn", c.Fn);
                if (c.Confusion is not null) Longs(w, "confusion", c.Confusion);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("smallObjects");
            foreach (var s in accumulator.SmallObjectRecords)
            {
                w.WriteStartObject();
                w.WriteString("id", s.Id);
                w.WriteNumber("width", s.Width);
                w.WriteNumber("height", s.Height);
                Ints(w, "class", s.ComponentClass);
                Ints(w, "area", s.ComponentArea);
                Ints(w, "hits", s.ComponentHits);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        SegLab.Engine.IO.AtomicFile.Write(path, buffer.WrittenSpan);
    }

    /// <summary>Loads a state file written by <see cref="SaveState"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="expectedClassNames">When given, the file's class names must equal these.</param>
    /// <returns>The accumulator and class names.</returns>
    /// <exception cref="InvalidDataException">The file is not valid JSON, not a state file, inconsistent, or has other classes.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static MetricState LoadState(string path, IReadOnlyList<string>? expectedClassNames = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var state = ReadState(doc.RootElement);
            if (expectedClassNames is not null && !state.ClassNames.SequenceEqual(expectedClassNames, StringComparer.Ordinal))
                throw new InvalidDataException($"classes [{string.Join(", ", state.ClassNames)}] differ from the expected [{string.Join(", ", expectedClassNames)}]");
            return state;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Metric state file '{path}': not valid JSON ({e.Message})", e);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Metric state file '{path}': {e.Message}", e);
        }
    }

    /// <summary>Loads several state files (shards of one dataset) and merges them into one accumulator.</summary>
    /// <param name="paths">The files (at least one); all must have the same class names and disjoint image ids.</param>
    /// <returns>The merged state.</returns>
    /// <exception cref="InvalidDataException">A file is invalid, has other classes, or repeats an image of an earlier file.</exception>
    public static MetricState MergeStates(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        MetricState? merged = null;
        foreach (var path in paths)
        {
            var state = LoadState(path, merged?.ClassNames);
            if (merged is null) { merged = state; continue; }
            try { merged.Accumulator.Merge(state.Accumulator); }
            catch (ArgumentException e) { throw new InvalidDataException($"Metric state file '{path}': {e.Message}", e); }
        }
        return merged ?? throw new ArgumentException("MetricsJson.MergeStates: no files given.");
    }

    private static MetricState ReadState(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.GetString() != StateFormat)
            throw new InvalidDataException($"not a metric state file (no \"format\": \"{StateFormat}\")");
        int version = Get(root, "version", "the file").GetInt32();
        if (version != StateVersion) throw new InvalidDataException($"state version {version}; this build reads version {StateVersion}");
        int k = Get(root, "numClasses", "the file").GetInt32();
        var names = Get(root, "classNames", "the file").EnumerateArray().Select(e => e.GetString() ?? throw new InvalidDataException("a class name is null")).ToArray();
        if (k < 1 || names.Length != k) throw new InvalidDataException($"{names.Length} class names for numClasses {k}");
        CheckNames(names, k);
        var small = new Dictionary<string, SmallObjectRecord>(StringComparer.Ordinal);
        foreach (var e in Get(root, "smallObjects", "the file").EnumerateArray())
        {
            const string what = "a small-object record";
            var s = SmallObjectRecord.FromComponents(Get(e, "id", what).GetString() ?? "", Get(e, "width", what).GetInt32(), Get(e, "height", what).GetInt32(), k,
                IntArray(e, "class"), IntArray(e, "area"), IntArray(e, "hits"));
            if (!small.TryAdd(s.Id, s)) throw new InvalidDataException($"small-object record '{s.Id}' appears twice");
        }
        var acc = new MetricAccumulator(k);
        int index = 0;
        foreach (var e in Get(root, "images", "the file").EnumerateArray())
        {
            string id = Get(e, "id", $"image {index}").GetString() ?? throw new InvalidDataException($"image {index} has a null id");
            long[] tp = LongArray(e, "tp"), fp = LongArray(e, "fp"), fn = LongArray(e, "fn");
            if (tp.Length != k) throw new InvalidDataException($"image '{id}' has {tp.Length} classes; the file says {k}");
            var c = e.TryGetProperty("confusion", out var m)
                ? ImageConfusion.FromCountsAndMatrix(id, tp, fp, fn, m.EnumerateArray().Select(x => x.GetInt64()).ToArray())
                : ImageConfusion.FromCounts(id, tp, fp, fn);
            acc.Add(c, small.Remove(id, out var s) ? s : null);
            index++;
        }
        if (small.Count > 0) throw new InvalidDataException($"small-object record '{small.Keys.First()}' has no image record");
        return new MetricState(acc, names);
    }

    /// <summary>A property, or an InvalidDataException naming it and its owner.</summary>
    private static JsonElement Get(JsonElement e, string key, string owner) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) ? v : throw new InvalidDataException($"{owner} has no \"{key}\"");

    private static long[] LongArray(JsonElement e, string key) => Get(e, key, "a record").EnumerateArray().Select(x => x.GetInt64()).ToArray();

    private static int[] IntArray(JsonElement e, string key) => Get(e, key, "a small-object record").EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static void Longs(Utf8JsonWriter w, string key, long[] values)
    {
        w.WriteStartArray(key);
        foreach (long v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void Ints(Utf8JsonWriter w, string key, ReadOnlySpan<int> values)
    {
        w.WriteStartArray(key);
        foreach (int v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
