// Finite-difference gradient checks through imported ONNX graphs, in float64: the gradient of a fixed random
// projection of the outputs with respect to the input and to a parameter (an initializer under its ONNX name) equals
// central differences, for graphs that chain every family of converted ops; plus training mode through batch norm.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Onnx;

namespace SegLab.Tests.Onnx;

public sealed class OnnxGradientTests
{
    private static OnnxBuilder ConvGraph() => new OnnxBuilder(13).Input("x", 1, 4, 6, 7).Output("y")
        .Random("conv.weight", [6, 2, 3, 3]).Random("conv.bias", [6])
        .Node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], ("group", 2L), ("pads", new long[] { 1, 0, 1, 2 }), ("strides", new long[] { 1, 2 }))
        .Random("bn.weight", [6]).Random("bn.bias", [6]).Random("bn.running_mean", [6]).Random("bn.running_var", [6], 0.5, 2)
        .Node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["b"])
        .Random("act.weight", [6, 1, 1], 0.1, 0.4).Node("PRelu", ["b", "act.weight"], ["p"])
        .Node("MaxPool", ["p"], ["m"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 1, 1 }), ("pads", new long[] { 0, 0, 1, 1 }))
        .Int64("sizes", [1, 6, 9, 11], 4).Node("Resize", ["m", "", "", "sizes"], ["r"], ("mode", "linear"))
        .Random("up.weight", [6, 3, 2, 2]).Node("ConvTranspose", ["r", "up.weight"], ["t"], ("strides", new long[] { 2, 2 }))
        .Node("AveragePool", ["t"], ["a"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Concat", ["a", "a"], ["y"], ("axis", 1L));

    private static OnnxBuilder ShapeGraph() => new OnnxBuilder(13).Input("x", 2, 3, 5, 6).Output("y")
        .Random("scale", [1, 3, 1, 1]).Node("Mul", ["x", "scale"], ["s"])
        .Int64("pads", [0, 0, 1, 2, 0, 0, 2, 1], 8).Node("Pad", ["s", "pads"], ["p"], ("mode", "reflect"))
        .Int64("st", [1, 4], 2).Int64("en", [8, 0], 2).Int64("ax", [2, 3], 2).Int64("sp", [2, -1], 2).Node("Slice", ["p", "st", "en", "ax", "sp"], ["sl"])
        .Node("Transpose", ["sl"], ["tr"], ("perm", new long[] { 0, 2, 3, 1 }))
        .Int64("idx", [2, 0, 2], 3).Node("Gather", ["tr", "idx"], ["g"], ("axis", 3L))
        .Int64("split", [1, 2], 2).Node("Split", ["g", "split"], ["g1", "g2"], ("axis", 3L))
        .Node("Sub", ["g2", "g1"], ["d"]).Node("Shape", ["d"], ["sh"]).Int64("zero", [0], 1).Int64("one", [1], 1)
        .Node("Slice", ["sh", "zero", "one"], ["n"]).Int64("minus1", [-1], 1).Node("Concat", ["n", "minus1"], ["shape"], ("axis", 0L))
        .Node("Reshape", ["d", "shape"], ["y"]);

    private static OnnxBuilder DenseGraph() => new OnnxBuilder(14).Input("x", 3, 8).Output("y")
        .Random("fc1.weight", [5, 8]).Random("fc1.bias", [5]).Node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], ("transB", 1L), ("alpha", 0.7f))
        .Node("HardSwish", ["h"], ["a"]).Node("Sigmoid", ["a"], ["s"]).Node("Tanh", ["h"], ["t"]).Node("Div", ["s", "t2"], ["q"])
        .Random("off", [5], 1.5, 2.5).Node("Add", ["t", "off"], ["t2"])
        .Random("w2", [5, 4]).Node("MatMul", ["q", "w2"], ["m"]).Node("Softmax", ["m"], ["sm"], ("axis", 1L))
        .Node("LeakyRelu", ["m"], ["l"], ("alpha", 0.1f)).Node("Mul", ["sm", "l"], ["ml"])
        .Int64("axes", [0], 1).Node("ReduceMean", ["ml", "axes"], ["y"]);

    public static TheoryData<string, string> Graphs() => new()
    {
        { "conv", "conv.weight" }, { "conv", "bn.weight" }, { "conv", "act.weight" }, { "conv", "up.weight" },
        { "shape", "scale" }, { "dense", "fc1.weight" }, { "dense", "w2" },
    };

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Gradients_to_input_and_parameter_match_finite_differences(string graphName, string parameter)
    {
        var builder = graphName switch { "conv" => ConvGraph(), "shape" => ShapeGraph(), _ => DenseGraph() };
        var model = builder.Model();
        // Nodes are listed as written: sort them into an order where each reads only what came before (Div above).
        var graph = OnnxParity.Import(Toposorted(model), DType.Float64);
        var shape = model.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => (int)d.DimValue).ToArray();
        var x = Tensor.FromArray(Array.ConvertAll(OnnxParity.RandomInput(shape, 11), v => (double)v), shape);
        x.RequiresGrad = true;
        var p = graph.NamedParameters().Single(kv => kv.Key == parameter).Value;
        var y0 = graph.Forward(x);
        var r = Tensor.FromArray(Array.ConvertAll(OnnxParity.RandomInput(y0.ShapeArray(), 13), v => (double)v), y0.ShapeArray());
        double Loss() { using var _ = GradMode.NoGrad(); return Ops.Sum(Ops.Mul(graph.Forward(x), r)).Item(); }
        var loss = Ops.Sum(Ops.Mul(y0, r));
        var grads = Tape.Grad(loss, [x, p]);
        CheckAgainstDifferences("input", x, grads[0], Loss);
        CheckAgainstDifferences(parameter, p, grads[1], Loss);
    }

    private static void CheckAgainstDifferences(string what, Tensor t, Tensor grad, Func<double> loss)
    {
        const double eps = 1e-6;
        var data = t.SpanF64;
        var g = grad.ToArrayF64();
        Assert.Contains(g, v => v != 0);
        for (int i = 0; i < data.Length; i += Math.Max(1, data.Length / 40))
        {
            double v = data[i];
            data[i] = v + eps;
            double up = loss();
            data = t.SpanF64;
            data[i] = v - eps;
            double down = loss();
            data = t.SpanF64;
            data[i] = v;
            double fd = (up - down) / (2 * eps);
            Assert.True(Math.Abs(fd - g[i]) <= 1e-5 * Math.Max(1, Math.Abs(fd)), $"{what}[{i}]: autograd {g[i]}, finite differences {fd}");
        }
    }

    private static byte[] Toposorted(SegLab.Onnx.Proto.ModelProto model)
    {
        var known = model.Graph.Input.Select(i => i.Name).Concat(model.Graph.Initializer.Select(i => i.Name)).Append("").ToHashSet();
        var pending = model.Graph.Node.ToList();
        var ordered = new List<SegLab.Onnx.Proto.NodeProto>();
        while (pending.Count > 0)
        {
            var next = pending.First(n => n.Input.All(known.Contains));
            ordered.Add(next);
            pending.Remove(next);
            foreach (var o in next.Output) known.Add(o);
        }
        model.Graph.Node.Clear();
        model.Graph.Node.AddRange(ordered);
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }

    [Fact]
    public void Training_mode_batch_norm_uses_batch_statistics_and_updates_running_ones()
    {
        var model = new OnnxBuilder(15).Input("x", 4, 3, 5, 5).Output("y").Random("s", [3]).Random("b", [3]).Float("m", [0, 0, 0], 3).Float("v", [1, 1, 1], 3)
            .Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], ("momentum", 0.8f)).Bytes();
        var graph = OnnxParity.Import(model);
        var x = Tensor.FromArray(OnnxParity.RandomInput([4, 3, 5, 5], 17), 4, 3, 5, 5);
        graph.Train();
        var y = graph.Forward(x);
        var mean = Ops.Mean(x, [0, 2, 3]).ToArray();
        var running = graph.NamedBuffers().Single(b => b.Key == "m").Value.ToArray();
        for (int c = 0; c < 3; c++) Assert.Equal(0.2 * mean[c], running[c], 5);
        // Normalised with batch statistics: each channel of (y - b) / s has mean 0.
        var s = graph.NamedParameters().Single(p => p.Key == "s").Value;
        var b = graph.NamedParameters().Single(p => p.Key == "b").Value;
        var z = Ops.Mean(Ops.Div(Ops.Sub(y, Ops.Reshape(b, 1, 3, 1, 1)), Ops.Reshape(s, 1, 3, 1, 1)), [0, 2, 3]).ToArray();
        Assert.All(z, v => Assert.True(Math.Abs(v) < 1e-4, $"channel mean {v}"));
    }

    [Fact]
    public void Dotted_onnx_names_are_the_state_dict_keys()
    {
        var graph = OnnxParity.Import(ConvGraph().Bytes());
        var keys = graph.StateDict().Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["act.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.weight", "conv.bias", "conv.weight", "up.weight"], keys);
        Assert.Equal(["bn.running_mean", "bn.running_var"], graph.NamedBuffers().Select(b => b.Key).Order(StringComparer.Ordinal));
        Assert.Equal("conv.weight", graph.ParameterKeys["conv.weight"]);
    }

    [Fact]
    public void Clashing_names_are_registered_with_underscores()
    {
        var model = new OnnxBuilder(13).Input("x", 1, 2).Output("y").Random("a", [2]).Random("a.b", [2]).Random("c..d", [2])
            .Node("Add", ["x", "a"], ["s"]).Node("Mul", ["s", "a.b"], ["t"]).Node("Sub", ["t", "c..d"], ["y"]).Bytes();
        var graph = OnnxParity.Import(model);
        Assert.Equal("a", graph.ParameterKeys["a"]);
        Assert.Equal("a_b", graph.ParameterKeys["a.b"]);
        Assert.Equal("c__d", graph.ParameterKeys["c..d"]);
        Assert.Equal(3, graph.StateDict().Count);
    }
}
