// seglab weak train-vit / vit-iseg: the class-token vision transformer trained on image-level tags (iSeg's attention
// source a, issue 20) and iSeg masks from its attention (A0 alone, the base single pass, full iSeg at each gamma).
using System.CommandLine;
using System.Globalization;
using SegLab.Data;
using SegLab.TrainingFree;
using SegLab.Weak;
using Spectre.Console;

namespace SegLab.Cli;

internal static class WeakVitCommand
{
    /// <summary>The subcommands to add under <c>seglab weak</c>.</summary>
    public static Command[] Create(CliIO io) => [Train(io), Iseg(io)];

    private static Command Train(CliIO io)
    {
        var data = new Option<string>("--data") { Description = "Dataset folder (CamVid, VOC or a folder with classes.json).", Required = true };
        var split = new Option<string>("--split") { Description = "Training split.", DefaultValueFactory = _ => "train" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N images." };
        var output = new Option<string>("--out") { Description = "Run folder (checkpoints, model.safetensors, summary.json).", Required = true };
        var crop = new Option<string>("--crop") { Description = "Crop size HEIGHTxWIDTH: the tags' crops and the model's input.", DefaultValueFactory = _ => "120x160" };
        var minPixels = new Option<int>("--min-pixels") { Description = "A class is present in a crop from this many pixels on (void ignored).", DefaultValueFactory = _ => 200 };
        var dim = new Option<int>("--dim") { Description = "Embedding width.", DefaultValueFactory = _ => 96 };
        var depth = new Option<int>("--depth") { Description = "Transformer blocks.", DefaultValueFactory = _ => 4 };
        var heads = new Option<int>("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => 4 };
        var patch = new Option<int>("--patch") { Description = "Patch size.", DefaultValueFactory = _ => 8 };
        var mlp = new Option<int>("--mlp-ratio") { Description = "MLP width as a multiple of the embedding width.", DefaultValueFactory = _ => 4 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs over the tagged crops.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Crops per step.", DefaultValueFactory = _ => 16 };
        var lr = new Option<double>("--lr") { Description = "Peak AdamW learning rate (cosine decay, 5% linear warm-up).", DefaultValueFactory = _ => 5e-4 };
        var wd = new Option<double>("--weight-decay") { Description = "AdamW weight decay.", DefaultValueFactory = _ => 0.05 };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, order and flips.", DefaultValueFactory = _ => 0 };
        var val = new Option<string?>("--val-split") { Description = "Split to score tag predictions on at the end (none: 'none').", DefaultValueFactory = _ => "val" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var cmd = new Command("train-vit", "Train the class-token vision transformer (one token per class, MCTformer-style) on image-level tags of crops; its attention feeds iSeg.")
        { data, split, limit, output, crop, minPixels, dim, depth, heads, patch, mlp, epochs, batch, lr, wd, seed, val, resume };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            var (h, w) = WeakCommand.Size(r.GetValue(crop)!, "--crop");
            var options = new VitTrainOptions
            {
                Model = new VitOptions { Dim = r.GetValue(dim), Depth = r.GetValue(depth), Heads = r.GetValue(heads), Patch = r.GetValue(patch), MlpRatio = r.GetValue(mlp), Height = h, Width = w },
                Tags = new TagOptions(h, w, h, w, r.GetValue(minPixels)),
                Epochs = r.GetValue(epochs), Batch = r.GetValue(batch), Lr = r.GetValue(lr), WeightDecay = r.GetValue(wd), Seed = r.GetValue(seed),
            };
            options.Validate();
            string outDir = r.GetValue(output)!;
            var train = Open(r.GetValue(data)!, r.GetValue(split)!, r.GetValue(limit));
            string? valSplit = r.GetValue(val);
            var valData = valSplit is null || valSplit == "none" ? null : Open(r.GetValue(data)!, valSplit, r.GetValue(limit));
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                VitTrainer trainer = null!;
                CliProgress.Run(io, "taking tags", train.Count, report =>
                {
                    trainer = new VitTrainer(options, train, valData, outDir, r.GetValue(resume), new SyncProgress<int>(i => report(i, $"image {i}/{train.Count}")));
                    return $"tagged {train.Count} image(s): {trainer.Statistics.Crops} crops, {trainer.Statistics.MeanTags.ToString("F2", CultureInfo.InvariantCulture)} tags each";
                });
                var m = options.Model;
                io.Console.MarkupLine(Markup.Escape($"training the class-token ViT (dim {m.Dim}, depth {m.Depth}, {m.Heads} heads, patch {m.Patch}, {trainer.Model.GridH}x{trainer.Model.GridW} patches): "
                    + $"{trainer.TotalSteps} steps of {options.Batch} crops" + (trainer.Step > 0 ? $", resuming at step {trainer.Step}" : "") + $" -> {outDir}"));
                VitTrainSummary summary = null!;
                CliProgress.Run(io, "training", trainer.TotalSteps, line =>
                {
                    summary = trainer.Run(new SyncProgress<VitTrainProgress>(p => line.Report(p.Step,
                        FormattableString.Invariant($"step {p.Step}/{p.TotalSteps} epoch {p.Epoch} loss {p.Loss:F4} {p.CropsPerSecond:F1} crops/s"))), cancel: cts.Token);
                    return summary.Steps >= trainer.TotalSteps ? $"trained {summary.Steps} steps" : $"stopped at step {summary.Steps}";
                }, start: trainer.Step);
                if (summary.Steps < trainer.TotalSteps)
                {
                    io.Console.MarkupLine($"[yellow]stopped at step {summary.Steps}[/]: continue with [blue]seglab weak train-vit ... --out {Markup.Escape(outDir)} --resume[/]");
                    return 130;
                }
                io.Console.MarkupLine(Markup.Escape("seconds per epoch: " + string.Join(", ", summary.EpochSeconds.Select(s => s.ToString("F0", CultureInfo.InvariantCulture)))));
                if (summary.Val is { } q)
                {
                    var table = new Table().Border(TableBorder.Rounded).AddColumns("class", "val crops tagged", "precision", "recall", "F1");
                    for (int c = 0; c < q.Classes.Length; c++)
                        table.AddRow(Markup.Escape(q.Classes[c]), q.Positives[c].ToString(CultureInfo.InvariantCulture), Pct(q.Precision[c]), Pct(q.Recall[c]), Pct(q.F1[c]));
                    io.Console.Write(table);
                    io.Console.MarkupLine(Markup.Escape($"mean F1 {Pct(q.MeanF1)} over {q.Crops} val crops"));
                }
                io.Console.MarkupLine(Markup.Escape($"model: {Path.Combine(outDir, "model.safetensors")}; summary: {Path.Combine(outDir, VitTrainer.SummaryFile)}"));
                return 0;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return cmd;
    }

    private static Command Iseg(CliIO io)
    {
        var vit = new Option<string>("--vit") { Description = "Finished train-vit run folder.", Required = true };
        var data = new Option<string>("--data") { Description = "Dataset folder.", Required = true };
        var split = new Option<string>("--split") { Description = "Split whose crops are scored.", DefaultValueFactory = _ => "val" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N images." };
        var output = new Option<string?>("--out") { Description = "Folder for vit-iseg.json." };
        var gammas = new Option<string>("--gamma") { Description = "Cat-Cross factors, comma-separated.", DefaultValueFactory = _ => "1,1.6" };
        var lambdas = new Option<string>("--lambda") { Description = "Entropy step sizes of full iSeg, comma-separated.", DefaultValueFactory = _ => "0.015" };
        var iterations = new Option<string>("--iterations") { Description = "Iteration counts K of full iSeg, comma-separated.", DefaultValueFactory = _ => "10" };
        var last = new Option<int>("--last-layers") { Description = "Blocks averaged for S and A0, from the last.", DefaultValueFactory = _ => 2 };
        var checkpoint = new Option<bool>("--checkpoint") { Description = "Use the run's latest resumable checkpoint (an unfinished run) instead of model.safetensors." };
        var quality = new Option<bool>("--tag-quality") { Description = "Also score the model's tag predictions on the same crops (sigmoid > 0.5)." };
        var cmd = new Command("vit-iseg", "iSeg masks from the class-token ViT's attention on a split's crops: A0 alone, the base single pass and full iSeg at each gamma, scored with the crops' true tags.")
        { vit, data, split, limit, output, gammas, lambdas, iterations, last, checkpoint, quality };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            var options = new VitIsegOptions
            {
                Gammas = List(r.GetValue(gammas)!, "--gamma"), Lambdas = List(r.GetValue(lambdas)!, "--lambda"),
                Iterations = Array.ConvertAll(List(r.GetValue(iterations)!, "--iterations"), v => (int)v), LastLayers = r.GetValue(last),
            };
            options.Validate();
            ClassTokenVit model;
            string[] classes;
            if (r.GetValue(checkpoint))
            {
                (model, classes, long step) = VitTrainer.LoadCheckpoint(r.GetValue(vit)!);
                io.Console.MarkupLine(Markup.Escape($"using the checkpoint of step {step}"));
            }
            else (model, classes) = VitTrainer.Load(r.GetValue(vit)!);
            var ds = Open(r.GetValue(data)!, r.GetValue(split)!, r.GetValue(limit));
            if (r.GetValue(quality))
            {
                var mo = model.Options;
                var q = VitTrainer.Quality(model, ds, new TagOptions(mo.Height, mo.Width, mo.Height, mo.Width, 200));
                io.Console.MarkupLine(Markup.Escape($"tag F1 on {q.Crops} crops (present from 200 px): mean {Pct(q.MeanF1)}; "
                    + string.Join(", ", q.Classes.Select((c, i) => $"{c} {Pct(q.F1[i])}"))));
            }
            VitIsegResult result = null!;
            CliProgress.Run(io, "iSeg on ViT attention", ds.Count * 9, report =>
            {
                result = VitIseg.Run(model, classes, ds, options, r.GetValue(output), new SyncProgress<int>(i => report(i, $"crop {i}")));
                return $"{result.Crops} crops";
            });
            var table = new Table().Border(TableBorder.Rounded).AddColumns("variant", "gamma", "lambda", "K", "mIoU");
            foreach (var row in result.Rows)
                table.AddRow(row.Variant, Inv(row.Gamma), Inv(row.Lambda), Inv(row.Iterations), row.MIoU.ToString("F2", CultureInfo.InvariantCulture));
            io.Console.Write(table);
            io.Console.MarkupLine(Markup.Escape($"{result.Crops} crops, S and A0 averaged over the last {result.LastLayers} block(s), {result.SecondsPerCrop.ToString("F3", CultureInfo.InvariantCulture)} s per crop"));
            return 0;
        });
        return cmd;
    }

    private static ISegmentationDataset Open(string dir, string split, int? limit)
    {
        if (limit is < 1) throw new ArgumentException($"--limit must be at least 1, got {limit}.");
        var ds = Datasets.Open(dir, split, "auto", null);
        return limit is int n ? Datasets.Limit(ds, n) : ds;
    }

    private static double[] List(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                throw new ArgumentException($"{option}: '{parts[i]}' in '{text}' is not a number.");
        if (values.Length == 0) throw new ArgumentException($"{option}: no values in '{text}'.");
        return values;
    }

    private static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);
}
