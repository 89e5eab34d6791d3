// Every ONNX parity case (OnnxOpCases) run on ONNX Runtime and on SegLab, outputs equal to 1e-4 relative; a
// coverage check that every op SegLab imports has a case; and the refusal of what SegLab does not run.
using SegLab.Onnx;

namespace SegLab.Tests.Onnx;

public sealed class OnnxOpParityTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in OnnxOpCases.All()) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Output_equals_onnx_runtime(string name)
    {
        var c = OnnxOpCases.All().Single(k => k.Name == name);
        OnnxParity.AssertMatches(c.Build().Bytes(), new Dictionary<string, int[]> { ["x"] = c.Input });
    }

    [Fact]
    public void Every_supported_op_has_a_parity_case()
    {
        var covered = OnnxOpCases.All().SelectMany(c => c.Build().Model().Graph.Node.Select(n => n.OpType)).ToHashSet();
        var missing = OnnxGraph.SupportedOps.Where(op => !covered.Contains(op)).ToList();
        Assert.True(missing.Count == 0, "ops without a parity case: " + string.Join(", ", missing));
    }

    [Fact]
    public void Case_names_are_unique()
    {
        var names = OnnxOpCases.All().Select(c => c.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void Unsupported_op_names_node_op_opset_and_supported_list()
    {
        var model = new OnnxBuilder(13).Input("x", 1, 2, 3, 3).Output("y").Node("Relu", ["x"], ["r"]).Node("Erf", ["r"], ["y"]).Bytes();
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxParity.Import(model));
        Assert.Contains("node 'erf_1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("(Erf, opset 13)", e.Message, StringComparison.Ordinal);
        Assert.Contains("supported: Add, AveragePool", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("relu_0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_attribute_is_refused_by_name()
    {
        var model = new OnnxBuilder(13).Input("x", 1, 2, 5, 5).Output("y")
            .Node("Resize", ["x", "", "sc"], ["y"], ("mode", "cubic")).Float("sc", [1, 1, 2, 2], 4).Bytes();
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxParity.Import(model));
        Assert.Contains("mode 'cubic'", e.Message, StringComparison.Ordinal);
        var unknown = new OnnxBuilder(13).Input("x", 1, 2, 5, 5).Output("y").Node("Relu", ["x"], ["y"], ("flavour", 3L)).Bytes();
        var e2 = Assert.Throws<OnnxUnsupportedException>(() => OnnxParity.Import(unknown));
        Assert.Contains("'flavour' not supported for Relu", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opset_outside_the_supported_range_is_refused()
    {
        var model = new OnnxBuilder(6).Input("x", 1, 2).Output("y").Node("Relu", ["x"], ["y"]).Bytes();
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxParity.Import(model));
        Assert.Contains("opset 6 (SegLab imports opsets 7 to 21)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Used_second_output_is_refused()
    {
        var model = new OnnxBuilder(13).Input("x", 1, 2, 4, 4).Output("y").Output("m")
            .Node("Dropout", ["x"], ["y", "m"]).Bytes();
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxParity.Import(model));
        Assert.Contains("output 1 ('m') is used", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Average_pool_over_its_whole_input_becomes_global_and_takes_other_sizes()
    {
        // Declared 6x7: the probe marks the pool global, so a 9x5 input is averaged over all of it.
        var model = new OnnxBuilder(8).Input("x", 1, 3, 6, 7).Output("y").Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 6, 7 })).Bytes();
        var graph = OnnxParity.Import(model);
        var x = SegLab.Engine.Tensor.FromArray(OnnxParity.RandomInput([1, 3, 9, 5]), 1, 3, 9, 5);
        var y = graph.Forward(x);
        Assert.Equal([1, 3, 1, 1], y.ShapeArray());
        var want = SegLab.Engine.Ops.Mean(x, [2, 3], keepDim: true).ToArray();
        OnnxParity.Compare("global pool", y.ToArray(), want);
    }
}
