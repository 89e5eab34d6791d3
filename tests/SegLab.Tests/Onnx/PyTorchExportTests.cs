// PyTorch's own ONNX exports of the tiny parity network (tools/export_onnx.py, opsets 11 and 17, free batch and
// spatial sizes): imported, they give PyTorch's logits, loss, input gradient and every parameter gradient under the
// state-dict names (tiny_net_io.safetensors, the same tolerances as the native twin in TinyNetParityTests), equal
// ONNX Runtime at another input size, and take the native twin's weights file by name.
using SegLab.Engine;
using SegLab.Engine.Serialization;
using SegLab.Onnx;
using SegLab.Tests.Models;

namespace SegLab.Tests.Onnx;

public sealed class PyTorchExportTests
{
    private static string Fixture(params string[] parts) => Path.Combine([TestPaths.SourceDir(), "Fixtures", .. parts]);

    [Theory]
    [InlineData(11)]
    [InlineData(17)]
    public void Export_matches_pytorch_in_logits_loss_and_every_gradient(int opset)
    {
        var graph = OnnxGraph.Load(Fixture("onnx", $"tiny_net_opset{opset}.onnx"));
        Assert.Equal(opset, graph.Model.Opset);
        var io = SafeTensors.Load(Fixture("tinynet", "tiny_net_io.safetensors"));
        var r = ParityCheck.Run(graph, io, "", ignoreIndex: 255, paramGrads: true, "param_grad.");
        Assert.True(r.LogitsRel < 1e-5, $"logits rel {r.LogitsRel}");
        Assert.True(r.LossRel < 1e-5, $"loss rel {r.LossRel}");
        Assert.True(r.InputGradRel < 1e-4, $"input grad rel {r.InputGradRel}");
        Assert.Equal(1.0, r.ArgmaxAgreement);
        // Every PyTorch parameter is a graph parameter under its state-dict name (batch-norm statistics are buffers).
        Assert.Equal(io.Names.Count(n => n.StartsWith("param_grad.", StringComparison.Ordinal)), r.ParamGradRel.Count);
        Assert.All(r.ParamGradRel, p => Assert.True(p.Rel < 1e-4, $"{p.Name}: rel {p.Rel}"));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(17)]
    public void Export_equals_onnx_runtime_at_another_size(int opset)
    {
        string path = Fixture("onnx", $"tiny_net_opset{opset}.onnx");
        OnnxParity.AssertMatches(File.ReadAllBytes(path), new Dictionary<string, int[]> { ["input"] = [1, 3, 31, 26] });
    }

    [Fact]
    public void Native_weights_load_into_the_export_by_state_dict_name()
    {
        var graph = OnnxGraph.Load(Fixture("onnx", "tiny_net_opset17.onnx"));
        var state = SafeTensors.Load(Fixture("tinynet", "tiny_net.safetensors")).ToTensors();
        // The ONNX file has no num_batches_tracked; every other key matches in name and shape.
        var own = graph.StateDict();
        Assert.Equal(state.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Order(StringComparer.Ordinal), own.Keys.Order(StringComparer.Ordinal));
        graph.LoadStateDict(state, strict: false);
        foreach (var (k, v) in own) Assert.Equal(state[k].ToArray(), v.ToArray());
    }
}
