// An imported graph run in an inference scope hands each value's storage back after its last reader (issue 22):
// the forward gives the same logits as without a scope and allocates a fraction of what it makes.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Onnx;
using Xunit.Abstractions;

namespace SegLab.Tests.Onnx;

public sealed class OnnxScopeTests(ITestOutputHelper output)
{
    [Fact]
    public void A_scoped_forward_reuses_dead_values_storage_and_gives_the_same_logits()
    {
        var graph = OnnxGraph.Load(PretrainedExportTests.Fixture("cgnet_camvid"));
        graph.Eval();
        var x = Tensor.Uniform([1, 3, 96, 128], -100, 150, 5);
        var (reference, first, second, unscoped, scoped) = ScopedForwardProbe.Run(graph.Forward, x);
        Assert.Equal(reference, first);
        Assert.Equal(reference, second);
        output.WriteLine($"allocated: {unscoped / 1048576.0:F1} MB without a scope, {scoped / 1048576.0:F1} MB in the first scope");
        Assert.True(scoped < unscoped / 2, $"the first scoped forward allocated {scoped} bytes, the unscoped one {unscoped}: dead values were not reused");
    }
}
