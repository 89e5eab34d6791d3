// Hand-built safetensors byte arrays for the serialization tests: a header (JSON text or raw bytes) and a data buffer.
using System.Buffers.Binary;
using System.Text;

namespace SegLab.Engine.Tests.Serialization;

internal static class SafeTensorsTestData
{
    /// <summary>8-byte length + header + data; <paramref name="lengthField"/> overrides the length field.</summary>
    public static byte[] Build(string headerJson, byte[] data, ulong? lengthField = null) =>
        Build(Encoding.UTF8.GetBytes(headerJson), data, lengthField);

    public static byte[] Build(byte[] header, byte[] data, ulong? lengthField = null)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, lengthField ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    /// <summary>Little-endian bytes of a sequence of values.</summary>
    public static byte[] Bytes<T>(params T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>A small valid file: metadata, an F32 [2,2], an I64 rank-0 and an empty F16 [0,3] tensor.</summary>
    public static byte[] SmallValid()
    {
        const string header = """{"__metadata__":{"format":"pt","k":"v"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"n":{"dtype":"I64","shape":[],"data_offsets":[16,24]},"e":{"dtype":"F16","shape":[0,3],"data_offsets":[24,24]},"h":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]}}    """;
        var data = Bytes(1f, -2f, 0.5f, 3f).Concat(Bytes(7L)).Concat(Bytes<ushort>(0x3F80, 0xC040)).ToArray();
        return Build(header, data);
    }

    /// <summary>A fresh empty directory under the system temp folder.</summary>
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "seglab-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
