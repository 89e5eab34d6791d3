// Conversion of little-endian safetensors element bytes to float32, float64 and int64 arrays.
// F32 and F64 are plain copies, F16 goes through TensorPrimitives (vectorised), BF16 is a 16-bit shift;
// every conversion is exact except narrowing (F64, I32/I64/U32/U64 beyond 2^24 to float32).
using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SegLab.Engine.Serialization;

/// <summary>Element conversions; the source spans hold little-endian elements of <c>dtype</c>, possibly unaligned.</summary>
internal static class SafeTensorConvert
{
    /// <summary>Converts to float32; false for types that have no real value (C64).</summary>
    public static bool ToSingle(SafeTensorDType dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (dtype)
        {
            case SafeTensorDType.F32: src.CopyTo(MemoryMarshal.AsBytes(dst)); return true;
            case SafeTensorDType.F16: TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst); return true;
            case SafeTensorDType.BF16:
            {
                var h = MemoryMarshal.Cast<byte, ushort>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.UInt32BitsToSingle((uint)h[i] << 16);
                return true;
            }
            case SafeTensorDType.F64:
            {
                var d = MemoryMarshal.Cast<byte, double>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)d[i];
                return true;
            }
            case SafeTensorDType.F8E5M2:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf((ushort)(src[i] << 8));
                return true;
            case SafeTensorDType.F8E4M3:
                for (int i = 0; i < dst.Length; i++) dst[i] = F8E4M3(src[i]);
                return true;
            case SafeTensorDType.F8E8M0:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)F8E8M0(src[i]);
                return true;
            case SafeTensorDType.C64:
                return false;
            case SafeTensorDType.I64:
            {
                var l = MemoryMarshal.Cast<byte, long>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = l[i];
                return true;
            }
            case SafeTensorDType.U64:
            {
                var u = MemoryMarshal.Cast<byte, ulong>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = u[i];
                return true;
            }
            default:
                // The remaining integers have at most 32 bits: exact in double, so one rounding to float.
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)IntegerAsDouble(dtype, src, i);
                return true;
        }
    }

    /// <summary>Converts to float64 (exact for every float type); false for C64.</summary>
    public static bool ToDouble(SafeTensorDType dtype, ReadOnlySpan<byte> src, Span<double> dst)
    {
        switch (dtype)
        {
            case SafeTensorDType.F64: src.CopyTo(MemoryMarshal.AsBytes(dst)); return true;
            case SafeTensorDType.C64: return false;
            case SafeTensorDType.F8E8M0:
                for (int i = 0; i < dst.Length; i++) dst[i] = F8E8M0(src[i]);
                return true;
            default:
                if (dtype.IsInteger())
                {
                    for (int i = 0; i < dst.Length; i++) dst[i] = IntegerAsDouble(dtype, src, i);
                    return true;
                }
                // Every remaining float type is exactly representable in float32.
                float[] tmp = new float[dst.Length];
                ToSingle(dtype, src, tmp);
                for (int i = 0; i < dst.Length; i++) dst[i] = tmp[i];
                return true;
        }
    }

    /// <summary>Reads integer (or BOOL) elements as int64; the index of the first U64 value above long.MaxValue, or -1.</summary>
    public static int ToInt64(SafeTensorDType dtype, ReadOnlySpan<byte> src, Span<long> dst)
    {
        switch (dtype)
        {
            case SafeTensorDType.I64: src.CopyTo(MemoryMarshal.AsBytes(dst)); return -1;
            case SafeTensorDType.U64:
            {
                var u = MemoryMarshal.Cast<byte, ulong>(src);
                for (int i = 0; i < dst.Length; i++)
                {
                    if (u[i] > long.MaxValue) return i;
                    dst[i] = (long)u[i];
                }
                return -1;
            }
            default:
                for (int i = 0; i < dst.Length; i++) dst[i] = (long)IntegerAsDouble(dtype, src, i);
                return -1;
        }
    }

    /// <summary>Integer element <paramref name="i"/> as double (exact up to 2^53; I64/U64 round beyond).</summary>
    private static double IntegerAsDouble(SafeTensorDType dtype, ReadOnlySpan<byte> src, int i) => dtype switch
    {
        SafeTensorDType.Bool or SafeTensorDType.U8 => src[i],
        SafeTensorDType.I8 => (sbyte)src[i],
        SafeTensorDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]),
        SafeTensorDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]),
        SafeTensorDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(src[(4 * i)..]),
        SafeTensorDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]),
        SafeTensorDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(src[(8 * i)..]),
        SafeTensorDType.U64 => BinaryPrimitives.ReadUInt64LittleEndian(src[(8 * i)..]),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not an integer safetensors dtype."),
    };

    /// <summary>F8_E4M3 (E4M3FN): bias 7, no infinities, S.1111.111 is NaN.</summary>
    private static float F8E4M3(byte b)
    {
        int e = (b >> 3) & 0xF, m = b & 7;
        float sign = (b & 0x80) != 0 ? -1f : 1f;
        if (e == 0xF && m == 7) return float.NaN;
        return e == 0 ? sign * m * (1f / 512f) : sign * (1f + m / 8f) * MathF.ScaleB(1f, e - 7);
    }

    /// <summary>F8_E8M0: 2^(b-127), 0xFF is NaN.</summary>
    private static double F8E8M0(byte b) => b == 0xFF ? double.NaN : Math.ScaleB(1.0, b - 127);
}
