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
        { "cgnet_camvid", "cgnet-camvid", 360, 480 },
        { "espnet_camvid", "espnet-camvid", 176, 240 },
        { "espnetv2_s0.5_voc", "espnetv2-s0.5-voc", 256, 256 },
    };

    internal static string Fixture(string name) => Path.Combine(TestPaths.SourceDir(), "Fixtures", "onnx", name + ".onnx");

    [Theory]
    [InlineData("cgnet_camvid", 75, 101)]
    [InlineData("espnet_camvid", 88, 120)]
    [InlineData("espnetv2_s0.5_voc", 256, 256)]
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
        // Same weights by construction: the shared file loaded into the graph under the state-dict names. Every graph
        // key is a native one with its shape; the export lacks num_batches_tracked and parameters that the forward
        // pass never reads (ESPNetv2's strided EESP units register a PReLU they skip): checked below to be unused.
        var own = graph.StateDict();
        Assert.All(own, kv => Assert.Equal(weights[kv.Key].ShapeArray(), kv.Value.ShapeArray()));
        graph.LoadStateDict(weights, strict: false);
        graph.Eval();

        var rgb = Tensor.FromArray(RandomImage(3 * height * width, seed: 17), 1, 3, height, width);
        var x = spec.Preprocessing.Apply(rgb);
        var (nLogits, nGrads) = LogitsAndGrads(native, x, spec.OutputChannels);
        var (gLogits, gGrads) = LogitsAndGrads(graph, x, spec.OutputChannels);

        double logitsRel = ParityCheck.FrobRel(gLogits, nLogits), logitsMax = ParityCheck.MaxRel(gLogits, nLogits);
        double gradRel = ParityCheck.FrobRel(gGrads["input"], nGrads["input"]);
        var unused = nGrads.Keys.Where(k => k != "input" && !gGrads.ContainsKey(k)).ToList();
        Assert.All(unused, k => Assert.True(nGrads[k].ToArray().All(v => v == 0), $"{k} is not in the export but the native model uses it"));
        Assert.Equal(weights.Keys.Count(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)) - unused.Count, own.Count);
        var paramRel = gGrads.Keys.Where(k => k != "input").Select(k => (Name: k, Rel: ParityCheck.FrobRel(gGrads[k], nGrads[k]))).OrderByDescending(p => p.Rel).ToList();
        output.WriteLine($"{file} vs native {model} at {height}x{width}: logits {logitsRel:E2} (max {logitsMax:E2}), input grad {gradRel:E2}, {unused.Count} unused parameters not exported, worst of {paramRel.Count} parameter grads {paramRel[0].Name} {paramRel[0].Rel:E2}");
        Assert.True(logitsRel <= 1e-5 && logitsMax <= 1e-5, $"logits rel {logitsRel}, max rel {logitsMax}");
        Assert.True(gradRel <= 1e-5, $"input grad rel {gradRel}");
        Assert.Equal(native.NamedParameters().Count() - unused.Count, paramRel.Count);
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
