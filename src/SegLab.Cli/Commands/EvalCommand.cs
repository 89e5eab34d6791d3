// seglab eval and seglab merge: a model over a dataset split (or the merge of shard outputs), a table on the
// console, and OUTDIR/metrics.json, OUTDIR/state.json (mergeable) and OUTDIR/report.html.
using System.CommandLine;
using SegLab.Data;
using SegLab.Evaluation;
using SegLab.Models;
using Spectre.Console;

namespace SegLab.Cli;

internal static class EvalCommand
{
    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model") { Description = "Model name from the model table (cgnet-camvid, espnet-camvid), a seglab train run folder, or FILE.onnx with its card FILE.onnx.json.", Required = true };
        var data = new Option<string>("--data") { Description = "Dataset folder (CamVid, VOC or a folder with classes.json).", Required = true };
        var split = new Option<string>("--split") { Description = "Split to evaluate.", DefaultValueFactory = _ => "val" };
        var weights = new Option<string?>("--weights") { Description = "Weights file (default: the model's pretrained weights)." };
        var layout = new Option<string>("--layout") { Description = "Dataset layout: auto, camvid, voc, folder.", DefaultValueFactory = _ => "auto" };
        var classes = new Option<string?>("--classes") { Description = "Class table: camvid, voc, or a classes.json file." };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N images." };
        var shard = ShardOption("Evaluate shard i of n (i/n, 1-based) for `seglab merge`, or auto: the task of a Slurm job array or Kubernetes Indexed Job (docs/scale.md).");
        var shardCount = ShardCountOption();
        var skipBad = new Option<bool>("--skip-bad") { Description = "Log unreadable or invalid files and go on (the report lists them)." };
        var worst = new Option<int>("--worst") { Description = "Worst images (by image mIoU) shown in the report.", DefaultValueFactory = _ => 6 };
        var best = new Option<int?>("--best") { Description = "Best images (by image mIoU) shown in the report (default: as many as --worst)." };
        var minFrameDistance = new Option<int>("--min-frame-distance")
        {
            Description = "Least frame distance between two shown images of one video sequence (CamVid ids SEQ_FRAME), so one scene is not shown twice.",
            DefaultValueFactory = _ => ExampleSelection.DefaultMinFrameDistance,
        };
        var exclude = new Option<string?>("--exclude") { Description = "Class ids or names left out of the foreground-only metrics (comma-separated)." };
        var output = new Option<string>("--out") { Description = "Output folder.", Required = true };
        var cmd = new Command("eval", "Evaluate a model on a dataset split: metrics table, metrics.json and report.html.")
        { model, data, split, weights, layout, classes, limit, shard, shardCount, skipBad, worst, best, minFrameDistance, exclude, output };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            // Options first, then the model and the data (a usage error reads the same whatever is installed).
            if (r.GetValue(limit) is < 1) throw new ArgumentException($"--limit must be at least 1, got {r.GetValue(limit)}.");
            var shardSpec = Shard(r, shard, shardCount);
            if (r.GetValue(worst) < 0) throw new ArgumentException($"--worst must be at least 0, got {r.GetValue(worst)}.");
            if (r.GetValue(best) is < 0) throw new ArgumentException($"--best must be at least 0, got {r.GetValue(best)}.");
            if (r.GetValue(minFrameDistance) < 0) throw new ArgumentException($"--min-frame-distance must be at least 0 (0: any two frames may be shown), got {r.GetValue(minFrameDistance)}.");
            var m = SegLab.Training.TrainedModel.Resolve(r.GetValue(model)!, r.GetValue(weights));
            ISegmentationDataset ds = Datasets.Open(r.GetValue(data)!, r.GetValue(split)!, r.GetValue(layout)!, r.GetValue(classes));
            if (r.GetValue(limit) is int n) ds = Datasets.Limit(ds, n);
            if (shardSpec is not null) ds = Datasets.Shard(ds, shardSpec.Index0, shardSpec.Count);
            var options = new EvaluationOptions
            {
                SkipBad = r.GetValue(skipBad),
                WorstImages = r.GetValue(worst),
                BestImages = r.GetValue(best),
                MinFrameDistance = r.GetValue(minFrameDistance),
                ExcludedClasses = ParseClasses(r.GetValue(exclude), ds.Classes),
            };
            var result = Run(io, m, ds, options);
            var files = EvaluationOutput.Write(result, r.GetValue(output)!, new EvaluationRunInfo(CommandLine(), shardSpec?.ToString(), r.GetValue(layout)!, r.GetValue(classes))
            {
                ShardSource = shardSpec?.SourceName,
                ShardTask = shardSpec?.Task,
                Limit = r.GetValue(limit),
            });
            PrintSummary(io, result.Summary, result.Classes, result.Skipped);
            PrintCaveat(io, m.Name);
            io.Console.MarkupLine($"{result.Summary.Images} images in {result.Seconds:F1} s ({result.ImagesPerSecond:F2} images/s).");
            io.Console.MarkupLine($"Report: [blue]{Markup.Escape(files.Report)}[/]  metrics: [blue]{Markup.Escape(files.Metrics)}[/]");
            return 0;
        });
        return cmd;
    }

    public static Command CreateMerge(CliIO io)
    {
        var inputs = new Argument<string[]>("shards")
        {
            Description = "Output folders of `seglab eval --shard` or `seglab attack --shard` runs, or quoted patterns with * and ? ('runs/sea-shard-*').",
            Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string>("--out") { Description = "Output folder for the merged metrics and report.", Required = true };
        var worst = new Option<int>("--worst") { Description = "Worst images shown in the report.", DefaultValueFactory = _ => 6 };
        var partial = new Option<bool>("--partial") { Description = "Merge an incomplete set of shards; metrics.json and the report then say which shards are missing." };
        var cmd = new Command("merge", "Merge the outputs of sharded `seglab eval` or `seglab attack` runs into the results of the whole split.") { inputs, output, worst, partial };
        cmd.SetAction(r =>
        {
            var dirs = ShardFolders.Expand(r.GetValue(inputs)!);
            if (dirs.Count > 0 && dirs.All(d => File.Exists(Path.Combine(d, AttackCommand.StateFile))) && dirs.All(d => !File.Exists(EvaluationFiles.In(d).Metrics)))
                return AttackCommand.Merge(io, dirs, r.GetValue(output)!, r.GetValue(partial));
            var merged = EvaluationOutput.Merge(dirs, r.GetValue(output)!, r.GetValue(worst), CommandLine(), r.GetValue(partial));
            PrintSummary(io, merged.Summary, merged.Classes, merged.Skipped);
            io.Console.MarkupLine($"Merged {dirs.Count} shard(s), {merged.Summary.Images} images."
                + (merged.MissingShards.Count > 0 ? $" [yellow]Partial: shards {string.Join(", ", merged.MissingShards)} missing.[/]" : ""));
            io.Console.MarkupLine($"Report: [blue]{Markup.Escape(merged.Files.Report)}[/]  metrics: [blue]{Markup.Escape(merged.Files.Metrics)}[/]");
            return 0;
        });
        return cmd;
    }

    /// <summary>Runs the evaluation under a progress bar.</summary>
    internal static EvaluationResult Run(CliIO io, SegmentationModel model, ISegmentationDataset ds, EvaluationOptions options)
    {
        EvaluationResult result = null!;
        io.Console.MarkupLine($"Evaluating [bold]{Markup.Escape(model.Name)}[/] on {Markup.Escape(ds.Name)} {Markup.Escape(ds.Split)} ({ds.Count} images, {Markup.Escape(Cli.Display(ds.Root))}).");
        CliProgress.Run(io, "evaluating", ds.Count, report =>
        {
            result = Evaluator.Run(model, ds, options, new SyncProgress<EvaluationProgress>(p =>
                report(p.Done, $"evaluating {p.Id}, {p.ImagesPerSecond:F2} img/s, mIoU so far {p.RunningMIoU:F1}")));
            return $"evaluated, mIoU {result.Summary.MIoU:F2}";
        });
        return result;
    }

    /// <summary>Prints the per-class table and the summary metrics.</summary>
    internal static void PrintSummary(CliIO io, SegLab.Metrics.MetricSummary s, ClassTable classes, IReadOnlyList<SkippedFile> skipped)
    {
        var perClass = new Table().Border(TableBorder.Rounded).AddColumns("class", "IoU", "accuracy");
        perClass.Columns[1].RightAligned();
        perClass.Columns[2].RightAligned();
        for (int c = 0; c < classes.Count; c++)
            perClass.AddRow(Markup.Escape(classes.Names[c]), Pct(s.PerClassIoU[c]), Pct(s.PerClassAccuracy[c]));
        var metrics = new Table().Border(TableBorder.Rounded).AddColumns("metric", "value");
        metrics.Columns[1].RightAligned();
        metrics.AddRow("dataset mIoU", Pct(s.MIoU));
        metrics.AddRow("image mIoU", Pct(s.ImageMIoU));
        metrics.AddRow("image mIoU (GT classes only)", Pct(s.ImageMIoUGtOnly));
        metrics.AddRow("pixel accuracy (pooled)", Pct(s.PixelAccuracy));
        metrics.AddRow("pixel accuracy (mean of images)", Pct(s.MeanImagePixelAccuracy));
        metrics.AddRow("mean class accuracy", Pct(s.MeanClassAccuracy));
        if (s.ExcludedClasses.Length > 0)
        {
            metrics.AddRow("foreground mIoU", Pct(s.ForegroundMIoU));
            metrics.AddRow("foreground image mIoU", Pct(s.ForegroundImageMIoU));
        }
        metrics.AddRow("size-bias gap (image - dataset mIoU)", Pct(s.SizeBiasGap));
        foreach (var bin in s.ComponentBins)
            metrics.AddRow($"object recall, {Markup.Escape(bin.Name)} ({bin.Count} objects)", Pct(bin.MeanRecall));
        metrics.AddRow("images", s.Images.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Side by side on a terminal; one after the other elsewhere (Columns pads every line to the console width).
        if (CliProgress.IsLive(io)) io.Console.Write(new Columns(perClass, metrics));
        else
        {
            io.Console.Write(perClass);
            io.Console.Write(metrics);
        }
        if (skipped.Count > 0)
        {
            io.Console.MarkupLine($"[yellow]{skipped.Count} file(s) skipped:[/]");
            foreach (var f in skipped) io.Console.MarkupLine($"  [yellow]{Markup.Escape(f.Id)}[/]: {Markup.Escape(f.Problem)}");
        }
    }

    /// <summary>The model card's caveat (CGNet: trained on val too), where the model has one.</summary>
    internal static void PrintCaveat(CliIO io, string model)
    {
        if (ModelTable.TryGet(model)?.Card?.Caveat is { } caveat)
            io.Console.MarkupLine($"[yellow]note[/]: {Markup.Escape(model)} was {Markup.Escape(caveat)} (seglab models).");
    }

    /// <summary>
    /// `--shard`: "i/n", or "auto" for the task of a Slurm job array or Kubernetes Indexed Job, read from this process's
    /// environment (<see cref="ShardSpec"/>; the count of an Indexed Job from <paramref name="shardCount"/> or SEGLAB_SHARD_COUNT).
    /// The one entry point every sharded command uses.
    /// </summary>
    /// <param name="text">The option's value.</param>
    /// <param name="shardCount">`--shard-count`, or null.</param>
    internal static ShardSpec ParseShard(string text, int? shardCount = null) => ShardSpec.Parse(text, shardCount, ShardSpec.ProcessEnvironment());

    /// <summary>The `--shard` option with a command's own description.</summary>
    /// <param name="description">What a shard of this command covers.</param>
    internal static Option<string?> ShardOption(string description) => new("--shard") { Description = description };

    /// <summary>The `--shard-count` option (a Kubernetes Indexed Job's count, with --shard auto).</summary>
    internal static Option<int?> ShardCountOption() =>
        new("--shard-count") { Description = $"With --shard auto in a Kubernetes Indexed Job: the number of shards (its completions; or set {ShardSpec.CountVariable})." };

    /// <summary>The shard asked for by <paramref name="shard"/> and <paramref name="shardCount"/>, or null for the whole split.</summary>
    /// <param name="r">The parse result.</param>
    /// <param name="shard">The `--shard` option.</param>
    /// <param name="shardCount">The `--shard-count` option.</param>
    internal static ShardSpec? Shard(ParseResult r, Option<string?> shard, Option<int?> shardCount)
    {
        int? count = r.GetValue(shardCount);
        if (r.GetValue(shard) is { } text) return ParseShard(text, count);
        if (count is not null) throw new ArgumentException("--shard-count goes with --shard auto.");
        return null;
    }

    internal static int[] ParseClasses(string? text, ClassTable classes)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var ids = new List<int>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int id = int.TryParse(raw, out var v) ? v : Array.FindIndex(classes.Names, n => string.Equals(n, raw, StringComparison.OrdinalIgnoreCase));
            if (id < 0 || id >= classes.Count)
                throw new ArgumentException($"--exclude: '{raw}' is not a class of {classes.Name} (classes: {string.Join(", ", classes.Names)}).");
            ids.Add(id);
        }
        return [.. ids.Distinct()];
    }

    internal static string CommandLine() => "seglab " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));

    private static string Pct(double v) => Fixed(v, 2);

    /// <summary>A figure with <paramref name="digits"/> decimals; "-" for NaN, and never "-0.00" for a value that rounds to zero.</summary>
    internal static string Fixed(double v, int digits) =>
        double.IsNaN(v) ? "-" : (Math.Round(v, digits) == 0 ? 0 : v).ToString("F" + digits.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
}
