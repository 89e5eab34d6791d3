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

    // The image readers as the data loader calls them (ImageIO.Load: format by content, the file named in errors).
    // Budget: what SkiaCodec.PixelLimit lets a file of that length declare, at 8 bytes a pixel (the RGBA decode plus the
    // RGB copy), plus 1 MiB.
    private static long ImageBudget(ImageFormat format, long length) => 8 * SkiaCodec.PixelLimit(format, length) + (1 << 20);

    private static Image FuzzSeed(int width, int height, int channels, int seed)
    {
        var pixels = new byte[width * height * channels];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(128 + 100 * Math.Sin(0.3 * (i / channels % width) + 0.2 * (i / channels / width) + seed + i % channels));
        return new Image(width, height, channels, pixels);
    }

    [Fact]
    public void Jpeg_reader()
    {
        var seeds = new[]
        {
            Jpeg.Encode(FuzzSeed(24, 16, 3, 1), 85, JpegSubsampling.Quarter),
            Jpeg.Encode(FuzzSeed(17, 9, 1, 2), 70),
            Jpeg.Encode(FuzzSeed(8, 8, 3, 3), 95),
        };
        var o = MutationFuzz.Run<ImageException>(seeds, ViaFile("fuzz.jpg", p => ImageIO.Load(p)), len => ImageBudget(ImageFormat.Jpeg, len));
        Report("JPEG (SkiaSharp)", o);
    }

    [Fact]
    public void Webp_reader()
    {
        var seeds = new[]
        {
            Webp.Encode(FuzzSeed(20, 12, 3, 4)),
            Webp.Encode(FuzzSeed(9, 7, 4, 5)),
            Webp.Encode(FuzzSeed(16, 16, 3, 6), quality: 60),
        };
        var o = MutationFuzz.Run<ImageException>(seeds, ViaFile("fuzz.webp", p => ImageIO.Load(p)), len => ImageBudget(ImageFormat.Webp, len));
        Report("WebP (SkiaSharp)", o);
    }

    [Fact]
    public void Bmp_reader()
    {
        var seeds = new[] { Bmp.Encode(FuzzSeed(7, 5, 3, 7)), Bmp.Encode(FuzzSeed(4, 3, 4, 8)) };
        var o = MutationFuzz.Run<ImageException>(seeds, ViaFile("fuzz.bmp", p => ImageIO.Load(p)), len => ImageBudget(ImageFormat.Bmp, len));
        Report("BMP (SkiaSharp)", o);
    }

    [Fact]
    public void Png_reader_with_the_per_file_decoder_choice()
    {
        var palette = Enumerable.Range(0, 12).Select(i => (byte)(i * 20)).ToArray();
        var seeds = new[]
        {
            Png.Encode(FuzzSeed(12, 9, 3, 9)), // SkiaSharp first
            Png.Encode(FuzzSeed(10, 6, 1, 10)), // SkiaSharp first
            Png.Encode(new Image(5, 4, 1, [.. Enumerable.Range(0, 20).Select(i => (byte)(i % 4))], palette: palette)), // own codec
        };
        var o = MutationFuzz.Run<ImageException>(seeds, ViaFile("fuzz.png", p => ImageIO.Load(p)), len => ImageBudget(ImageFormat.Png, len));
        Report("PNG (ImageIO: SkiaSharp or own codec)", o);
    }
}
