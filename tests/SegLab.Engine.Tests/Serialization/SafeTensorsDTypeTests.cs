// Reading every supported dtype from hand-built little-endian bytes with known values: F16 (subnormals, infinities),
// BF16 (exact, a 16-bit shift), F64 (kept exact as float64 or narrowed), integers (exact as int64), F8 variants.
using SegLab.Engine.Serialization;
using static SegLab.Engine.Tests.Serialization.SafeTensorsTestData;

namespace SegLab.Engine.Tests.Serialization;

public class SafeTensorsDTypeTests
{
    private static SafeTensorEntry One(string dtype, int[] shape, byte[] data)
    {
        string header = $"{{\"t\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[0,{data.Length}]}}}}";
        var f = SafeTensors.Load(Build(header, data));
        return f["t"];
    }

    private static void AssertBits(float expected, float actual, string what)
    {
        if (float.IsNaN(expected)) Assert.True(float.IsNaN(actual), $"{what}: expected NaN, got {actual}");
        else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual), $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Fact]
    public void SafeTensors_F16_KnownValues_IncludingSubnormalsAndInfinities()
    {
        (ushort Bits, float Value)[] cases =
        [
            (0x3C00, 1f), (0xC000, -2f), (0x7BFF, 65504f), (0x3555, 0.333251953125f),
            (0x0001, MathF.ScaleB(1f, -24)), (0x03FF, 1023 * MathF.ScaleB(1f, -24)), (0x0400, MathF.ScaleB(1f, -14)),
            (0x7C00, float.PositiveInfinity), (0xFC00, float.NegativeInfinity), (0x8000, -0f), (0x0000, 0f), (0x7E00, float.NaN),
        ];
        var e = One("F16", [2, 6], Bytes(cases.Select(c => c.Bits).ToArray()));
        Assert.Equal(SafeTensorDType.F16, e.DType);
        var t = e.ToTensor();
        Assert.Equal([2, 6], t.ShapeArray());
        for (int i = 0; i < cases.Length; i++) AssertBits(cases[i].Value, t.Span[i], $"F16 0x{cases[i].Bits:X4}");
        var t64 = e.ToTensor(DType.Float64);
        Assert.Equal(DType.Float64, t64.DType);
        Assert.Equal(Math.ScaleB(1.0, -24), t64.SpanF64[4]);
    }

    [Fact]
    public void SafeTensors_F16_AllBitPatterns_MatchScalarConversion()
    {
        var bits = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();
        var t = One("F16", [65536], Bytes(bits)).ToTensor();
        for (int i = 0; i < bits.Length; i++) AssertBits((float)BitConverter.UInt16BitsToHalf(bits[i]), t.Span[i], $"F16 0x{i:X4}");
    }

    [Fact]
    public void SafeTensors_BF16_IsTheTopHalfOfFloat32_WithoutRounding()
    {
        (ushort Bits, float Value)[] cases =
        [
            (0x3F80, 1f), (0xC040, -3f), (0x4049, 3.140625f), (0x7F80, float.PositiveInfinity), (0xFF80, float.NegativeInfinity),
            (0x0001, BitConverter.Int32BitsToSingle(0x00010000)), (0x8000, -0f), (0x7F7F, BitConverter.Int32BitsToSingle(0x7F7F0000)),
        ];
        var t = One("BF16", [cases.Length], Bytes(cases.Select(c => c.Bits).ToArray())).ToTensor();
        for (int i = 0; i < cases.Length; i++) AssertBits(cases[i].Value, t.Span[i], $"BF16 0x{cases[i].Bits:X4}");

        var all = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();
        var ta = One("BF16", [256, 256], Bytes(all)).ToTensor();
        for (int i = 0; i < all.Length; i++) AssertBits(BitConverter.UInt32BitsToSingle((uint)i << 16), ta.Span[i], $"BF16 0x{i:X4}");
    }

    [Fact]
    public void SafeTensors_F64_KeptExactOrNarrowedToFloat32()
    {
        double[] v = [1.0 / 3, 1e300, -0.0, double.Epsilon, -123.456];
        var e = One("F64", [5], Bytes(v));
        Assert.Equal(v, e.ToTensor(DType.Float64).ToArrayF64());
        var t = e.ToTensor();
        Assert.Equal(DType.Float32, t.DType);
        for (int i = 0; i < v.Length; i++) AssertBits((float)v[i], t.Span[i], $"F64 {v[i]}");
    }

    [Fact]
    public void SafeTensors_I64_ExactIntegers_AndRankZeroNumBatchesTracked()
    {
        long[] v = [0, -1, long.MaxValue, long.MinValue, 46400];
        var e = One("I64", [5], Bytes(v));
        Assert.Equal(v, e.ToInt64());
        Assert.Equal([0f, -1f, 9.223372E+18f, -9.223372E+18f, 46400f], e.ToTensor().ToArray());

        var nbt = One("I64", [], Bytes(46400L));
        Assert.Equal(0, nbt.Rank);
        Assert.Equal(1, nbt.Numel);
        Assert.Equal([46400L], nbt.ToInt64());
        var t = nbt.ToTensor();
        Assert.Equal(0, t.Rank);
        Assert.Equal(46400.0, t.Item());
        Assert.Equal("t", t.Name);
    }

    [Fact]
    public void SafeTensors_I32_AndOtherIntegers()
    {
        int[] v = [-5, 7, int.MaxValue, int.MinValue];
        var e = One("I32", [2, 2], Bytes(v));
        Assert.Equal(v.Select(x => (long)x).ToArray(), e.ToInt64());
        Assert.Equal(v.Select(x => (float)x).ToArray(), e.ToTensor().ToArray());
        Assert.Equal(v.Select(x => (double)x).ToArray(), e.ToTensor(DType.Float64).ToArrayF64());

        Assert.Equal([0L, 1L], One("BOOL", [2], [0, 1]).ToInt64());
        Assert.Equal([255L, 0L], One("U8", [2], [255, 0]).ToInt64());
        Assert.Equal([-128L, 127L], One("I8", [2], [0x80, 0x7F]).ToInt64());
        Assert.Equal([-32768L, 7L], One("I16", [2], Bytes<short>(short.MinValue, 7)).ToInt64());
        Assert.Equal([65535L], One("U16", [1], Bytes<ushort>(65535)).ToInt64());
        Assert.Equal([4294967295L], One("U32", [1], Bytes(uint.MaxValue)).ToInt64());
        Assert.Equal([4294967295f], One("U32", [1], Bytes(uint.MaxValue)).ToTensor().ToArray());
        Assert.Equal([(float)ulong.MaxValue], One("U64", [1], Bytes(ulong.MaxValue)).ToTensor().ToArray());
        var big = Assert.Throws<SafeTensorsException>(() => One("U64", [2], Bytes(1UL, ulong.MaxValue)).ToInt64());
        Assert.Contains("U64 element 1", big.Message, StringComparison.Ordinal);
        Assert.Equal("t", big.TensorName);
    }

    [Fact]
    public void SafeTensors_F8Types()
    {
        var e4 = One("F8_E4M3", [5], [0x38, 0x7E, 0x01, 0x7F, 0xB8]).ToTensor().ToArray();
        Assert.Equal(1f, e4[0]);
        Assert.Equal(448f, e4[1]);
        Assert.Equal(MathF.ScaleB(1f, -9), e4[2]);
        Assert.True(float.IsNaN(e4[3]));
        Assert.Equal(-1f, e4[4]);
        var e5 = One("F8_E5M2", [3], [0x3C, 0x7C, 0x01]).ToTensor().ToArray();
        Assert.Equal([1f, float.PositiveInfinity, MathF.ScaleB(1f, -16)], e5);
        var e8 = One("F8_E8M0", [3], [127, 130, 0xFF]).ToTensor().ToArray();
        Assert.Equal(1f, e8[0]);
        Assert.Equal(8f, e8[1]);
        Assert.True(float.IsNaN(e8[2]));
    }

    [Fact]
    public void SafeTensors_NonConvertibleTypes_GiveClearErrors()
    {
        var c = One("C64", [1], Bytes(1f, 2f));
        Assert.Equal(8, c.Bytes.Length);
        var ex = Assert.Throws<SafeTensorsException>(() => c.ToTensor());
        Assert.Contains("C64", ex.Message, StringComparison.Ordinal);
        var f = One("F32", [1], Bytes(1f));
        var io = Assert.Throws<InvalidOperationException>(() => f.ToInt64());
        Assert.Contains("F32", io.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensors_DTypeTable_IsConsistent()
    {
        foreach (var dt in Enum.GetValues<SafeTensorDType>())
        {
            Assert.True(SafeTensorDTypes.TryParse(dt.HeaderName(), out var back));
            Assert.Equal(dt, back);
            Assert.Contains(dt.ByteSize(), new[] { 1, 2, 4, 8 });
        }
        Assert.Equal(2, SafeTensorDType.BF16.ByteSize());
        Assert.Equal("F8_E4M3", SafeTensorDType.F8E4M3.HeaderName());
    }
}
