// Writing and reading back: F32/F64 values bit for bit (rank 0, empty, NaN, -0), metadata, the documented layout
// (element size descending, then name; header padded with spaces to 8 bytes), and atomic saves that never leave a
// half-written file or a temporary file behind.
using System.Buffers.Binary;
using SegLab.Engine.Nn;
using SegLab.Engine.Serialization;

namespace SegLab.Engine.Tests.Serialization;

public class SafeTensorsRoundTripTests
{
    private static Dictionary<string, Tensor> Sample() => new()
    {
        ["layer.weight"] = Tensor.FromArray([1f, -2.5f, float.NaN, -0f, float.PositiveInfinity, 1e-45f], 2, 3),
        ["scalar"] = Tensor.Scalar(3.25f),
        ["empty"] = Tensor.Zeros(0, 4),
        ["empty1d"] = Tensor.Zeros(0),
        ["ref.f64"] = Tensor.FromArray([1.0 / 3, -1e300, double.Epsilon], 3),
        ["a.f64.scalar"] = Tensor.FromArray([2.0], []),
        ["unicode \"名\"/+<>"] = Tensor.Ones(1, 1, 2),
    };

    private static void AssertSameBits(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        Assert.Equal(expected.DType, actual.DType);
        if (expected.DType == DType.Float32)
            Assert.Equal(expected.Span.ToArray().Select(BitConverter.SingleToUInt32Bits), actual.Span.ToArray().Select(BitConverter.SingleToUInt32Bits));
        else
            Assert.Equal(expected.SpanF64.ToArray().Select(BitConverter.DoubleToUInt64Bits), actual.SpanF64.ToArray().Select(BitConverter.DoubleToUInt64Bits));
    }

    [Fact]
    public void SafeTensors_RoundTrip_F32AndF64_RankZeroEmptyAndMetadata()
    {
        var tensors = Sample();
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"", ["empty"] = "" };
        var file = SafeTensors.Load(SafeTensors.Serialize(tensors, meta));

        Assert.Equal(tensors.Count, file.Count);
        Assert.Equal(meta, file.Metadata);
        foreach (var (name, t) in tensors)
        {
            var e = file[name];
            Assert.Equal(t.DType == DType.Float64 ? SafeTensorDType.F64 : SafeTensorDType.F32, e.DType);
            AssertSameBits(t, e.ToTensor(t.DType));
            Assert.Equal(name, e.ToTensor().Name);
        }
        Assert.Equal(0, file["scalar"].Rank);
        Assert.Equal(3.25, file["scalar"].ToTensor().Item());
        Assert.Equal((float)(1.0 / 3), file["ref.f64"].ToTensor().Span[0]);
        Assert.False(file.Contains("missing"));
        var ex = Assert.Throws<KeyNotFoundException>(() => file["missing"]);
        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensors_Layout_IsElementSizeThenName_HeaderPaddedTo8()
    {
        byte[] bytes = SafeTensors.Serialize(Sample(), new Dictionary<string, string> { ["k"] = "v" });
        var file = SafeTensors.Load(bytes);
        Assert.Equal(["a.f64.scalar", "ref.f64", "empty", "empty1d", "layer.weight", "scalar", "unicode \"名\"/+<>"], file.Names);
        Assert.Equal(0, file.HeaderLength % 8);
        Assert.Equal((ulong)file.HeaderLength, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal((byte)'{', bytes[8]);
        Assert.Equal("{\"__metadata__\":{\"k\":\"v\"},", System.Text.Encoding.UTF8.GetString(bytes, 8, 26));
        long expected = 0;
        foreach (var e in file.Entries)
        {
            Assert.Equal(expected, e.Begin);
            Assert.Equal(0, e.Begin % SafeTensorDTypes.ByteSize(e.DType));
            expected = e.End;
        }
        Assert.Equal(bytes.Length - 8 - file.HeaderLength, expected);
        // Same input, same bytes.
        Assert.Equal(bytes, SafeTensors.Serialize(Sample(), new Dictionary<string, string> { ["k"] = "v" }));
    }

    [Fact]
    public void SafeTensors_NoTensorsNoMetadata_IsAValidFile()
    {
        byte[] bytes = SafeTensors.Serialize([]);
        Assert.Equal(16, bytes.Length); // length + "{}" padded to 8
        var f = SafeTensors.Load(bytes);
        Assert.Equal(0, f.Count);
        Assert.Empty(f.Metadata);
    }

    [Fact]
    public void SafeTensors_Serialize_RejectsBadNames()
    {
        var t = Tensor.Ones(1);
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize([new("a", t), new("a", t)]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize([new("__metadata__", t)]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize([new("a", null!)]));
    }

    [Fact]
    public void SafeTensors_LoadFromStreamAndPath_AgreeWithBytes()
    {
        byte[] bytes = SafeTensors.Serialize(Sample());
        using var ms = new MemoryStream(bytes);
        var fromStream = SafeTensors.Load(ms, "mem");
        Assert.Equal("mem", fromStream.Origin);
        Assert.Equal(SafeTensors.Load(bytes).Names, fromStream.Names);

        string dir = SafeTensorsTestData.TempDir();
        try
        {
            string path = Path.Combine(dir, "m.safetensors");
            SafeTensors.Save(path, Sample());
            Assert.Equal(bytes, File.ReadAllBytes(path));
            var f = SafeTensors.Load(path);
            Assert.Equal(path, f.Origin);
            using var fs = File.OpenRead(path);
            Assert.Equal(f.Names, SafeTensors.Load(fs).Names);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SafeTensors_ModuleStateDict_SurvivesSaveAndLoad()
    {
        var a = new Linear(3, 2, rng: new Rng(7));
        var b = new Linear(3, 2, rng: new Rng(8));
        string dir = SafeTensorsTestData.TempDir();
        try
        {
            string path = Path.Combine(dir, "linear.safetensors");
            SafeTensors.Save(path, a.StateDict(), new Dictionary<string, string> { ["model"] = "Linear(3, 2)" });
            var file = SafeTensors.Load(path);
            b.LoadStateDict(file.ToTensors(), strict: true, source: path);
            foreach (var (name, t) in a.StateDict()) AssertSameBits(t, b.StateDict()[name]);
            Assert.Equal("Linear(3, 2)", file.Metadata["model"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static IEnumerable<KeyValuePair<string, Tensor>> ThrowsAfterFirst()
    {
        yield return new("first", Tensor.Ones(4));
        throw new InvalidOperationException("simulated failure while producing tensors");
    }

    [Fact]
    public void SafeTensors_FailedSave_LeavesPreviousFileIntactAndNoTempFile()
    {
        string dir = SafeTensorsTestData.TempDir();
        try
        {
            string path = Path.Combine(dir, "model.safetensors");
            SafeTensors.Save(path, Sample());
            byte[] before = File.ReadAllBytes(path);

            var ex = Assert.Throws<InvalidOperationException>(() => SafeTensors.Save(path, ThrowsAfterFirst()));
            Assert.Contains("simulated", ex.Message, StringComparison.Ordinal);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal([path], Directory.GetFileSystemEntries(dir));

            // A failure at the final move (the destination is a directory) also cleans up.
            string asDir = Path.Combine(dir, "is-a-directory");
            Directory.CreateDirectory(asDir);
            Assert.ThrowsAny<Exception>(() => SafeTensors.Save(asDir, Sample()));
            Assert.Equal(new[] { asDir, path }.Order(), Directory.GetFileSystemEntries(dir).Order());

            // A successful save replaces the file and leaves only it.
            SafeTensors.Save(path, [new("only", Tensor.Scalar(1f))]);
            Assert.Equal(["only"], SafeTensors.Load(path).Names);
            Assert.Equal(new[] { asDir, path }.Order(), Directory.GetFileSystemEntries(dir).Order());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SafeTensors_SaveIntoMissingDirectory_Throws()
    {
        string dir = Path.Combine(Path.GetTempPath(), "seglab-st-missing-" + Guid.NewGuid().ToString("N"));
        Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Save(Path.Combine(dir, "x.safetensors"), Sample()));
        Assert.False(Directory.Exists(dir));
    }
}
