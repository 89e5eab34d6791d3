// The real ImageNet ResNet18 (CNTK 2.6 export, opset 8, 64 MB) from the NuGet package restored by this test project:
// SegLab's features equal ONNX Runtime's to 1e-4 relative at 224x224 and, with the final AveragePool run as a global
// pool, at another size (compared with ONNX Runtime on the same graph with that pool made global and the input
// size left free). Skipped, not passed, where the package has not been restored.
using SegLab.Engine;
using SegLab.Onnx;
using SegLab.Onnx.Proto;
using Google.Protobuf;

namespace SegLab.Tests.Onnx;

public sealed class ResNet18OnnxTests
{
    private static string Model()
    {
        var path = NuGetPackages.ResNet18Onnx;
        Skip.If(path is null, "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 is not in the NuGet global packages folder (dotnet restore brings it).");
        return path!;
    }

    [SkippableFact]
    public void Features_equal_onnx_runtime_at_224()
    {
        var path = Model();
        var graph = OnnxGraph.Load(path);
        Assert.Equal(8, graph.Model.Opset);
        var input = graph.Model.Inputs.Single();
        Assert.Equal("Input247", input.Name);
        int[] shape = [1, 3, 224, 224];
        var x = OnnxParity.RandomInput(shape, seed: 3);
        var want = OnnxParity.RunReference(File.ReadAllBytes(path), new Dictionary<string, (int[], float[])> { [input.Name] = (shape, x) });
        var got = graph.Forward(Tensor.FromArray((float[])x.Clone(), shape));
        Assert.Equal([1, 512, 1, 1], got.ShapeArray());
        OnnxParity.Compare("ResNet18 features", got.ToArray(), want["Pooling395_Output_0"].Data);
        // Every float initializer is a parameter under its ONNX name, except the 22 batch norms' statistics (buffers).
        Assert.Equal(22, graph.NamedParameters().Count(p => p.Value.Rank == 4));
        Assert.Equal(44, graph.NamedBuffers().Count());
        Assert.Equal(graph.Model.Initializers.Values.Sum(c => (long)c.Value.Numel), graph.ParameterCount() + graph.NamedBuffers().Sum(b => (long)b.Value.Numel));
        Assert.All(graph.NamedParameters(), p => Assert.True(graph.Model.Initializers.ContainsKey(p.Key) && p.Value.RequiresGrad));
    }

    [SkippableFact]
    public void Features_equal_onnx_runtime_at_another_size()
    {
        var path = Model();
        var graph = OnnxGraph.Load(path);
        int[] shape = [1, 3, 160, 192];
        var x = OnnxParity.RandomInput(shape, seed: 5);
        // The reference: the same file with the input size free and the final AveragePool a GlobalAveragePool.
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var pool = proto.Graph.Node.Single(n => n.OpType == "AveragePool");
        pool.OpType = "GlobalAveragePool";
        pool.Attribute.Clear();
        foreach (var d in proto.Graph.Input.Single(i => i.Name == "Input247").Type.TensorType.Shape.Dim.Skip(2)) d.DimParam = "s";
        var want = OnnxParity.RunReference(proto.ToByteArray(), new Dictionary<string, (int[], float[])> { ["Input247"] = (shape, x) });
        var got = graph.Forward(Tensor.FromArray((float[])x.Clone(), shape));
        Assert.Equal([1, 512, 1, 1], got.ShapeArray());
        OnnxParity.Compare("ResNet18 features at 160x192", got.ToArray(), want["Pooling395_Output_0"].Data);
    }

    [SkippableFact]
    public void Preprocessing_graph_equals_onnx_runtime()
    {
        var path = NuGetPackages.ResNet18PreprocessOnnx;
        Skip.If(path is null, "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 is not in the NuGet global packages folder (dotnet restore brings it).");
        int[] shape = [1, 3, 224, 224];
        var x = OnnxParity.RandomInput(shape, seed: 9);
        var want = OnnxParity.RunReference(File.ReadAllBytes(path!), new Dictionary<string, (int[], float[])> { ["OriginalInput"] = (shape, x) });
        var got = OnnxGraph.Load(path!).Forward(Tensor.FromArray((float[])x.Clone(), shape));
        OnnxParity.Compare("ResNet18 preprocessing", got.ToArray(), want["PreprocessedInput"].Data);
    }
}
