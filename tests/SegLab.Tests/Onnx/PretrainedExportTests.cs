// PyTorch's ONNX exports of the pretrained CGNet, ESPNet and ESPNetv2 s=0.5 (tools/export_onnx.py --shared, opset
// 17, committed with their model cards): ONNX Runtime gives SegLab's outputs on each, and imported with the shared
// weights each gives the native model's logits, input gradient and every parameter gradient (same weights, by
// state-dict name). The native comparisons need ../shared (the native weights) and report as skipped without it.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Engine.Serialization;
using SegLab.Models;
using SegLab.Onnx;
using SegLab.Tests.Models;
using Xunit.Abstractions;

namespace SegLab.Tests.Onnx;

public sealed class PretrainedExportTests(ITestOutputHelper output)
{
    /// <summary>Export file, native model table name, and a size to run at (ESPNetv2's export is fixed at 256x256).</summary>
    public static TheoryData<string, string, int, int> Exports => new()
    {
        { "cgnet_camvid", "cgnet-camvid", 180, 240 },
        { "espnet_camvid", "espnet-camvid", 176, 240 },
    };

    internal static string Fixture(string name) => Path.Combine(TestPaths.SourceDir(), "Fixtures", "onnx", name + ".onnx");

    [Theory]
    [InlineData("cgnet_camvid", 75, 101)]
    [InlineData("espnet_camvid", 88, 120)]
    public void Export_equals_onnx_runtime(string file, int height, int width)
    {
        // Sizes other than the 96x128 the free-size exports were traced at (ESPNet needs multiples of 8).
        double worst = OnnxParity.AssertMatches(File.ReadAllBytes(Fixture(file)), new Dictionary<string, int[]> { ["input"] = [1, 3, height, width] });
        output.WriteLine($"{file} at {height}x{width}: largest relative difference to ONNX Runtime {worst:E2}");
    }

    [SkippableTheory]
    [MemberData(nameof(Exports))]
    public void Import_gives_the_native_logits_input_gradient_and_parameter_gradients(string file, string model, int height, int width)
    {
        var shared = TestPaths.RequireShared($"the native {model} weights");
        var spec = ModelTable.Get(model);
        var weights = SafeTensors.Load(Path.Combine(shared, spec.WeightsFile!)).ToTensors();
        var native = ModelTable.Load(model).Network;
        var graph = OnnxGraph.Load(Fixture(file));
        // Same weights by construction: the shared file loaded into the graph under the state-dict names (the
        // export has no num_batches_tracked; every other key is there with its shape).
        Assert.Equal(weights.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            graph.StateDict().Keys.Order(StringComparer.Ordinal));
        graph.LoadStateDict(weights, strict: false);
        graph.Eval();

        var rgb = Tensor.FromArray(RandomImage(3 * height * width, seed: 17), 1, 3, height, width);
        var x = spec.Preprocessing.Apply(rgb);
        var (nLogits, nGrads) = LogitsAndGrads(native, x, spec.OutputChannels);
        var (gLogits, gGrads) = LogitsAndGrads(graph, x, spec.OutputChannels);

        double logitsRel = ParityCheck.FrobRel(gLogits, nLogits), logitsMax = ParityCheck.MaxRel(gLogits, nLogits);
        double gradRel = ParityCheck.FrobRel(gGrads["input"], nGrads["input"]);
        var paramRel = nGrads.Keys.Where(k => k != "input").Select(k => (Name: k, Rel: ParityCheck.FrobRel(gGrads[k], nGrads[k]))).OrderByDescending(p => p.Rel).ToList();
        output.WriteLine($"{file} vs native {model} at {height}x{width}: logits {logitsRel:E2} (max {logitsMax:E2}), input grad {gradRel:E2}, worst of {paramRel.Count} parameter grads {paramRel[0].Name} {paramRel[0].Rel:E2}");
        Assert.True(logitsRel <= 1e-5 && logitsMax <= 1e-5, $"logits rel {logitsRel}, max rel {logitsMax}");
        Assert.True(gradRel <= 1e-5, $"input grad rel {gradRel}");
        Assert.Equal(native.NamedParameters().Count(), paramRel.Count);
        Assert.All(paramRel, p => Assert.True(p.Rel <= 1e-4, $"{p.Name}: rel {p.Rel}"));
    }

    // Logits, and d loss / d (input, every parameter by name) for a cross-entropy against a fixed random label.
    private static (Tensor Logits, Dictionary<string, Tensor> Grads) LogitsAndGrads(Module net, Tensor x, int outputs)
    {
        var input = x.Detach().RequireGrad();
        var logits = net.Forward(input);
        int h = logits.Size(2), w = logits.Size(3);
        var rng = new Rng(5);
        var label = Tensor.FromArray(Enumerable.Range(0, h * w).Select(_ => (float)rng.NextInt(outputs)).ToArray(), 1, h, w);
        var parameters = net.NamedParameters().ToList();
        var grads = Tape.Grad(Ops.CrossEntropy(logits, label, -1), [input, .. parameters.Select(p => p.Value)]);
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["input"] = grads[0] };
        for (int i = 0; i < parameters.Count; i++) byName[parameters[i].Key] = grads[i + 1];
        return (logits.Detach(), byName);
    }

    private static float[] RandomImage(int n, long seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
    }
}
