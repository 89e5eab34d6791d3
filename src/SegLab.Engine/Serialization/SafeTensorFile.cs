// A loaded and fully validated safetensors file: its tensors in header order, and its metadata.
namespace SegLab.Engine.Serialization;

/// <summary>The contents of a safetensors file; the bytes are held once and converted per tensor on request.</summary>
public sealed class SafeTensorFile
{
    private readonly Dictionary<string, SafeTensorEntry> _byName;

    internal SafeTensorFile(string origin, IReadOnlyList<SafeTensorEntry> entries, IReadOnlyDictionary<string, string> metadata, long headerLength)
    {
        Origin = origin;
        Entries = entries;
        Metadata = metadata;
        HeaderLength = headerLength;
        _byName = new Dictionary<string, SafeTensorEntry>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries) _byName.Add(e.Name, e);
    }

    /// <summary>File path, or a description of the stream or buffer it was read from.</summary>
    public string Origin { get; }

    /// <summary>The tensors, in the order the JSON header lists them.</summary>
    public IReadOnlyList<SafeTensorEntry> Entries { get; }

    /// <summary>The "__metadata__" string map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length of the JSON header in bytes, padding included (the file's first 8 bytes).</summary>
    public long HeaderLength { get; }

    /// <summary>Number of tensors.</summary>
    public int Count => Entries.Count;

    /// <summary>Tensor names in header order.</summary>
    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>The tensor called <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> naming the file otherwise.</summary>
    /// <param name="name">Tensor name.</param>
    public SafeTensorEntry this[string name] => _byName.TryGetValue(name, out var e)
        ? e
        : throw new KeyNotFoundException($"safetensors '{Origin}' has no tensor '{name}' ({Count} tensors).");

    /// <summary>Whether a tensor of that name exists.</summary>
    /// <param name="name">Tensor name.</param>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks up a tensor by name.</summary>
    /// <param name="name">Tensor name.</param>
    /// <param name="entry">The tensor, when found.</param>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafeTensorEntry entry) =>
        _byName.TryGetValue(name, out entry);

    /// <summary>Every tensor converted with <see cref="SafeTensorEntry.ToTensor"/>, keyed by name (a state dict).</summary>
    /// <param name="dtype">Element type of the results.</param>
    public Dictionary<string, Tensor> ToTensors(DType dtype = DType.Float32)
    {
        var d = new Dictionary<string, Tensor>(Count, StringComparer.Ordinal);
        foreach (var e in Entries) d.Add(e.Name, e.ToTensor(dtype));
        return d;
    }

    /// <summary>
    /// A module's weights as float32 tensors (for <c>Module.LoadStateDict</c>): every entry must be floating point,
    /// except BatchNorm's integer step counters (names ending in ".num_batches_tracked"), so that integers or booleans
    /// in the place of a weight are an error and never silently become weights.
    /// </summary>
    public Dictionary<string, Tensor> ToStateDict()
    {
        foreach (var e in Entries)
            if (e.DType.IsInteger() && !e.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
                throw new SafeTensorsException(Origin, e.Name, $"dtype {e.DType.HeaderName()} is not floating point: weights must be F16, BF16, F32 or F64.");
        return ToTensors();
    }
}
