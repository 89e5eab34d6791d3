// The safetensors format (huggingface/safetensors): load with full validation, save atomically.
// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets}, "__metadata__": {..}}
// padded with spaces, then the data buffer; offsets are relative to the buffer. Little-endian hosts only.
namespace SegLab.Engine.Serialization;

/// <summary>Reads and writes safetensors files.</summary>
public static class SafeTensors
{
    /// <summary>Reads and validates a safetensors file (read once into memory).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="SafeTensorsException">The file is malformed; the message names the file and the problem.</exception>
    public static SafeTensorFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        long length = info.Exists ? info.Length : 0;
        if (length > Array.MaxLength)
            throw new SafeTensorsException(path, null, $"the file is {length} bytes; SegLab reads safetensors files of at most {Array.MaxLength} bytes.");
        return SafeTensorsReader.Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads and validates safetensors data from the current position of a stream to its end.</summary>
    /// <param name="stream">The stream; it is read to the end, not closed.</param>
    /// <param name="origin">Name used in error messages (a path or description).</param>
    public static SafeTensorFile Load(Stream stream, string origin = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        long remaining = stream.CanSeek ? Math.Max(0, stream.Length - stream.Position) : 0;
        if (remaining > Array.MaxLength)
            throw new SafeTensorsException(origin, null, $"the stream holds {remaining} bytes; SegLab reads safetensors data of at most {Array.MaxLength} bytes.");
        using var ms = new MemoryStream((int)remaining);
        stream.CopyTo(ms);
        byte[] bytes = ms.Capacity == ms.Length ? ms.GetBuffer() : ms.ToArray();
        return SafeTensorsReader.Parse(bytes, origin);
    }

    /// <summary>Reads and validates safetensors data from a byte array (kept, not copied: do not modify it afterwards).</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="origin">Name used in error messages.</param>
    public static SafeTensorFile Load(byte[] bytes, string origin = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return SafeTensorsReader.Parse(bytes, origin);
    }

    /// <summary>
    /// Writes tensors atomically: to a temporary file in the same directory, flushed to disk, then moved over
    /// <paramref name="path"/>; on any failure the temporary file is deleted and an existing file is left as it was.
    /// Float32 tensors are stored as F32 and float64 tensors as F64. Layout order: see <see cref="Serialize(Stream, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string}?)"/>.
    /// </summary>
    /// <param name="path">Destination file; its directory must exist.</param>
    /// <param name="tensors">Named tensors; names must be unique and not "__metadata__".</param>
    /// <param name="metadata">Optional string metadata, stored as "__metadata__".</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        string full = Path.GetFullPath(path);
        IO.AtomicFile.Write(full, fs => SafeTensorsWriter.Write(fs, tensors, metadata, full));
    }

    /// <summary>The bytes of a safetensors file holding <paramref name="tensors"/> (see <see cref="Save"/>).</summary>
    /// <param name="tensors">Named tensors.</param>
    /// <param name="metadata">Optional string metadata.</param>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var ms = new MemoryStream();
        Serialize(ms, tensors, metadata);
        return ms.ToArray();
    }

    /// <summary>
    /// Writes a safetensors file to a stream. The header lists "__metadata__" first (keys in ordinal order), then
    /// the tensors in data order; the header is padded with spaces to a multiple of 8 bytes. Data order is the
    /// reference writer's: by element size, largest first (F64 before F32), then by name (ordinal), so that every
    /// tensor starts at an offset that is a multiple of its element size. Loading returns the tensors in this order.
    /// </summary>
    /// <param name="stream">Destination; written from its current position, not closed.</param>
    /// <param name="tensors">Named tensors; names must be unique and not "__metadata__".</param>
    /// <param name="metadata">Optional string metadata.</param>
    public static void Serialize(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        SafeTensorsWriter.Write(stream, tensors, metadata, "<stream>");
    }

    /// <summary>Refuses big-endian hosts: the format and the conversion code are little-endian.</summary>
    internal static void RequireLittleEndian(string origin, bool isLittleEndian)
    {
        if (!isLittleEndian)
            throw new SafeTensorsException(origin, null, "this host is big-endian; SegLab reads and writes safetensors (a little-endian format) on little-endian hosts only.");
    }
}
