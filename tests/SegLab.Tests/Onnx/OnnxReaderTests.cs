// The ONNX reader on good and bad files: external data read from beside the model (and refused outside its folder
// or shorter than declared), declared sizes checked against the bytes present, garbage and non-model files refused
// with an error naming the file.
using Google.Protobuf;
using SegLab.Onnx;
using SegLab.Onnx.Proto;

namespace SegLab.Tests.Onnx;

public sealed class OnnxReaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "seglab-onnx-reader", Guid.NewGuid().ToString("N"));

    public OnnxReaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(ModelProto m, string name = "model.onnx")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }

    // y = x + w, with w [2, 3] from the tensor given.
    private static ModelProto AddModel(TensorProto w)
    {
        var m = new OnnxBuilder(13).Input("x", 2, 3).Output("y").Node("Add", ["x", "w"], ["y"]).Model();
        m.Graph.Initializer.Add(w);
        return m;
    }

    private static TensorProto External(string location, long offset = 0, long? length = null)
    {
        var t = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        t.Dims.AddRange([2, 3]);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (length is { } l) t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return t;
    }

    private static byte[] FloatBytes(params float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    [Fact]
    public void External_data_is_read_at_its_offset_beside_the_model()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "weights"));
        File.WriteAllBytes(Path.Combine(_dir, "weights", "w.bin"), [.. new byte[8], .. FloatBytes(1, 2, 3, 4, 5, 6)]);
        var model = OnnxModel.Load(Write(AddModel(External("weights/w.bin", 8, 24))));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, model.Initializers["w"].Value.ToArray());
        Assert.Equal([2, 3], model.Initializers["w"].Value.ShapeArray());
    }

    // The decoded tensors are the only copy of the weights a loaded model keeps: the parsed message drops its
    // initializers (raw bytes and typed lists), so a model's weights are not held twice for its lifetime.
    [Fact]
    public void A_loaded_model_keeps_its_weights_once_as_tensors()
    {
        var raw = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(FloatBytes(1, 2, 3, 4, 5, 6)) };
        raw.Dims.AddRange([2, 3]);
        var model = OnnxModel.Load(Write(AddModel(raw)));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, model.Initializers["w"].Value.ToArray());
        Assert.Empty(model.Proto.Graph.Initializer);
        Assert.Equal(["x"], model.Inputs.Select(i => i.Name));
        // and the graph still runs on them: y = x + w
        var graph = OnnxGraph.Load(Write(AddModel(raw), "again.onnx"));
        var y = graph.Forward(SegLab.Engine.Tensor.FromArray(new float[] { 10, 20, 30, 40, 50, 60 }, 2, 3));
        Assert.Equal(new float[] { 11, 22, 33, 44, 55, 66 }, y.ToArray());
    }

    [Theory]
    [InlineData("../w.bin", "not a relative path inside the model's folder")]
    [InlineData("/etc/passwd", "not a relative path inside the model's folder")]
    [InlineData("sub/../../w.bin", "not a relative path inside the model's folder")]
    [InlineData("missing.bin", "does not exist")]
    public void External_data_outside_the_folder_or_missing_is_refused(string location, string expected)
    {
        var path = Write(AddModel(External(location)));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void External_data_shorter_than_declared_is_refused_before_reading()
    {
        File.WriteAllBytes(Path.Combine(_dir, "w.bin"), FloatBytes(1, 2, 3, 4, 5));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Write(AddModel(External("w.bin")))));
        Assert.Contains("needs 24 bytes at offset 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("which has 20 bytes", e.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Write(AddModel(External("w.bin", 0, 16)), "b.onnx")));
        Assert.Contains("records a length of 16", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Raw_data_of_the_wrong_size_is_refused()
    {
        var t = OnnxBuilder.FloatTensor("w", [1, 2, 3, 4, 5], 2, 3);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Write(AddModel(t))));
        Assert.Contains("initializer 'w' declares [2, 3] FLOAT (24 bytes) but holds 20 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Typed_values_of_the_wrong_count_are_refused()
    {
        var t = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange([2, 3]);
        t.FloatData.AddRange([1f, 2f]);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Write(AddModel(t))));
        Assert.Contains("declares [2, 3] (6 values) but holds 2 values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enormous_declared_sizes_are_refused_without_allocating()
    {
        var t = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(new byte[4]) };
        t.Dims.AddRange([1 << 20, 1 << 20]);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Write(AddModel(t))));
        Assert.Contains($"more than {int.MaxValue} elements", e.Message, StringComparison.Ordinal);
        var neg = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float };
        neg.Dims.AddRange([2, -3]);
        Assert.Contains("dimension -3 at axis 1", Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Write(AddModel(neg), "n.onnx"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_and_non_model_files_are_refused_naming_the_file()
    {
        string garbage = Path.Combine(_dir, "garbage.onnx");
        File.WriteAllBytes(garbage, [0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(garbage));
        Assert.Contains("'" + garbage + "' is not a valid ONNX file", e.Message, StringComparison.Ordinal);
        string text = Path.Combine(_dir, "notes.onnx");
        File.WriteAllText(text, "");
        Assert.Contains("it has no graph", Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(text)).Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(Path.Combine(_dir, "absent.onnx")));
    }

    [Fact]
    public void Truncated_model_is_refused()
    {
        var bytes = AddModel(OnnxBuilder.FloatTensor("w", [1, 2, 3, 4, 5, 6], 2, 3)).ToByteArray();
        string path = Path.Combine(_dir, "cut.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length - 7)]);
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));
    }
}
