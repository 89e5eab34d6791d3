// Element types of the safetensors format (huggingface/safetensors, "dtype" in the JSON header), their
// spelling in the header and their size in bytes. Sub-byte types (F4, F6_*) are not supported.
namespace SegLab.Engine.Serialization;

/// <summary>An element type of the safetensors format; the header spelling is given per member.</summary>
public enum SafeTensorDType
{
    /// <summary>"BOOL": one byte, 0 or 1.</summary>
    Bool,

    /// <summary>"U8": unsigned 8-bit integer.</summary>
    U8,

    /// <summary>"I8": signed 8-bit integer.</summary>
    I8,

    /// <summary>"F8_E5M2": 8-bit float, 5 exponent and 2 mantissa bits (the top byte of an IEEE half).</summary>
    F8E5M2,

    /// <summary>"F8_E4M3": 8-bit float, 4 exponent and 3 mantissa bits, finite only (E4M3FN), NaN at 0x7F/0xFF.</summary>
    F8E4M3,

    /// <summary>"F8_E8M0": 8-bit unsigned power of two, 2^(e-127), NaN at 0xFF.</summary>
    F8E8M0,

    /// <summary>"I16": signed 16-bit integer.</summary>
    I16,

    /// <summary>"U16": unsigned 16-bit integer.</summary>
    U16,

    /// <summary>"F16": IEEE 754 half precision.</summary>
    F16,

    /// <summary>"BF16": bfloat16, the top half of a float32.</summary>
    BF16,

    /// <summary>"I32": signed 32-bit integer.</summary>
    I32,

    /// <summary>"U32": unsigned 32-bit integer.</summary>
    U32,

    /// <summary>"F32": IEEE 754 single precision.</summary>
    F32,

    /// <summary>"C64": complex of two float32 (read and validated, not convertible to a real tensor).</summary>
    C64,

    /// <summary>"F64": IEEE 754 double precision.</summary>
    F64,

    /// <summary>"I64": signed 64-bit integer (PyTorch's long, e.g. BatchNorm's num_batches_tracked).</summary>
    I64,

    /// <summary>"U64": unsigned 64-bit integer.</summary>
    U64,
}

/// <summary>Header spellings and sizes of <see cref="SafeTensorDType"/>.</summary>
public static class SafeTensorDTypes
{
    private static readonly (SafeTensorDType Type, string Name, int Size)[] Table =
    [
        (SafeTensorDType.Bool, "BOOL", 1), (SafeTensorDType.U8, "U8", 1), (SafeTensorDType.I8, "I8", 1),
        (SafeTensorDType.F8E5M2, "F8_E5M2", 1), (SafeTensorDType.F8E4M3, "F8_E4M3", 1), (SafeTensorDType.F8E8M0, "F8_E8M0", 1),
        (SafeTensorDType.I16, "I16", 2), (SafeTensorDType.U16, "U16", 2), (SafeTensorDType.F16, "F16", 2),
        (SafeTensorDType.BF16, "BF16", 2), (SafeTensorDType.I32, "I32", 4), (SafeTensorDType.U32, "U32", 4),
        (SafeTensorDType.F32, "F32", 4), (SafeTensorDType.C64, "C64", 8), (SafeTensorDType.F64, "F64", 8),
        (SafeTensorDType.I64, "I64", 8), (SafeTensorDType.U64, "U64", 8),
    ];

    /// <summary>The spellings accepted in a header, for error messages.</summary>
    public static string KnownNames => string.Join(", ", Table.Select(t => t.Name));

    /// <summary>The header spelling, e.g. "F32" or "F8_E4M3".</summary>
    /// <param name="dtype">The type.</param>
    public static string HeaderName(this SafeTensorDType dtype) => Table[Index(dtype)].Name;

    /// <summary>Size of one element in bytes.</summary>
    /// <param name="dtype">The type.</param>
    public static int ByteSize(this SafeTensorDType dtype) => Table[Index(dtype)].Size;

    /// <summary>True for the integer and boolean types (those <see cref="SafeTensorEntry.ToInt64"/> reads).</summary>
    /// <param name="dtype">The type.</param>
    public static bool IsInteger(this SafeTensorDType dtype) => dtype is SafeTensorDType.Bool or SafeTensorDType.U8
        or SafeTensorDType.I8 or SafeTensorDType.I16 or SafeTensorDType.U16 or SafeTensorDType.I32
        or SafeTensorDType.U32 or SafeTensorDType.I64 or SafeTensorDType.U64;

    /// <summary>Parses a header spelling (case-sensitive, as the format is).</summary>
    /// <param name="name">The spelling.</param>
    /// <param name="dtype">The type, when known.</param>
    public static bool TryParse(string name, out SafeTensorDType dtype)
    {
        foreach (var t in Table)
        {
            if (string.Equals(t.Name, name, StringComparison.Ordinal))
            {
                dtype = t.Type;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    private static int Index(SafeTensorDType dtype) =>
        (uint)dtype < (uint)Table.Length ? (int)dtype : throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype.");
}
