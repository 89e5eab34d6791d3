// seglab inspect on small ONNX models written here: the tables and the JSON report inputs, outputs (declared and
// computed shapes), op counts, parameters and whether SegLab runs the model, naming unsupported nodes; a file that
// is not ONNX is a one-line error naming it.
using System.Text.Json;
using Google.Protobuf;
using SegLab.Onnx.Proto;

namespace SegLab.Cli.Tests;

public sealed class InspectCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "seglab-inspect-tests", Guid.NewGuid().ToString("N"));

    public InspectCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteModel(string name, bool unsupported) => WriteConvModel(Path.Combine(_dir, name), 2, 3, unsupported, 8, 6);

    /// <summary>x [1, inC, h, w] -> Conv inC->outC (3x3, pad 1, random weights) -> Relu (-> Erf when asked) -> y; null sizes are symbolic.</summary>
    internal static string WriteConvModel(string path, int inC, int outC, bool unsupported, long? h, long? w)
    {
        var g = new GraphProto { Name = "g" };
        var shape = new TensorShapeProto();
        foreach (long? d in new long?[] { 1, inC, h, w })
            shape.Dim.Add(d is { } v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "s" });
        g.Input.Add(new ValueInfoProto { Name = "x", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } });
        g.Output.Add(new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        var rng = new SegLab.Engine.Rng(5);
        var values = Enumerable.Range(0, outC * inC * 9).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var wt = new TensorProto { Name = "conv.weight", DataType = 1, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        wt.Dims.AddRange([outC, inC, 3, 3]);
        g.Initializer.Add(wt);
        var conv = new NodeProto { Name = "conv", OpType = "Conv", Input = { "x", "conv.weight" }, Output = { "c" } };
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        g.Node.Add(conv);
        g.Node.Add(new NodeProto { Name = "act", OpType = "Relu", Input = { "c" }, Output = { unsupported ? "r" : "y" } });
        if (unsupported) g.Node.Add(new NodeProto { Name = "erf_node", OpType = "Erf", Input = { "r" }, Output = { "y" } });
        var m = new ModelProto { IrVersion = 8, ProducerName = "seglab-tests", ProducerVersion = "2", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Version = 13 });
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }

    [Fact]
    public void Json_reports_shapes_ops_parameters_and_that_it_runs()
    {
        var r = CliTests.Run("inspect", WriteModel("ok.onnx", unsupported: false), "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("runnable").GetBoolean());
        Assert.Equal(13, root.GetProperty("opset").GetInt64());
        Assert.Equal("seglab-tests 2", root.GetProperty("producer").GetString());
        Assert.Equal(54, root.GetProperty("parameters").GetInt64());
        Assert.Equal("[1, 2, 8, 6]", root.GetProperty("inputs")[0].GetProperty("shape").GetString());
        var output = root.GetProperty("outputs")[0];
        Assert.Equal("[]", output.GetProperty("shape").GetString());
        Assert.Equal("[1, 3, 8, 6]", output.GetProperty("computedShape").GetString());
        var ops = root.GetProperty("ops").EnumerateArray().Select(o => (o.GetProperty("op").GetString(), o.GetProperty("count").GetInt32())).ToList();
        Assert.Equal([("Conv", 1), ("Relu", 1)], ops);
        Assert.Equal(0, root.GetProperty("problems").GetArrayLength());
    }

    [Fact]
    public void Table_names_the_unsupported_node()
    {
        var r = CliTests.Run("inspect", WriteModel("erf.onnx", unsupported: true));
        Assert.Equal(0, r.Code);
        Assert.Contains("SegLab cannot run this model", r.Console, StringComparison.Ordinal);
        Assert.Contains("node 'erf_node' (Erf, opset 13)", r.Console, StringComparison.Ordinal);
        Assert.Contains("Conv", r.Console, StringComparison.Ordinal);
        var json = CliTests.Run("inspect", WriteModel("erf.onnx", unsupported: true), "--json");
        using var doc = JsonDocument.Parse(json.Out);
        Assert.False(doc.RootElement.GetProperty("runnable").GetBoolean());
        var erf = doc.RootElement.GetProperty("ops").EnumerateArray().Single(o => o.GetProperty("op").GetString() == "Erf");
        Assert.False(erf.GetProperty("supported").GetBoolean());
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_a_one_line_error_naming_it()
    {
        string path = Path.Combine(_dir, "notes.onnx");
        File.WriteAllText(path, "this is text, not a protobuf message\n");
        var r = CliTests.Run("inspect", path);
        Assert.Equal(1, r.Code);
        Assert.StartsWith("error: ", r.Err, StringComparison.Ordinal);
        Assert.Contains(path, r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.Trim().Split('\n'));
    }
}
