// Every validation rule of the safetensors reader, each with a hand-corrupted file loaded by path (the message must
// name the file, the problem and the tensor), plus a truncation sweep and a seeded byte-mutation fuzz loop.
using System.Text;
using SegLab.Engine.Serialization;
using Xunit.Abstractions;
using static SegLab.Engine.Tests.Serialization.SafeTensorsTestData;

namespace SegLab.Engine.Tests.Serialization;

public class SafeTensorsValidationTests(ITestOutputHelper output)
{
    private const string F32x1 = "\"dtype\":\"F32\",\"shape\":[1]";

    /// <summary>(case, file bytes, fragment the message must contain, tensor the error must name or null).</summary>
    public static TheoryData<string, byte[], string, string?> Corrupt()
    {
        byte[] four = new byte[4], eight = new byte[8], twelve = new byte[12];
        string One(string name, string begin_end) => $"\"{name}\":{{{F32x1},\"data_offsets\":[{begin_end}]}}";
        var d = new TheoryData<string, byte[], string, string?>
        {
            { "empty file", [], "shorter than the 8-byte header length", null },
            { "7 bytes", new byte[7], "7 bytes long, shorter than the 8-byte", null },
            { "header over the limit", Build("{}", [], 100_000_001), "more than the limit of 100000000", null },
            { "header length past the end", Build("{}", [], 100), "only 2 bytes follow", null },
            { "header length u64 max", Build("{}", [], ulong.MaxValue), "more than the limit", null },
            { "empty header", Build("", []), "header is empty", null },
            { "header not starting with '{'", Build(" {}", []), "must start with '{'", null },
            { "header is an array", Build("[1,2]", []), "must start with '{', but starts with byte 0x5B", null },
            { "BOM before '{'", Build([0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}'], []), "must start with '{'", null },
            { "invalid UTF-8", Build([(byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []), "not valid UTF-8", null },
            { "not JSON", Build("{\"a\": }", []), "not valid JSON", null },
            { "unterminated object", Build("{\"a\":{\"dtype\":\"F32\"", []), "not valid JSON", null },
            { "trailing garbage", Build("{} x", []), "not valid JSON", null },
            { "trailing comma", Build("{" + One("a", "0,4") + ",}", four), "not valid JSON", null },
            { "comment", Build("{/*c*/}", []), "not valid JSON", null },
            { "lone surrogate in a name", Build("{\"\\ud800\":{" + F32x1 + ",\"data_offsets\":[0,4]}}", four), "invalid JSON string", null },
            { "entry not an object", Build("{\"a\":5}", []), "must be an object with dtype, shape and data_offsets", "a" },
            { "missing dtype", Build("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", four), "has no dtype", "a" },
            { "missing shape", Build("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", four), "has no shape", "a" },
            { "missing data_offsets", Build("{\"a\":{" + F32x1 + "}}", four), "has no data_offsets", "a" },
            { "dtype not a string", Build("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", four), "dtype must be a string", "a" },
            { "unknown dtype", Build("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "unknown dtype 'F33'", "a" },
            { "lower-case dtype", Build("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "unknown dtype 'f32'", "a" },
            { "sub-byte dtype", Build("{\"a\":{\"dtype\":\"F4\",\"shape\":[8],\"data_offsets\":[0,4]}}", four), "sub-byte", "a" },
            { "shape not an array", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", four), "shape must be an array", "a" },
            { "negative dimension", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", four), "shape has a negative value -1", "a" },
            { "fractional dimension", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", four), "shape value 1.5 is not an integer", "a" },
            { "string dimension", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", four), "shape must hold non-negative integers, but has a string", "a" },
            { "dimension above int", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,3000000000],\"data_offsets\":[0,0]}}", []), "shape dimension 3000000000 is larger than", "a" },
            { "dimension above u64", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}", four), "not an integer", "a" },
            { "element count overflow", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}", four), "element count of shape [2147483647, 2147483647, 2147483647] overflows", "a" },
            { "byte size overflow", Build("{\"a\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647],\"data_offsets\":[0,4]}}", four), "byte size of shape", "a" },
            { "offsets not an array", Build("{\"a\":{" + F32x1 + ",\"data_offsets\":4}}", four), "data_offsets must be [begin, end]", "a" },
            { "one offset", Build("{\"a\":{" + F32x1 + ",\"data_offsets\":[4]}}", four), "has 1 values", "a" },
            { "three offsets", Build("{\"a\":{" + F32x1 + ",\"data_offsets\":[0,4,8]}}", four), "has 3 values", "a" },
            { "negative offset", Build("{\"a\":{" + F32x1 + ",\"data_offsets\":[-4,0]}}", four), "data_offsets has a negative value -4", "a" },
            { "offset above i64", Build("{\"a\":{" + F32x1 + ",\"data_offsets\":[0,18446744073709551615]}}", four), "is too large", "a" },
            { "null offset", Build("{\"a\":{" + F32x1 + ",\"data_offsets\":[0,null]}}", four), "non-negative integers, but has null", "a" },
            { "begin after end", Build("{\"a\":{" + F32x1 + ",\"data_offsets\":[8,4]}}", eight), "begin > end", "a" },
            { "size mismatch", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", four), "hold 4 bytes, but shape [2] of F32 needs 2 x 4 = 8 bytes", "a" },
            { "size mismatch for the dtype", Build("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "needs 1 x 8 = 8 bytes", "a" },
            { "hole at the start", Build("{" + One("a", "4,8") + "}", eight), "hole of 4 unused bytes at the start", "a" },
            { "hole between tensors", Build("{" + One("a", "0,4") + "," + One("b", "8,12") + "}", twelve), "hole of 4 unused bytes after tensor 'a'", "b" },
            { "overlap", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," + One("b", "4,8") + "}", eight), "overlap tensor 'a'", "b" },
            { "same offsets twice", Build("{" + One("a", "0,4") + "," + One("b", "0,4") + "}", four), "overlap tensor 'a'", "b" },
            { "trailing bytes", Build("{" + One("a", "0,4") + "}", eight), "4 trailing bytes after the last tensor", null },
            { "data past the end", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", four), "beyond the end of the data buffer (4 bytes", "a" },
            { "no tensors but data", Build("{}", four), "4 trailing bytes", null },
            { "duplicate tensor", Build("{" + One("a", "0,4") + "," + One("a", "4,8") + "}", eight), "duplicate key 'a' in the JSON header", null },
            { "duplicate field", Build("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "duplicate key 'dtype' in the header entry", "a" },
            { "duplicate metadata", Build("{\"__metadata__\":{},\"__metadata__\":{}}", []), "duplicate key '__metadata__'", null },
            { "duplicate metadata key", Build("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", []), "duplicate key 'k' in __metadata__", null },
            { "metadata value a number", Build("{\"__metadata__\":{\"epoch\":800}}", []), "__metadata__ value of 'epoch' must be a string, but is a number", null },
            { "metadata value an object", Build("{\"__metadata__\":{\"x\":{}}}", []), "must be a string, but is an object", null },
            { "metadata not an object", Build("{\"__metadata__\":[\"a\"]}", []), "__metadata__ must be an object", null },
            { "deep nesting", Build("{\"a\":{\"dtype\":\"F32\",\"x\":" + new string('[', 100) + new string(']', 100) + "}}", []), "not valid JSON", null },
        };
        return d;
    }

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void SafeTensors_CorruptFile_ThrowsNamingFileProblemAndTensor(string what, byte[] file, string fragment, string? tensor)
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "corrupt.safetensors");
            File.WriteAllBytes(path, file);
            var ex = Assert.Throws<SafeTensorsException>(() => SafeTensors.Load(path));
            Assert.True(ex.Message.Contains(path, StringComparison.Ordinal), $"{what}: message does not name the file: {ex.Message}");
            Assert.True(ex.Message.Contains(fragment, StringComparison.Ordinal), $"{what}: expected '{fragment}' in: {ex.Message}");
            Assert.Equal(path, ex.Origin);
            Assert.Equal(tensor, ex.TensorName);
            if (tensor is not null) Assert.Contains($"tensor '{tensor}'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SafeTensors_HeaderPaddingAndUnknownFields_AreAccepted()
    {
        var f = SafeTensors.Load(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":{\"x\":[1,2]}}}        ", Bytes(2.5f)));
        Assert.Equal(2.5f, f["a"].ToTensor().Span[0]);
        Assert.Empty(f.Metadata);

        var empty = SafeTensors.Load(Build("{}      ", []));
        Assert.Equal(0, empty.Count);
        Assert.Empty(SafeTensors.Load(Build("{\"__metadata__\":null}", [])).Metadata);
    }

    [Fact]
    public void SafeTensors_ZeroSizedTensors_MayShareAnOffset()
    {
        var f = SafeTensors.Load(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"c\":{\"dtype\":\"I64\",\"shape\":[2,0],\"data_offsets\":[4,4]}}",
            Bytes(1f)));
        Assert.Equal(["a", "b", "c"], f.Names);
        Assert.Equal(0, f["c"].ToTensor().Numel);
    }

    [Fact]
    public void SafeTensors_BigEndianHost_IsRefused()
    {
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensors.RequireLittleEndian("x.safetensors", isLittleEndian: false));
        Assert.Contains("x.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("big-endian", ex.Message, StringComparison.Ordinal);
        SafeTensors.RequireLittleEndian("x.safetensors", isLittleEndian: true);
    }

    [Fact]
    public void SafeTensors_EveryTruncatedPrefix_ThrowsSafeTensorsException()
    {
        byte[] valid = SmallValid();
        Assert.Equal(4, SafeTensors.Load(valid).Count);
        for (int k = 0; k < valid.Length; k++)
        {
            byte[] prefix = valid[..k];
            var ex = Record.Exception(() => SafeTensors.Load(prefix, "prefix.safetensors"));
            Assert.True(ex is SafeTensorsException, $"prefix of {k} bytes gave {ex?.GetType().Name ?? "no exception"}: {ex?.Message}");
            Assert.Contains("prefix.safetensors", ex!.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SafeTensors_RandomByteMutations_LoadOrThrowSafeTensorsException()
    {
        byte[] valid = SmallValid();
        byte[] interesting = Encoding.ASCII.GetBytes("{}[]\",:-0123456789 .eE\\uF").Concat(new byte[] { 0, 0x80, 0xFF }).ToArray();
        var rng = new Random(20240611);
        int loaded = 0, rejected = 0;
        for (int iter = 0; iter < 5000; iter++)
        {
            byte[] m = (byte[])valid.Clone();
            int flips = 1 + rng.Next(3);
            for (int j = 0; j < flips; j++)
            {
                int pos = rng.Next(m.Length);
                m[pos] = rng.Next(3) switch
                {
                    0 => (byte)(m[pos] ^ (1 << rng.Next(8))),
                    1 => interesting[rng.Next(interesting.Length)],
                    _ => (byte)rng.Next(256),
                };
            }
            try
            {
                var f = SafeTensors.Load(m, "fuzz");
                foreach (var e in f.Entries)
                {
                    _ = e.ToTensor();
                    _ = e.ToTensor(DType.Float64);
                    if (e.DType.IsInteger()) _ = e.ToInt64();
                }
                loaded++;
            }
            catch (SafeTensorsException)
            {
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"mutation {iter} threw {ex.GetType().Name} instead of SafeTensorsException: {ex.Message}\nfile: {Convert.ToHexString(m)}");
            }
        }
        output.WriteLine($"{loaded} mutations loaded, {rejected} rejected with SafeTensorsException");
        Assert.True(loaded > 0 && rejected > 0, $"loaded {loaded}, rejected {rejected}");
    }

    [Fact]
    public void A_state_dict_takes_floating_point_weights_and_integer_step_counters_only()
    {
        byte[] four = new byte[4], eight = new byte[8];
        var ok = SafeTensors.Load(Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]}}", [.. four, .. eight]), "ok.safetensors");
        Assert.Equal(["bn.num_batches_tracked", "w"], ok.ToStateDict().Keys.Order(StringComparer.Ordinal));
        var bad = SafeTensors.Load(Build("{\"conv.weight\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "bad.safetensors");
        var e = Assert.Throws<SafeTensorsException>(() => bad.ToStateDict());
        Assert.Contains("bad.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("conv.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("I32 is not floating point", e.Message, StringComparison.Ordinal);
    }
}
