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
        var shard = new Option<string?>("--shard") { Description = "Evaluate shard i of n (i/n, 1-based), for `seglab merge`." };
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
        { model, data, split, weights, layout, classes, limit, shard, skipBad, worst, best, minFrameDistance, exclude, output };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            // Options first, then the model and the data (a usage error reads the same whatever is installed).
            if (r.GetValue(limit) is < 1) throw new ArgumentException($"--limit must be at least 1, got {r.GetValue(limit)}.");
            string? shardText = r.GetValue(shard);
            var shardSpec = shardText is null ? ((int Index, int Count)?)null : ParseShard(shardText);
            if (r.GetValue(worst) < 0) throw new ArgumentException($"--worst must be at least 0, got {r.GetValue(worst)}.");
            if (r.GetValue(best) is < 0) throw new ArgumentException($"--best must be at least 0, got {r.GetValue(best)}.");
            if (r.GetValue(minFrameDistance) < 0) throw new ArgumentException($"--min-frame-distance must be at least 0 (0: any two frames may be shown), got {r.GetValue(minFrameDistance)}.");
            var m = SegLab.Training.TrainedModel.Resolve(r.GetValue(model)!, r.GetValue(weights));
            ISegmentationDataset ds = Datasets.Open(r.GetValue(data)!, r.GetValue(split)!, r.GetValue(layout)!, r.GetValue(classes));
            if (r.GetValue(limit) is int n) ds = Datasets.Limit(ds, n);
            if (shardSpec is var (i, count)) ds = Datasets.Shard(ds, i - 1, count);
            var options = new EvaluationOptions
            {
                SkipBad = r.GetValue(skipBad),
                WorstImages = r.GetValue(worst),
                BestImages = r.GetValue(best),
                MinFrameDistance = r.GetValue(minFrameDistance),
                ExcludedClasses = ParseClasses(r.GetValue(exclude), ds.Classes),
            };
            var result = Run(io, m, ds, options);
            var files = EvaluationOutput.Write(result, r.GetValue(output)!, new EvaluationRunInfo(CommandLine(), shardText, r.GetValue(layout)!, r.GetValue(classes)));
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
        var inputs = new Argument<string[]>("shards") { Description = "Output folders of `seglab eval --shard i/n` runs.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Output folder for the merged metrics and report.", Required = true };
        var worst = new Option<int>("--worst") { Description = "Worst images shown in the report.", DefaultValueFactory = _ => 6 };
        var partial = new Option<bool>("--partial") { Description = "Merge an incomplete set of shards; metrics.json and the report then say which shards are missing." };
        var cmd = new Command("merge", "Merge the outputs of sharded `seglab eval` runs into the metrics of the whole split.") { inputs, output, worst, partial };
        cmd.SetAction(r =>
        {
            var merged = EvaluationOutput.Merge(r.GetValue(inputs)!, r.GetValue(output)!, r.GetValue(worst), CommandLine(), r.GetValue(partial));
            PrintSummary(io, merged.Summary, merged.Classes, merged.Skipped);
            io.Console.MarkupLine($"Merged {r.GetValue(inputs)!.Length} shard(s), {merged.Summary.Images} images."
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

    internal static (int Index, int Count) ParseShard(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int i) && int.TryParse(parts[1], out int n) && n >= 1 && i >= 1 && i <= n)
            return (i, n);
        throw new ArgumentException($"--shard must be i/n with 1 <= i <= n (for example 1/4), got '{text}'.");
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
