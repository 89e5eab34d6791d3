// seglab attack: adversarial robustness of a segmentation model under a named protocol (quick, sea, halmosi;
// PAPERS.md A.4/A.6) or a single attack, image by image, resumable; writes OUTDIR/robustness.json (camelCase,
// percent), OUTDIR/trace.json (every attack's loss, accuracy and mIoU per iteration on every image), and prints the
// per-radius table.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SegLab.Data;
using SegLab.Models;
using SegLab.Robustness;
using SegLab.Robustness.Attacks;
using SegLab.Robustness.Losses;
using SegLab.Robustness.Protocols;
using Spectre.Console;

namespace SegLab.Cli;

internal static class AttackCommand
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model") { Description = "Model name from the model table (cgnet-camvid, espnet-camvid), a seglab train run folder, or FILE.onnx with its card FILE.onnx.json.", Required = true };
        var modelWeights = new Option<string?>("--weights") { Description = "Model weights (safetensors) instead of the pretrained file, as in seglab eval." };
        var data = new Option<string>("--data") { Description = "Dataset folder (camvid, voc or folder layout, see docs/data.md).", Required = true };
        var layout = new Option<string>("--layout") { Description = "Dataset layout: " + string.Join(", ", Datasets.Layouts) + ".", DefaultValueFactory = _ => "auto" };
        var split = new Option<string>("--split") { Description = "Split to attack.", DefaultValueFactory = _ => "val" };
        var classes = new Option<string?>("--classes") { Description = "Class table: camvid, voc, or a classes.json file (as in seglab eval)." };
        var protocol = new Option<string>("--protocol") { Description = "quick, sea or halmosi (ignored with --attack).", DefaultValueFactory = _ => "quick" };
        var eps = new Option<string>("--eps") { Description = "Radii, comma-separated (8/255,4/255 or 0.03).", DefaultValueFactory = _ => "8/255" };
        var limit = new Option<int?>("--limit") { Description = "Attack only the first N images (after --shard)." };
        var shard = EvalCommand.ShardOption("i/n (1-based, as in seglab eval): images i, i+n, i+2n, ... of the split; or auto, from a Slurm job array or Kubernetes Indexed Job (docs/scale.md).");
        var shardCount = EvalCommand.ShardCountOption();
        var weights = new Option<string?>("--class-weights") { Description = "Balanced-CE class weights (JSON array); default: 1/N_c over the train split's labels." };
        var outDir = new Option<string>("--out") { Description = "Output folder.", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from OUTDIR's state file." };
        var attack = new Option<string?>("--attack") { Description = "A single attack: " + string.Join(", ", AttackTable.Names) + "." };
        var loss = new Option<string>("--loss") { Description = "Loss of the single attack: " + string.Join(", ", LossTable.Names) + ".", DefaultValueFactory = _ => "ce" };
        var steps = new Option<int?>("--steps") { Description = "Iterations of the single attack (default: pgd 20, apgd 100, apgd-redeps 300, padam 200)." };
        var alpha = new Option<string?>("--alpha") { Description = "PGD/FGSM step size (e.g. 0.25/255); default eps/4 (PGD), eps (FGSM)." };
        var noRandomStart = new Option<bool>("--no-random-start") { Description = "Start the single attack at the clean image." };
        var pgdLast = new Option<bool>("--pgd-last") { Description = "PGD returns the last iterate instead of the highest-loss one." };
        var images = new Option<string?>("--images") { Description = "Only these image ids, comma-separated." };
        var seed = new Option<long>("--seed") { Description = "Seed of random starts.", DefaultValueFactory = _ => 0 };
        var lossLogits = new Option<string>("--loss-logits") { Description = "scored (the first NumClasses outputs) or all (every output, e.g. ESPNet's void logit).", DefaultValueFactory = _ => "scored" };
        var ignore = new Option<int?>("--ignore-index") { Description = "Label of ignored pixels (default: the dataset's, CamVid void = 11)." };
        var exclude = new Option<string?>("--exclude") { Description = "Class ids or names left out of the foreground-only metrics (comma-separated), as in seglab eval; default none." };
        var cmd = new Command("attack", "Adversarial robustness: a protocol (quick, sea, halmosi) or one attack, worst case per image.")
        {
            model, modelWeights, data, layout, split, classes, protocol, eps, limit, shard, shardCount, weights, outDir, resume, attack, loss, steps, alpha, noRandomStart, pgdLast,
            images, seed, lossLogits, ignore, exclude,
        };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            // Every option is checked before anything is loaded, so that a usage error reads the same with or
            // without the model's weights and the data present.
            var radii = r.GetValue(eps)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseRadius).ToArray();
            if (radii.Length == 0) throw new ArgumentException("--eps: give at least one radius.");
            var logits = r.GetValue(lossLogits)!.ToLowerInvariant() switch
            {
                "scored" => LossLogits.Scored,
                "all" => LossLogits.All,
                var v => throw new ArgumentException($"--loss-logits must be scored or all, got '{v}'."),
            };
            string? single = r.GetValue(attack);
            string lossName = r.GetValue(loss)!;
            if (single is not null && !AttackTable.Names.Contains(single))
                throw new ArgumentException($"--attack: unknown attack '{single}'. Known attacks: {string.Join(", ", AttackTable.Names)}.");
            if (single is not null && !LossTable.Names.Contains(lossName))
                throw new ArgumentException($"--loss: unknown attack loss '{lossName}'. Known losses: {string.Join(", ", LossTable.Names)}.");
            var protocolSpec = single is null ? Protocols.Get(r.GetValue(protocol)!) : null;
            if (r.GetValue(steps) is < 1) throw new ArgumentException($"--steps must be at least 1, got {r.GetValue(steps)}.");
            double? alphaValue = r.GetValue(alpha) is { } a ? ParseRadius(a) : null;
            var shardSpec = EvalCommand.Shard(r, shard, shardCount);
            if (r.GetValue(limit) is < 1) throw new ArgumentException($"--limit must be at least 1, got {r.GetValue(limit)}.");

            var seg = SegLab.Training.TrainedModel.Resolve(r.GetValue(model)!, r.GetValue(modelWeights));
            var dataset = Datasets.Open(r.GetValue(data)!, r.GetValue(split)!, r.GetValue(layout)!, r.GetValue(classes));
            var am = new AttackModel(seg, r.GetValue(ignore) ?? dataset.Classes.IgnoreIndex, logits);
            var ids = Select(Enumerable.Range(0, dataset.Count).Select(dataset.Id).ToArray(), r.GetValue(images), shardSpec is null ? null : (shardSpec.Index, shardSpec.Count), r.GetValue(limit));
            bool needsWeights = single is null ? string.Equals(r.GetValue(protocol), "sea", StringComparison.OrdinalIgnoreCase) : lossName == "bmce";
            IReadOnlyList<double>? classWeights = r.GetValue(weights) is { } wf ? ClassWeights.Load(wf)
                : needsWeights ? TrainWeights(io, r.GetValue(data)!, r.GetValue(layout)!, r.GetValue(classes), seg.NumClasses) : null;
            long s0 = r.GetValue(seed);
            var proto = protocolSpec
                ?? Protocols.Single(new AttackSettings(single!, LossTable.Create(lossName, classWeights, seg.NumClasses), r.GetValue(steps),
                    alphaValue, r.GetValue(noRandomStart) ? false : null, s0,
                    r.GetValue(pgdLast) ? PgdIterate.Last : PgdIterate.BestLoss));
            var evaluator = new RobustnessEvaluator(am, proto, radii, new ProtocolContext(seg.NumClasses, classWeights, s0)) { KeepTraces = true };
            string fingerprint = string.Join("|", seg.Name, proto.Name, proto.Description, string.Join(",", evaluator.AttackNames),
                string.Join(",", radii.Select(e => e.ToString("R", Ci))), logits, am.IgnoreIndex, s0, r.GetValue(split),
                classWeights is null ? "-" : string.Join(",", classWeights.Select(w => w.ToString("R", Ci))));
            var dir = r.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            var statePath = Path.Combine(dir, StateFile);
            var done = new List<ImageRobustness>();
            if (r.GetValue(resume) && File.Exists(statePath))
            {
                var st = RobustnessJson.LoadState(statePath);
                if (st.Fingerprint != fingerprint)
                    throw new InvalidOperationException($"{statePath}: written by a run with other settings; remove it or drop --resume.");
                done.AddRange(st.Images.Where(i => ids.Contains(i.Id)));
                io.Console.MarkupLine($"[grey]resuming: {done.Count} of {ids.Count} images already done[/]");
            }
            io.Console.MarkupLine($"[bold]{Markup.Escape(seg.Name)}[/]: {Markup.Escape(proto.Description)}; {ids.Count} images, eps {string.Join(", ", radii.Select(LinfBall.FormatEps))}");
            // Ctrl-C: the state file holds every finished image (written atomically after each), so stopping at once
            // loses at most the image under attack; say how to go on.
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                io.Error.WriteLine();
                io.Error.WriteLine($"interrupted: {done.Count} of {ids.Count} images are saved in {statePath}; continue with the same command and --resume.");
                io.Error.Flush();
                Cli.ExitNow(130);
            };
            Console.CancelKeyPress += onCancel;
            List<RobustnessExample> examples;
            try
            {
                examples = Run(io, dataset, ids, evaluator, done, statePath, fingerprint);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            var report = RobustnessSummary.Build(seg.Name, proto, logits, radii, ids.Select(id => done.First(d => d.Id == id)).ToArray(),
                EvalCommand.ParseClasses(r.GetValue(exclude), dataset.Classes)) with
            {
                Run = new RobustnessRunInfo(Path.GetFullPath(r.GetValue(data)!), dataset.Name, r.GetValue(split)!, r.GetValue(layout)!, r.GetValue(classes), am.IgnoreIndex,
                    shardSpec?.ToString(), shardSpec?.SourceName, shardSpec?.Task),
            };
            RobustnessJson.Save(Path.Combine(dir, "robustness.json"), report);
            // A run folder (a model SegLab trained, robust or not) keeps its measured robustness in its model card.
            if (SegLab.Training.TrainedModel.IsRunFolder(r.GetValue(model)!))
            {
                string attackName = single is null ? proto.Name : $"{single}-{lossName}";
                var selection = new List<string>();
                if (r.GetValue(images) is { } imgs) selection.Add($"--images {imgs}");
                if (shardSpec is var (si, sn)) selection.Add($"--shard {si}/{sn}");
                if (r.GetValue(limit) is { } lim) selection.Add($"--limit {lim}");
                SegLab.Training.RunRobustness.Record(r.GetValue(model)!, report, Path.Combine(dir, "robustness.json"), attackName,
                    $"{Path.GetFullPath(r.GetValue(data)!)} ({r.GetValue(split)})", selection.Count == 0 ? "all" : string.Join(' ', selection));
            }
            ModelCard.AddTo(RobustnessHtml.Build(report, dataset.Classes.Names, dataset.Classes.PaletteRgb(), am.IgnoreIndex, examples,
                "seglab " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1))), seg.Name).Save(Path.Combine(dir, "report.html"));
            WriteTraces(Path.Combine(dir, "trace.json"), ids.Select(id => done.First(d => d.Id == id)).ToList());
            Print(io, report);
            io.Console.MarkupLine($"[grey]wrote {Markup.Escape(Path.Combine(dir, "robustness.json"))}, report.html and trace.json[/]");
            return 0;
        });
        return cmd;
    }

    /// <summary>The resumable per-image state in an attack's output folder.</summary>
    internal const string StateFile = RobustnessMerge.StateFile;

    /// <summary>`seglab merge` of attack shards: robustness.json, robustness.state.json, trace.json and report.html of the whole split in <paramref name="outDir"/>.</summary>
    internal static int Merge(CliIO io, IReadOnlyList<string> dirs, string outDir, bool allowPartial)
    {
        var merged = RobustnessMerge.Merge(dirs, allowPartial);
        Directory.CreateDirectory(outDir);
        RobustnessJson.Save(Path.Combine(outDir, RobustnessMerge.ReportFile), merged.Report);
        RobustnessJson.SaveState(Path.Combine(outDir, StateFile), merged.State);
        WriteTraces(Path.Combine(outDir, "trace.json"), [.. merged.State.Images]);
        var html = RobustnessHtml.Build(merged.Report, merged.Classes.Names, merged.Classes.PaletteRgb(), merged.Report.Run!.IgnoreIndex, [], EvalCommand.CommandLine())
            .Meta("merged from", string.Join(", ", dirs));
        if (merged.MissingShards.Count > 0) html.Note($"Partial result: shards {string.Join(", ", merged.MissingShards)} are missing, so these figures cover only part of the split.");
        ModelCard.AddTo(html, merged.Report.Model).Save(Path.Combine(outDir, "report.html"));
        Print(io, merged.Report);
        io.Console.MarkupLine($"Merged {dirs.Count} attack shard(s), {merged.Report.Images} images."
            + (merged.MissingShards.Count > 0 ? $" [yellow]Partial: shards {string.Join(", ", merged.MissingShards)} missing.[/]" : ""));
        io.Console.MarkupLine($"[grey]wrote {Markup.Escape(Path.Combine(outDir, RobustnessMerge.ReportFile))}, report.html and trace.json[/]");
        return 0;
    }

    /// <summary>Runs the protocol image by image under two progress bars (images, and the current attack).</summary>
    internal static List<RobustnessExample> Run(CliIO io, ISegmentationDataset dataset, List<string> ids, RobustnessEvaluator evaluator, List<ImageRobustness> done, string statePath, string fingerprint)
    {
        List<RobustnessExample> examples = [];
        CliProgress.Run(io, "attacking", ids.Count, line =>
        {
            examples = RobustnessRun.Run(dataset, ids, evaluator, done, statePath, fingerprint, progress: new SyncProgress<RobustnessRunProgress>(p =>
            {
                if (p.Id is not null) line.Report(p.ImagesDone, $"image {p.ImagesDone + 1}/{ids.Count} {p.Id}");
                if (p.Attack is { } a)
                    line.Detail(a.Step, a.TotalSteps, $"{a.Attack} @ {LinfBall.FormatEps(a.Eps)} ({a.AttackIndex + 1}/{a.AttackCount})");
            }));
            return $"attacked {ids.Count} images";
        }, detail: true);
        return examples;
    }

    private static List<string> Select(IReadOnlyList<string> all, string? only, (int Index, int Count)? shard, int? limit)
    {
        IEnumerable<string> ids = all;
        if (only is not null)
        {
            var want = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var missing = want.Where(w => !all.Contains(w)).ToArray();
            if (missing.Length > 0) throw new ArgumentException($"--images: no image named {string.Join(", ", missing)} in the split.");
            ids = want;
        }
        if (shard is var (i, n)) ids = ids.Where((_, k) => k % n == i - 1);
        if (limit is { } l) ids = ids.Take(l);
        var list = ids.ToList();
        if (list.Count == 0) throw new ArgumentException("no images selected.");
        return list;
    }

    /// <summary>An attack radius or step size: a number or k/255 in (0, 1].</summary>
    private static double ParseRadius(string text)
    {
        double v;
        try
        {
            v = LinfBall.ParseEps(text);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"--eps/--alpha: {e.Message}", e);
        }
        if (v <= 0) throw new ArgumentException($"--eps and --alpha must be positive, got '{text}'.");
        return v;
    }

    private static double[] TrainWeights(CliIO io, string data, string layout, string? classTable, int classes)
    {
        ISegmentationDataset train;
        try
        {
            train = Datasets.Open(data, "train", layout, classTable);
        }
        catch (DatasetException)
        {
            io.Console.MarkupLine("[yellow]no train split found: balanced CE uses uniform class weights (give --class-weights FILE).[/]");
            return ClassWeights.Uniform(classes);
        }
        var counts = new long[classes];
        for (int i = 0; i < train.Count; i++)
            if (train.Load(i).Label is { } l) ClassWeights.Accumulate(l, counts);
        return ClassWeights.FromPixelCounts(counts);
    }

    /// <summary>Writes trace.json: per image, radius and attack, every iterate's loss, pixel accuracy and image mIoU.</summary>
    internal static void WriteTraces(string path, List<ImageRobustness> done) => RobustnessJson.WriteAtomic(path, JsonSerializer.Serialize(Traces(done), RobustnessJson.Options));

    private static object Traces(List<ImageRobustness> done) => done.Select(d => new
    {
        id = d.Id,
        runs = d.PerEps.SelectMany(e => e.Attacks.Select(a => new
        {
            eps = LinfBall.FormatEps(e.Eps),
            attack = a.Attack,
            steps = (a.Trace ?? []).Select(t => new
            {
                step = t.Step,
                loss = t.Loss,
                lossValidPixels = d.Clean.Valid == 0 ? double.NaN : t.Loss * (d.Clean.Valid + d.Clean.Ignored) / d.Clean.Valid,
                pixelAccuracy = 100 * t.Accuracy,
                imageMIoU = 100 * t.MeanIoU,
            }),
        })),
    }).ToArray();

    internal static void Print(CliIO io, RobustnessReport report)
    {
        foreach (var e in report.Eps)
        {
            var t = new Table().Border(TableBorder.Rounded).Title($"eps {e.Eps}")
                .AddColumns("", "pixel acc (pooled)", "pixel acc (per image)", "mIoU", "image mIoU", "wins", "s/image");
            t.AddRow("clean", F(e.Clean.PixelAccuracy), F(e.Clean.ImagePixelAccuracy), F(e.Clean.MIoU), F(e.Clean.ImageMIoU), "", "");
            foreach (var a in e.Attacks)
                t.AddRow(Markup.Escape(a.Attack), F(a.Metrics.PixelAccuracy), F(a.Metrics.ImagePixelAccuracy), F(a.Metrics.MIoU), F(a.Metrics.ImageMIoU),
                    a.Wins.ToString(Ci), a.SecondsPerImage.ToString("F1", Ci));
            t.AddRow("[bold]worst case[/]", F(e.WorstCase.PixelAccuracy), F(e.WorstCase.ImagePixelAccuracy),
                F(e.WorstCase.MIoU) + (e.GreedyWorstMIoU is { } g ? $" (greedy {F(g)})" : ""), F(e.WorstCase.ImageMIoU), "", "");
            io.Console.Write(t);
        }
        foreach (var w in report.Sanity.Warnings) io.Console.MarkupLine($"[yellow]sanity: {Markup.Escape(w)}[/]");
        if (report.Sanity.Warnings.Count == 0) io.Console.MarkupLine("[green]sanity checks passed[/] (finite non-zero gradients, deterministic forward, every image in the ball, worst case <= clean)");
    }

    private static string F(double v) => EvalCommand.Fixed(v, 2);
}
