// The bounded CI fuzz run (issue 21): about 2,000 mutated inputs per reader, each answered by the input or by the
// reader's documented error. Counts are written to the test output; the findings are listed in docs/reliability.md.
using SegLab.Engine;
using SegLab.Engine.Serialization;
using SegLab.Imaging;
using SegLab.Metrics;
using SegLab.Training;
using Xunit.Abstractions;

namespace SegLab.Tests.Fuzz;

public sealed class ParserFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private void Report(string reader, MutationFuzz.Outcome o)
    {
        output.WriteLine($"{reader}: {o.Inputs} mutated inputs, {o.Accepted} accepted, {o.Rejected} rejected with the documented error, largest allocation {o.MaxAllocatedBytes / 1024.0:F0} KiB");
        Assert.Equal(MutationFuzz.Iterations, o.Inputs);
        Assert.True(o.Rejected > 0, $"{reader}: no mutation was rejected: the mutations do not reach the checks");
    }

    // Reads a file the way the CLI does: from a path that names it in messages.
    private Action<byte[]> ViaFile(string name, Action<string> load) => bytes =>
    {
        string path = Path.Combine(_tmp, name);
        File.WriteAllBytes(path, bytes);
        load(path);
    };

    [Fact]
    public void Safetensors_reader()
    {
        var rng = new Random(5);
        Tensor T(params int[] shape) => Tensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (float)rng.NextDouble()).ToArray(), shape);
        var seeds = new[]
        {
            SafeTensors.Serialize([new("conv.weight", T(4, 3, 3, 3)), new("conv.bias", T(4)), new("scalar", T())], new Dictionary<string, string> { ["format"] = "pt" }),
            SafeTensors.Serialize([new("a", T(2, 5)), new("b", T(1))]),
        };
        var o = MutationFuzz.Run<SafeTensorsException>(seeds, bytes =>
        {
            var file = SafeTensors.Load(bytes, "fuzz.safetensors");
            foreach (var kv in file.ToTensors()) _ = kv.Value.Numel;
        }, len => 16 * len + (1 << 20));
        Report("safetensors", o);
    }

    [Fact]
    public void Training_config_reader()
    {
        var seeds = new[]
        {
            System.Text.Encoding.UTF8.GetBytes(ConfigLoader.ToYaml(ConfigLoader.Parse("{}", "defaults"))),
            "model: {family: unet, widths: [4, 8]}\nschedule: {lr: 0.01, iterations: 3, validate_every: 1}\ncontextrast: {enabled: true, alpha: 0.1}\n"u8.ToArray(),
            """{"model": {"family": "deeplabv3", "base_width": 16}, "data": {"batch": 2, "crop": [64, 64]}}"""u8.ToArray(),
        };
        var o = MutationFuzz.Run<ConfigException>(seeds, bytes => ConfigLoader.Parse(System.Text.Encoding.UTF8.GetString(bytes), "fuzz.yaml"),
            len => 4096 * len + (32 << 20));
        Report("training config (YAML/JSON)", o);
    }

    [Fact]
    public void Checkpoint_state_reader()
    {
        Checkpoint.SaveBest(_tmp, new CheckpointState { Step = 40, TotalSteps = 100, Epoch = 2, ConfigHash = "abc", BestMIoU = 51.5 }, [new("w", Tensor.Zeros(2))]);
        var seeds = new[] { File.ReadAllBytes(Path.Combine(_tmp, Checkpoint.BestState)) };
        var o = MutationFuzz.Run<FormatException>(seeds, ViaFile("last.json", p => Checkpoint.Read(p)), len => 256 * len + (4 << 20));
        Report("checkpoint state (last.json)", o);
    }

    [Fact]
    public void Metric_state_reader()
    {
        var acc = new MetricAccumulator(3);
        acc.Add(ImageConfusion.FromMatrix("a", [5, 1, 0, 0, 7, 2, 1, 0, 9], 3));
        acc.Add(ImageConfusion.FromMatrix("b", [2, 0, 0, 0, 3, 0, 0, 1, 4], 3));
        string path = Path.Combine(_tmp, "seed.json");
        MetricsJson.SaveState(path, acc, ["sky", "road", "car"]);
        var seeds = new[] { File.ReadAllBytes(path) };
        var o = MutationFuzz.Run<InvalidDataException>(seeds, ViaFile("metrics-state.json", p => MetricsJson.LoadState(p)), len => 256 * len + (4 << 20));
        Report("metric state (metrics-state.json)", o);
    }

    [Fact]
    public void Attack_resume_state_reader()
    {
        static SegLab.Robustness.ImageCounts C(int k) => new([.. Enumerable.Range(1, k).Select(i => (long)i)], [.. Enumerable.Range(2, k).Select(i => (long)i)], [.. Enumerable.Range(1, k).Select(i => (long)i)], 40, 2);
        var attacks = new[] { new SegLab.Robustness.Protocols.AttackOutcome("pgd", C(3), 1.5, 1 / 255.0, 0, 21, 0.25) };
        var images = new List<SegLab.Robustness.Protocols.ImageRobustness>
        {
            new("a", 4, 5, C(3), [new(1 / 255.0, attacks), new(4 / 255.0, attacks)], 0, 0, 0, 40, 1.0),
            new("b", 4, 5, C(3), [new(1 / 255.0, attacks), new(4 / 255.0, attacks)], 0, 1, 0, 40, 1.2),
        };
        string path = Path.Combine(_tmp, "seed.json");
        SegLab.Robustness.Protocols.RobustnessJson.SaveState(path, new("model|pgd|1/255", images));
        var seeds = new[] { File.ReadAllBytes(path) };
        var o = MutationFuzz.Run<FormatException>(seeds, ViaFile("robustness.state.json", p => SegLab.Robustness.Protocols.RobustnessJson.LoadState(p)), len => 256 * len + (4 << 20));
        Report("attack resume state (robustness.state.json)", o);
    }

    [Fact]
    public void Onnx_reader_and_graph_compiler()
    {
        var conv = new SegLab.Tests.Onnx.OnnxBuilder(13).Input("x", 1, 3, 8, 8).Random("w", [4, 3, 3, 3]).Random("b", [4])
            .Node("Conv", ["x", "w", "b"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { 2, 2 }))
            .Node("Relu", ["c"], ["r"]).Node("GlobalAveragePool", ["r"], ["y"]).Output("y").Bytes();
        var shape = new SegLab.Tests.Onnx.OnnxBuilder(17).Input("x", 1, 2, 4, 4).Int64("s", [1, 2, 16], 3)
            .Node("Reshape", ["x", "s"], ["f"]).Node("Softmax", ["f"], ["p"], ("axis", 2L)).Output("p").Bytes();
        var o = MutationFuzz.Run([conv, shape], ViaFile("fuzz.onnx", p => SegLab.Onnx.OnnxGraph.Load(p)),
            e => e is SegLab.Onnx.OnnxFormatException or SegLab.Onnx.OnnxUnsupportedException, "OnnxFormatException or OnnxUnsupportedException",
            len => 256 * len + (4 << 20));
        Report("ONNX (reader and graph compiler)", o);
    }

    [Fact]
    public void Pnm_reader()
    {
        var rgb = new Image(7, 5, 3, Enumerable.Range(0, 105).Select(i => (byte)(i * 37)).ToArray());
        var grey = new Image(4, 6, 1, Enumerable.Range(0, 24).Select(i => (byte)(i * 11)).ToArray());
        var seeds = new[] { Pnm.Encode(rgb), Pnm.Encode(grey, plain: true), Pnm.Encode(grey, maxVal: 1000) };
        var o = MutationFuzz.Run<ImageException>(seeds, bytes => Pnm.Decode(bytes, "fuzz.ppm"), len => 64 * len + (1 << 20));
        Report("PPM/PGM", o);
    }
}
