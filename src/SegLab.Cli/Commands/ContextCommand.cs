// seglab context and seglab context merge: the context-reliance study of issue 18 (PAPERS.md B, F) over a dataset
// split: objects as ground-truth components, their variants (context changed, removed, without information, or
// corrupted on the context or on the object), the object's segmentation quality beside the attribution shares of
// each method; OUTDIR/records.jsonl (resumable), context.json, report.html. Every option is checked before the model
// is loaded. A --model that is a `seglab weak train-classifier` run folder runs the recognition side (RecognitionSide:
// the classifier on a crop around each object, its class probability instead of recall and IoU).
using System.CommandLine;
using System.Globalization;
using SegLab.Attribution;
using SegLab.Attribution.Context;
using SegLab.Data;
using Spectre.Console;

namespace SegLab.Cli;

internal static class ContextCommand
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>The object classes used when --classes is not given (PAPERS.md F): those of the table that exist.</summary>
    private static readonly string[] CamVidObjects = ["Car", "Pedestrian", "Bicyclist", "Pole", "SignSymbol"];

    public static Command Create(CliIO io)
    {
        // Not marked Required: `seglab context merge` is a subcommand and must not need them; checked in the action.
        var model = new Option<string?>("--model") { Description = "Model name from the model table (cgnet-camvid, espnet-camvid, espnetv2-voc), a seglab train run folder, FILE.onnx, or a `seglab weak train-classifier` run folder (the recognition side: the classifier on crops around the objects) (required)." };
        var weights = new Option<string?>("--weights") { Description = "Weights file (default: the model's pretrained weights)." };
        var data = new Option<string?>("--data") { Description = "Dataset folder with ground truth (CamVid, VOC, or a folder layout) (required)." };
        var split = new Option<string>("--split") { Description = "Split.", DefaultValueFactory = _ => "val" };
        var layout = new Option<string>("--layout") { Description = "Dataset layout: " + string.Join(", ", Datasets.Layouts) + ".", DefaultValueFactory = _ => "auto" };
        var classTable = new Option<string?>("--class-table") { Description = "Class table: camvid, voc, or a classes.json file (as --classes of seglab eval)." };
        var classes = new Option<string?>("--classes") { Description = "Object classes, comma-separated names or ids (default: Car,Pedestrian,Bicyclist,Pole,SignSymbol where the table has all five, else every class but the first, e.g. the 20 VOC object classes)." };
        var methods = new Option<string>("--methods") { Description = "Attribution methods, comma-separated: " + string.Join(", ", AttributionTable.Names) + ".", DefaultValueFactory = _ => "gradcam,saliency" };
        var variants = new Option<string>("--variants") { Description = "Variants: all, basic, ctx, obj, or names (" + string.Join(", ", ContextVariants.Basic.Select(v => v.Name)) + ", ctx:NAME:S, obj:NAME:S).", DefaultValueFactory = _ => "all" };
        var corruptions = new Option<string?>("--corruptions") { Description = "Corruptions that all/ctx/obj expand to (default: every one available)." };
        var severities = new Option<string>("--severities") { Description = "Severities that all/ctx/obj expand to, comma-separated in 1-5.", DefaultValueFactory = _ => "1,2,3,4,5" };
        var limit = new Option<int?>("--limit") { Description = "Only the first N images of the split (before --shard)." };
        var shard = EvalCommand.ShardOption("Shard i/n (1-based) of the images, for `seglab context merge`, or auto: the task of a Slurm job array or Kubernetes Indexed Job (docs/scale.md).");
        var shardCount = EvalCommand.ShardCountOption();
        var resume = new Option<bool>("--resume") { Description = "Continue from OUTDIR/records.jsonl, skipping the objects done." };
        var minArea = new Option<int>("--min-area") { Description = "Least object area kept, in pixels.", DefaultValueFactory = _ => 100 };
        var maxPerClass = new Option<int>("--max-per-class") { Description = "Objects kept per image and class, largest first.", DefaultValueFactory = _ => 3 };
        var correct = new Option<double>("--correct-recall") { Description = "An object is correctly segmented when its recall is at least this.", DefaultValueFactory = _ => 0.5 };
        var steps = new Option<int>("--steps") { Description = "Integrated Gradients steps.", DefaultValueFactory = _ => 32 };
        var batch = new Option<int>("--batch") { Description = "Images per forward/backward pass of IG, SmoothGrad, Score-CAM.", DefaultValueFactory = _ => 8 };
        var layer = new Option<string?>("--layer") { Description = "CAM layer (default: the model's)." };
        var seed = new Option<long>("--seed") { Description = "Seed of donor scenes, noise and corruptions.", DefaultValueFactory = _ => 0 };
        var examples = new Option<int>("--examples") { Description = "Objects whose heat maps are shown in the report.", DefaultValueFactory = _ => 3 };
        var output = new Option<string?>("--out") { Description = "Output folder (required)." };
        var cmd = new Command("context", "Context reliance: objects, their context variants, segmentation quality and object/context attribution shares.")
        {
            model, weights, data, split, layout, classTable, classes, methods, variants, corruptions, severities, limit, shard, shardCount, resume, minArea, maxPerClass,
            correct, steps, batch, layer, seed, examples, output,
        };
        cmd.Subcommands.Add(CreateMerge(io));
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string modelName = r.GetValue(model) ?? throw new ArgumentException("--model is required.");
            string dataDir = r.GetValue(data) ?? throw new ArgumentException("--data is required.");
            string outDir = r.GetValue(output) ?? throw new ArgumentException("--out is required.");
            var methodNames = Methods(r.GetValue(methods)!);
            IImageCorruptions source = ContextCorruptionSource.Default;
            var sevs = Severities(r.GetValue(severities)!);
            var corr = Corruptions(r.GetValue(corruptions), source);
            var variantList = ContextVariants.Parse(r.GetValue(variants)!, corr, sevs);
            if (r.GetValue(limit) is < 1) throw new ArgumentException($"--limit must be at least 1, got {r.GetValue(limit)}.");
            var shardParsed = EvalCommand.Shard(r, shard, shardCount);
            var shardSpec = shardParsed is null ? ((int Index, int Count)?)null : shardParsed;
            if (r.GetValue(minArea) < 1) throw new ArgumentException($"--min-area must be at least 1, got {r.GetValue(minArea)}.");
            if (r.GetValue(maxPerClass) < 1) throw new ArgumentException($"--max-per-class must be at least 1, got {r.GetValue(maxPerClass)}.");
            if (r.GetValue(correct) is not (> 0 and <= 1)) throw new ArgumentException($"--correct-recall must be in (0, 1], got {r.GetValue(correct).ToString(Ci)}.");
            if (r.GetValue(examples) < 0) throw new ArgumentException($"--examples must be at least 0, got {r.GetValue(examples)}.");
            var attribution = new AttributionOptions { Steps = r.GetValue(steps), BatchSize = r.GetValue(batch), Layer = r.GetValue(layer), Seed = r.GetValue(seed) };
            attribution.Validate();

            var ds = Datasets.Open(dataDir, r.GetValue(split)!, r.GetValue(layout)!, r.GetValue(classTable));
            var classIds = ClassIds(r.GetValue(classes), ds.Classes);
            IContextSide side;
            if (RecognitionSide.IsClassifierRun(modelName))
            {
                if (r.GetValue(weights) is not null) throw new ArgumentException($"--weights does not apply to the classifier run {modelName}: its model.safetensors is used.");
                side = RecognitionSide.Load(modelName, ds.Classes);
            }
            else side = new SegmentationSide(SegLab.Training.TrainedModel.Resolve(modelName, r.GetValue(weights)));
            var seg = side.Model;
            if (methodNames.Any(AttributionTable.UsesLayer)) attribution = attribution with { Layer = CamLayers.Resolve(seg, attribution.Layer) };
            var options = new ContextOptions
            {
                Side = side.Kind, SideDetail = (side as RecognitionSide)?.Describe(),
                Classes = classIds, Variants = variantList, Methods = methodNames, Attribution = attribution, Seed = r.GetValue(seed),
                CorrectRecall = r.GetValue(correct), Examples = r.GetValue(examples),
                Instances = new InstanceOptions { MinArea = r.GetValue(minArea), MaxPerClass = r.GetValue(maxPerClass) },
            };
            var start = System.Diagnostics.Stopwatch.StartNew();
            io.Console.MarkupLine($"[grey]reading the ground truth of {ds.Count} images ({Markup.Escape(Cli.Display(ds.Root))}) for objects and donor scenes[/]");
            var runner = new ContextRunner(side, ds, options, variantList.Any(v => v.Corruption is not null) ? source : null);
            IEnumerable<int> images = Enumerable.Range(0, ds.Count);
            if (r.GetValue(limit) is int n) images = images.Take(n);
            if (shardSpec is var (si, sn)) images = images.Where((_, k) => k % sn == si - 1);
            var instances = runner.Instances(images);
            if (instances.Count == 0)
                throw new InvalidDataException($"no objects of {string.Join(", ", classIds.Select(c => ds.Classes.Names[c]))} with at least {options.Instances.MinArea} px in the selected images.");

            Directory.CreateDirectory(outDir);
            string records = Path.Combine(outDir, "records.jsonl");
            string fingerprint = options.Fingerprint(seg.Name, ds.Split);
            var done = new List<InstanceResult>();
            if (r.GetValue(resume) && File.Exists(records))
            {
                var (fp, old) = ContextRecordFile.Load(records);
                if (fp != fingerprint) throw new InvalidOperationException($"{records}: written by a run with other settings; remove it or drop --resume.");
                var wanted = instances.Select(i => i.Id).ToHashSet();
                done.AddRange(old.Where(o => wanted.Contains(o.Instance)));
                ContextRecordFile.Rewrite(records, fingerprint, done);
                io.Console.MarkupLine($"[grey]resuming: {done.Count} of {instances.Count} objects already done[/]");
            }
            else ContextRecordFile.Create(records, fingerprint);
            io.Console.MarkupLine($"[bold]{Markup.Escape(seg.Name)}[/]{(side is RecognitionSide rs ? $" (recognition side: classifier on {rs.CropWidth}x{rs.CropHeight} crops)" : "")}: {instances.Count} objects in {instances.Select(i => i.ImageId).Distinct().Count()} images, "
                + $"{variantList.Count} variants x {methodNames.Count} methods ({Markup.Escape(string.Join(", ", methodNames))})");
            ContextOutput.WriteJson(outDir, ContextOutput.Report(seg.Name, ds.Name, ds.Split, options, ds.Classes.Names, done,
                new ContextRunInfo(EvalCommand.CommandLine(), 0, shardParsed?.ToString())));
            // Ctrl-C: every finished object is on disk (one flushed line each), so stop at once and say how to go on.
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                io.Error.WriteLine();
                io.Error.WriteLine($"interrupted: {done.Count} of {instances.Count} objects are saved in {records}; continue with the same command and --resume.");
                io.Error.Flush();
                Cli.ExitNow(130);
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                CliProgress.Run(io, "context", instances.Count, line =>
                {
                    runner.Run(instances, done, records, Path.Combine(outDir, "examples"), new SyncProgress<ContextProgress>(p =>
                    {
                        line.Report(p.Done, $"object {Math.Min(p.Done + 1, p.Total)}/{p.Total} {p.Instance}");
                        line.Detail(p.Variant, p.Variants, $"variant {p.Variant}/{p.Variants}");
                    }));
                    return $"{instances.Count} objects";
                }, start: done.Count, detail: true);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            var report = ContextOutput.Report(seg.Name, ds.Name, ds.Split, options, ds.Classes.Names, done,
                new ContextRunInfo(EvalCommand.CommandLine(), start.Elapsed.TotalSeconds, shardParsed?.ToString()));
            var files = ContextOutput.Write(outDir, report, [outDir]);
            Print(io, report);
            EvalCommand.PrintCaveat(io, seg.Name);
            io.Console.MarkupLine($"Report: [blue]{Markup.Escape(files.Html)}[/]  context: [blue]{Markup.Escape(files.Json)}[/]");
            return 0;
        });
        return cmd;
    }

    private static Command CreateMerge(CliIO io)
    {
        var inputs = new Argument<string[]>("shards") { Description = "Output folders of `seglab context --shard i/n` runs.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Output folder for the merged records, context.json and report.", Required = true };
        var cmd = new Command("merge", "Merge the outputs of sharded `seglab context` runs.") { inputs, output };
        cmd.SetAction(r =>
        {
            var (report, json, html) = ContextOutput.Merge(r.GetValue(inputs)!, r.GetValue(output)!, EvalCommand.CommandLine());
            Print(io, report);
            io.Console.MarkupLine($"Merged {r.GetValue(inputs)!.Length} shard(s), {report.Objects} objects. Report: [blue]{Markup.Escape(html)}[/]  context: [blue]{Markup.Escape(json)}[/]");
            return 0;
        });
        return cmd;
    }

    private static void Print(CliIO io, ContextReport r)
    {
        foreach (string m in r.Methods)
        {
            bool rec = r.Side == "recognition";
            var t = new Table().Border(TableBorder.Rounded).Title(rec ? $"{m} (recognition side)" : m)
                .AddColumns("variant", "objects", rec ? "recognised %" : "correct %", rec ? "p(class) %" : "recall %", "object share %", "area %", "share correct %", "share wrong %");
            foreach (var v in r.Variants)
            {
                var g = r.Aggregates.Groups.FirstOrDefault(x => x.Method == m && x.Variant == v.Name && x.Class == "all" && x.Split == "all");
                if (g is null) continue;
                double Split(string s) => r.Aggregates.Groups.FirstOrDefault(x => x.Method == m && x.Variant == v.Name && x.Class == "all" && x.Split == s)?.ObjectShare.Mean ?? double.NaN;
                t.AddRow(Markup.Escape(v.Name), g.Objects.ToString(Ci), F(g.CorrectFraction), F(rec ? g.Probability.Mean : g.Recall.Mean), $"{F(g.ObjectShare.Mean)} ± {F(g.ObjectShare.Sd)}",
                    F(g.AreaFraction.Mean), F(Split("correct")), F(Split("wrong")));
            }
            io.Console.Write(t);
        }
    }

    private static string F(double v) => EvalCommand.Fixed(100 * v, 1);

    private static List<string> Methods(string text)
    {
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (list.Count == 0) throw new ArgumentException("--methods: give at least one method.");
        foreach (string m in list)
            if (!AttributionTable.Names.Contains(m, StringComparer.OrdinalIgnoreCase))
                throw new ArgumentException($"--methods: unknown attribution method '{m}'. Known methods: {string.Join(", ", AttributionTable.Names)}.");
        return [.. list.Select(m => m.ToLowerInvariant()).Distinct()];
    }

    private static List<int> Severities(string text)
    {
        var list = new List<int>();
        foreach (string s in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(s, NumberStyles.Integer, Ci, out int v) || v is < 1 or > 5)
                throw new ArgumentException($"--severities: '{s}' is not a severity (whole numbers 1 to 5).");
            list.Add(v);
        }
        if (list.Count == 0) throw new ArgumentException("--severities: give at least one severity.");
        return [.. list.Distinct().Order()];
    }

    private static List<string> Corruptions(string? text, IImageCorruptions? source)
    {
        var known = source?.Names ?? [];
        if (text is null) return [.. known];
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList();
        foreach (string c in list)
            if (!known.Contains(c))
                throw new ArgumentException($"--corruptions: unknown corruption '{c}'. Known corruptions: {(known.Count == 0 ? "(none in this build)" : string.Join(", ", known))}.");
        return list;
    }

    private static List<int> ClassIds(string? text, ClassTable table)
    {
        if (text is null)
        {
            // Only a table with all five (CamVid's): VOC has a "car" too, and would otherwise get cars alone.
            var camvid = CamVidObjects.Select(n => Array.FindIndex(table.Names, x => string.Equals(x, n, StringComparison.OrdinalIgnoreCase))).ToList();
            return camvid.All(i => i >= 0) ? camvid : [.. Enumerable.Range(1, table.Count - 1)];
        }
        var ids = new List<int>();
        foreach (string raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int id = Array.FindIndex(table.Names, n => string.Equals(n, raw, StringComparison.OrdinalIgnoreCase));
            if (id < 0 && int.TryParse(raw, NumberStyles.Integer, Ci, out int v) && v >= 0 && v < table.Count) id = v;
            if (id < 0) throw new ArgumentException($"--classes: '{raw}' is not a class of {table.Name}. Its classes: {string.Join(", ", table.Names)}.");
            ids.Add(id);
        }
        if (ids.Count == 0) throw new ArgumentException("--classes: give at least one class.");
        return [.. ids.Distinct()];
    }
}
