// seglab bench: GEMM GFLOP/s per provider, size and thread count, elementwise GB/s, model and training-step times, and
// image decode times (own codec against SkiaSharp), on the user's machine.
using System.CommandLine;
using System.Text.Json;
using SegLab.Cli.Bench;
using SegLab.Engine.Linalg;
using Spectre.Console;

namespace SegLab.Cli;

internal static class BenchCommand
{
    public static Command Create(CliIO io)
    {
        var cmd = new Command("bench", "Measure the engine's speed on this machine.");
        cmd.Subcommands.Add(Gemm(io));
        cmd.Subcommands.Add(Elementwise(io));
        cmd.Subcommands.Add(Model(io));
        cmd.Subcommands.Add(Attribution(io));
        cmd.Subcommands.Add(TrainCommand.CreateBench(io));
        cmd.Subcommands.Add(Images(io));
        cmd.Subcommands.Add(RefineBenchCommand.Crf(io));
        cmd.Subcommands.Add(RefineBenchCommand.RandomWalk(io));
        cmd.Subcommands.Add(Corruptions(io));
        cmd.Subcommands.Add(IsegCommand.Bench(io));
        return cmd;
    }

    private static Command Images(CliIO io)
    {
        var data = new Option<string?>("--data") { Description = "Folder of images (default: the CamVid val images of the shared data folder, data/camvid/val)." };
        var limit = new Option<int>("--limit") { Description = "Time the first N files by name (0: all).", DefaultValueFactory = _ => 20 };
        var repeats = new Option<int>("--repeats") { Description = "Timed decodes per image and codec (after one warm-up decode).", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (records per codec, identical counts)." };
        var cmd = new Command("images", "Decode time per image (median ms) of SegLab's own codec and of SkiaSharp, side by side, and whether they decode identically.") { data, limit, repeats, json };
        cmd.SetAction(r =>
        {
            int n = r.GetValue(limit), k = r.GetValue(repeats);
            if (n < 0) throw new ArgumentException($"--limit must be 0 (all) or positive, got {n}.");
            if (k < 1) throw new ArgumentException($"--repeats must be at least 1, got {k}.");
            var dir = r.GetValue(data) ?? SegLab.SharedData.Resolve(Path.Combine("data", "camvid", "val"));
            var files = ImageDecodeBench.Files(dir, n);
            bool asJson = r.GetValue(json);
            var result = asJson ? ImageDecodeBench.Run(files, k) : WithStatus(io, "timing image decoding", p => ImageDecodeBench.Run(files, k, p));
            if (asJson)
            {
                io.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    folder = dir,
                    formats = result.Formats,
                    records = result.Records.Select(x => new { codec = x.Codec, images = x.Images, medianMs = Math.Round(x.MedianMs, 3), minMs = Math.Round(x.MinMs, 3), maxMs = Math.Round(x.MaxMs, 3), megapixels = Math.Round(x.Megapixels, 3), repeats = x.Repeats }),
                    compared = result.Compared,
                    identical = result.Identical,
                }, JsonOptions.Indented));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("codec", "images", "median ms per image", "fastest image ms", "slowest image ms", "Mpx per image", "repeats");
            foreach (var x in result.Records)
                table.AddRow(x.Codec, Inv(x.Images), Inv(x.MedianMs, "F2"), Inv(x.MinMs, "F2"), Inv(x.MaxMs, "F2"), Inv(x.Megapixels, "F3"), Inv(x.Repeats));
            io.Console.Write(table);
            io.Console.MarkupLine(Markup.Escape($"{dir}: {string.Join(", ", result.Formats.Select(f => $"{f.Value} {f.Key}"))}; each image's median over {k} decodes, then the median over images; own and SkiaSharp decodes alternate."));
            if (result.Compared > 0)
                io.Console.MarkupLine(Markup.Escape($"identical decodes (size, channels, every sample): {result.Identical} of {result.Compared} files decoded by both."));
            return 0;
        });
        return cmd;
    }

    private static Command Model(CliIO io)
    {
        var model = new Option<string>("--model") { Description = "Model name from the model table (cgnet-camvid, espnet-camvid), a seglab train run folder, or FILE.onnx with its card FILE.onnx.json.", Required = true };
        var size = new Option<string>("--size") { Description = "Input size as HEIGHTxWIDTH, the order of tensor shapes [N, C, H, W] (CamVid images are 360x480: 480 wide, 360 high).", DefaultValueFactory = _ => "360x480" };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs of each kind (after 2 warm-up runs).", DefaultValueFactory = _ => 7 };
        var weights = new Option<string?>("--weights") { Description = "Weights file (default: the pretrained weights; fresh weights when they are absent, which does not change the timing)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (forwardMs, inputGradMs, peakMemoryMB, ...)." };
        var profile = new Option<bool>("--profile") { Description = "Also time the input-gradient pass's backward per operation (ms per pass)." };
        var cmd = new Command("model", "Forward and forward + input-gradient time (medians) and peak memory of a model, batch 1.") { model, size, repeats, weights, json, profile };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            var name = r.GetValue(model)!;
            var (h, w) = ParseSize(r.GetValue(size)!);
            SegLab.Models.SegmentationModel m;
            string weightsNote;
            var file = r.GetValue(weights);
            if (SegLab.Training.TrainedModel.IsRunFolder(name) || SegLab.Onnx.OnnxModelCard.IsOnnx(name))
            {
                m = SegLab.Training.TrainedModel.Resolve(name, file);
                weightsNote = file ?? (SegLab.Onnx.OnnxModelCard.IsOnnx(name) ? "ONNX initializers" : "trained run");
            }
            else if (file is not null || SegLab.Models.ModelTable.TryPretrainedWeights(SegLab.Models.ModelTable.Get(name)) is not null)
            {
                m = SegLab.Models.ModelTable.Load(name, file);
                weightsNote = file ?? "pretrained";
            }
            else
            {
                var spec = SegLab.Models.ModelTable.Get(name);
                m = new SegLab.Models.SegmentationModel(spec.Name, spec.Create(), spec.Preprocessing, spec.NumClasses, spec.InputSize);
                weightsNote = "fresh (no pretrained weights found; timing is the same)";
            }
            bool asJson = r.GetValue(json);
            int n = r.GetValue(repeats);
            var result = asJson ? SegLab.Models.ModelBench.Run(m, h, w, repeats: n) : WithStatus(io, $"timing {name}", p => SegLab.Models.ModelBench.Run(m, h, w, repeats: n, progress: p));
            if (asJson)
            {
                io.Out.WriteLine(JsonSerializer.Serialize(result, JsonOptions.Indented));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("model", "size", "threads", "forward ms", "forward + input grad ms", "peak memory MB", "weights");
            table.AddRow(result.Model, $"{h}x{w}", Inv(result.Threads), Inv(result.ForwardMs, "F1"), Inv(result.InputGradMs, "F1"), Inv(result.PeakMemoryMB, "F0"), Markup.Escape(weightsNote));
            io.Console.Write(table);
            if (r.GetValue(profile))
            {
                var ops = SegLab.Models.ModelBench.ProfileInputGrad(m, h, w);
                double total = ops.Sum(o => o.Milliseconds);
                var pt = new Table().Border(TableBorder.Rounded).Title("backward of the input-gradient pass, per operation").AddColumns("operation", "calls", "ms per pass", "share");
                foreach (var o in ops) pt.AddRow(Markup.Escape(o.Op), Inv((int)o.Calls), Inv(o.Milliseconds, "F1"), Inv(100 * o.Milliseconds / Math.Max(1e-9, total), "F1") + " %");
                pt.AddRow("[bold]total[/]", "", Inv(total, "F1"), "100 %");
                io.Console.Write(pt);
            }
            return 0;
        });
        return cmd;
    }

    private static Command Attribution(CliIO io)
    {
        var model = new Option<string>("--model") { Description = "Model name from the model table, a seglab train run folder, FILE.onnx with its card, or a `seglab weak train-classifier` run folder (target: class min(8, C-1), Car for CamVid; use --size 120x160 for its crops).", Required = true };
        var method = new Option<string>("--method") { Description = "Attribution method: " + string.Join(", ", SegLab.Attribution.AttributionTable.Names) + ".", Required = true };
        var size = new Option<string>("--size") { Description = "Input size as HEIGHTxWIDTH.", DefaultValueFactory = _ => "360x480" };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs (after 1 warm-up run).", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--steps") { Description = "Integrated Gradients steps.", DefaultValueFactory = _ => 32 };
        var samples = new Option<int>("--samples") { Description = "SmoothGrad samples.", DefaultValueFactory = _ => 16 };
        var batch = new Option<int>("--batch") { Description = "Images per forward/backward pass.", DefaultValueFactory = _ => 8 };
        var layer = new Option<string?>("--layer") { Description = "CAM layer (default: the model's)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("attribution", "Time per image of one attribution method, beside one forward + input-gradient pass, and peak memory (one method per process).")
        {
            model, method, size, repeats, steps, samples, batch, layer, json,
        };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string name = r.GetValue(method)!;
            if (!SegLab.Attribution.AttributionTable.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
                throw new ArgumentException($"--method: unknown attribution method '{name}'. Known methods: {string.Join(", ", SegLab.Attribution.AttributionTable.Names)}.");
            var (h, w) = ParseSize(r.GetValue(size)!);
            var options = new SegLab.Attribution.AttributionOptions { Steps = r.GetValue(steps), Samples = r.GetValue(samples), BatchSize = r.GetValue(batch), Layer = r.GetValue(layer) };
            options.Validate();
            string modelName = r.GetValue(model)!;
            SegLab.Models.SegmentationModel m;
            SegLab.Attribution.AttributionTarget? target = null;
            if (SegLab.Attribution.Context.RecognitionSide.IsClassifierRun(modelName))
            {
                var classifier = SegLab.Weak.TagTrainer.Load(modelName);
                m = SegLab.Attribution.Context.RecognitionSide.Wrap(classifier, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelName))));
                target = SegLab.Attribution.AttributionTarget.ForClass(Math.Min(8, classifier.Classes - 1));
            }
            else m = SegLab.Training.TrainedModel.Resolve(modelName);
            var attribution = SegLab.Attribution.AttributionTable.Create(name);
            var result = SegLab.Attribution.AttributionBench.Run(m, attribution, options, h, w, r.GetValue(repeats), target);
            if (r.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(result, JsonOptions.Indented));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("model", "method", "layer", "size", "threads", "ms per map", "fwd+grad ms", "x fwd+grad", "forwards", "backwards", "peak MB");
            table.AddRow(result.Model, Markup.Escape(result.Method), Markup.Escape(result.Layer ?? "-"), $"{h}x{w}", Inv(result.Threads), Inv(result.MedianMs, "F0"), Inv(result.GradPassMs, "F0"),
                Inv(result.Passes, "F1"), Inv(result.Forwards), Inv(result.Backwards), Inv(result.PeakMemoryMB, "F0"));
            io.Console.Write(table);
            return 0;
        });
        return cmd;
    }

    private static Command Corruptions(CliIO io)
    {
        var image = new Option<string?>("--image") { Description = "Image to corrupt (default: the first CamVid val image of the shared data folder, else a synthetic one)." };
        var size = new Option<string>("--size") { Description = "Resize the image to HxW first.", DefaultValueFactory = _ => "360x480" };
        var repeats = new Option<int>("--repeats") { Description = "Timed calls per corruption and severity (after one warm-up call per corruption).", DefaultValueFactory = _ => 3 };
        var names = new Option<string?>("--corruptions") { Description = "Comma-separated corruption names (default: all 17)." };
        var grid = new Option<string?>("--grid") { Description = "Also write a PNG grid of every corruption (rows) at severities 1-5 (columns, after the original) to this file." };
        var thumb = new Option<int>("--thumb-width") { Description = "Width of each grid cell in pixels.", DefaultValueFactory = _ => 96 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random corruptions in the grid.", DefaultValueFactory = _ => 0UL };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("corruptions", "Time per image (median ms) of each ImageNet-C corruption at each severity, and optionally a PNG grid of them.")
        {
            image, size, repeats, names, grid, thumb, seed, json,
        };
        cmd.SetAction(r =>
        {
            var (h, w) = ParseSize(r.GetValue(size)!);
            var list = r.GetValue(names) is { } text
                ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : SegLab.Imaging.Corruptions.ImageCorruptions.Names.ToArray();
            foreach (var n in list)
                if (!SegLab.Imaging.Corruptions.ImageCorruptions.Names.Contains(n))
                    throw new ArgumentException($"--corruptions: unknown corruption '{n}'; valid: {string.Join(", ", SegLab.Imaging.Corruptions.ImageCorruptions.Names)}.");
            if (r.GetValue(repeats) < 1) throw new ArgumentException($"--repeats must be at least 1, got {r.GetValue(repeats)}.");
            if (r.GetValue(thumb) < 8) throw new ArgumentException($"--thumb-width must be at least 8, got {r.GetValue(thumb)}.");
            var (pixels, input) = CorruptionBench.Image(h, w, r.GetValue(image));
            if (r.GetValue(grid) is { } gridPath)
            {
                var sheet = SegLab.Imaging.Corruptions.CorruptionGrid.Render(pixels, h, w, r.GetValue(thumb), r.GetValue(seed), list);
                SegLab.Imaging.ImageIO.Save(gridPath, sheet);
            }
            bool asJson = r.GetValue(json);
            int k = r.GetValue(repeats);
            var records = asJson ? CorruptionBench.Run(pixels, h, w, list, k) : WithStatus(io, "timing corruptions", p => CorruptionBench.Run(pixels, h, w, list, k, p));
            if (asJson)
            {
                io.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    input,
                    size = $"{h}x{w}",
                    grid = r.GetValue(grid),
                    records = records.Select(x => new { corruption = x.Corruption, severity = x.Severity, medianMs = Math.Round(x.MedianMs, 2), minMs = Math.Round(x.MinMs, 2), maxMs = Math.Round(x.MaxMs, 2), repeats = x.Repeats }),
                }, JsonOptions.Indented));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("corruption", "sev 1 ms", "sev 2 ms", "sev 3 ms", "sev 4 ms", "sev 5 ms");
            foreach (var g in records.GroupBy(x => x.Corruption))
                table.AddRow([Markup.Escape(g.Key), .. g.OrderBy(x => x.Severity).Select(x => Inv(x.MedianMs, "F1"))]);
            io.Console.Write(table);
            io.Console.MarkupLine(Markup.Escape($"{input} at {h}x{w}, one thread; medians of {k} calls per cell (wall time, includes the input copy and clamping)."));
            if (r.GetValue(grid) is { } written) io.Console.MarkupLine(Markup.Escape($"grid written to {written}"));
            return 0;
        });
        return cmd;
    }

    internal static (int H, int W) ParseSize(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out int h) || !int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out int w) || h < 8 || w < 8)
            throw new ArgumentException($"--size: '{text}' is not HxW with both at least 8 (e.g. 360x480).");
        return (h, w);
    }

    private static Command Gemm(CliIO io)
    {
        var sizes = new Option<string>("--sizes") { Description = "Square sizes, comma-separated.", DefaultValueFactory = _ => "256,1024,2048" };
        var threads = new Option<string>("--threads", "--thread-counts") { Description = "Engine thread counts to time, comma-separated (overrides the global --threads here).", DefaultValueFactory = _ => "1,2" };
        var json = new Option<bool>("--json") { Description = "Print one JSON record per provider, size and thread count." };
        var cmd = new Command("gemm", "SGEMM GFLOP/s for every available provider (managed, OpenBLAS), side by side.") { sizes, threads, json };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            var s = ParseList(r.GetValue(sizes)!, "--sizes");
            var t = ParseList(r.GetValue(threads)!, "--threads");
            bool asJson = r.GetValue(json);
            var records = asJson ? GemmBench.Run(s, t) : WithStatus(io, "timing GEMM", p => GemmBench.Run(s, t, p));
            if (asJson)
            {
                io.Out.WriteLine(JsonSerializer.Serialize(records.Select(x => new { provider = x.Provider, size = x.Size, threads = x.Threads, gflops = Math.Round(x.Gflops, 2), medianMs = Math.Round(x.MedianMs, 3), repeats = x.Repeats }), JsonOptions.Indented));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("provider", "size", "threads", "GFLOP/s", "median ms", "managed / OpenBLAS");
            foreach (var x in records)
            {
                var other = records.FirstOrDefault(o => o.Provider == "openblas" && o.Size == x.Size && o.Threads == x.Threads);
                string ratio = x.Provider == "managed" && other is not null ? Inv(x.Gflops / other.Gflops, "F2") + "x" : "";
                table.AddRow(x.Provider, Inv(x.Size), Inv(x.Threads), Inv(x.Gflops, "F1"), Inv(x.MedianMs, "F2"), ratio);
            }
            io.Console.Write(table);
            if (records.All(x => x.Provider != "openblas"))
                io.Console.MarkupLine("[grey]OpenBLAS is not loadable here (apt-get install libopenblas0-pthread); only the managed provider was timed.[/]");
            return 0;
        });
        return cmd;
    }

    private static Command Elementwise(CliIO io)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON record per kernel." };
        var n = new Option<int>("--elements") { Description = "Elements per array (default 16M).", DefaultValueFactory = _ => ElementwiseBench.DefaultElements };
        var cmd = new Command("elementwise", "Elementwise kernels (add, mul, exp, sigmoid, relu; TensorPrimitives, one thread) in GB/s.") { json, n };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            int elements = r.GetValue(n);
            var records = r.GetValue(json)
                ? ElementwiseBench.Run(elements)
                : WithStatus(io, "timing elementwise kernels", p => ElementwiseBench.Run(elements, progress: p));
            if (r.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(records.Select(x => new { kernel = x.Kernel, elements = x.Elements, gbps = Math.Round(x.Gbps, 2), medianMs = Math.Round(x.MedianMs, 3), repeats = x.Repeats }), JsonOptions.Indented));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("kernel", "elements", "GB/s", "median ms");
            foreach (var x in records)
                table.AddRow(x.Kernel, Inv(x.Elements), Inv(x.Gbps, "F1"), Inv(x.MedianMs, "F2"));
            io.Console.Write(table);
            io.Console.MarkupLine("[grey]GB/s = (bytes read + bytes written) / median time; 1 GB = 1e9 bytes.[/]");
            return 0;
        });
        return cmd;
    }

    /// <summary>Runs <paramref name="work"/> under a live status line when the console is interactive, plainly otherwise.</summary>
    private static T WithStatus<T>(CliIO io, string title, Func<IProgress<string>?, T> work)
        => io.Console.Profile.Capabilities.Interactive
            ? io.Console.Status().Start(title, ctx => work(new Progress(m => ctx.Status(m))))
            : work(null);

    private static string Inv(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Inv(double v, string format) => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);

    internal static int[] ParseList(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                throw new ArgumentException($"{option}: '{parts[i]}' is not a positive integer.");
        if (values.Length == 0) throw new ArgumentException($"{option}: give at least one value.");
        return values;
    }

    private sealed class Progress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
