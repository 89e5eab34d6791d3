// seglab weak: segmentation from image-level labels (IRN/PSA pipeline, PAPERS.md C): tags of crops, a multi-label
// classifier trained on them, and CAM pseudo-masks scored against the ground truth. Every stage resumes.
using System.CommandLine;
using System.Globalization;
using SegLab.Data;
using SegLab.Weak;
using Spectre.Console;

namespace SegLab.Cli;

internal static class WeakCommand
{
    public static Command Create(CliIO io)
    {
        var cmd = new Command("weak", "Weak supervision from image-level labels: tags, a tag classifier, CAM pseudo-masks scored against the ground truth.");
        cmd.Subcommands.Add(Tags(io));
        cmd.Subcommands.Add(TrainClassifier(io));
        cmd.Subcommands.Add(Cam(io));
        cmd.Subcommands.Add(TrainAffinity(io));
        cmd.Subcommands.Add(Refine(io));
        cmd.Subcommands.Add(Pseudo(io));
        cmd.Subcommands.Add(Run(io));
        foreach (var vit in WeakVitCommand.Create(io)) cmd.Subcommands.Add(vit);
        return cmd;
    }

    private sealed record DataOptions(Option<string> Data, Option<string> Split, Option<string> Layout, Option<string?> Classes, Option<int?> Limit);

    private static DataOptions DataOpts(string defaultSplit)
    {
        return new DataOptions(
            new Option<string>("--data") { Description = "Dataset folder (CamVid, VOC or a folder with classes.json).", Required = true },
            new Option<string>("--split") { Description = "Split.", DefaultValueFactory = _ => defaultSplit },
            new Option<string>("--layout") { Description = "Dataset layout: auto, camvid, voc, folder.", DefaultValueFactory = _ => "auto" },
            new Option<string?>("--classes") { Description = "Class table: camvid, voc, or a classes.json file." },
            new Option<int?>("--limit") { Description = "Use only the first N images." });
    }

    private static void AddTo(Command c, DataOptions d)
    {
        c.Options.Add(d.Data); c.Options.Add(d.Split); c.Options.Add(d.Layout); c.Options.Add(d.Classes); c.Options.Add(d.Limit);
    }

    private static ISegmentationDataset Open(ParseResult r, DataOptions d, string? split = null)
    {
        var ds = Datasets.Open(r.GetValue(d.Data)!, split ?? r.GetValue(d.Split)!, r.GetValue(d.Layout)!, r.GetValue(d.Classes));
        return r.GetValue(d.Limit) is int n ? Datasets.Limit(ds, n) : ds;
    }

    private static void CheckLimit(ParseResult r, DataOptions d)
    {
        if (r.GetValue(d.Limit) is int n && n < 1) throw new ArgumentException($"--limit must be at least 1, got {n}.");
    }

    private sealed record TagOpts(Option<string> Crop, Option<string?> Stride, Option<int?> MinPixels);

    private static TagOpts TagOptionsFor(Command c)
    {
        var t = new TagOpts(
            new Option<string>("--crop") { Description = "Tag crops HEIGHTxWIDTH, 'whole' for whole images, or auto: whole images where the dataset has a background class (VOC style), else 120x160 crops (CamVid's whole-image tags are nearly constant).", DefaultValueFactory = _ => "auto" },
            new Option<string?>("--stride") { Description = "Step between crops HEIGHTxWIDTH (default: the crop size, a grid)." },
            new Option<int?>("--min-pixels") { Description = "A class is present in a crop from this many pixels on (void ignored; default: 200 for crops, 1 for whole images)." });
        c.Options.Add(t.Crop); c.Options.Add(t.Stride); c.Options.Add(t.MinPixels);
        return t;
    }

    /// <summary>
    /// The tag options of the command line for the dataset's classes (--crop auto: whole images where it has a
    /// background class, so <paramref name="classes"/> is called only then; null: check what needs no dataset).
    /// </summary>
    private static TagOptions ParseTags(ParseResult r, TagOpts t, Func<ClassTable>? classes)
    {
        string crop = r.GetValue(t.Crop)!;
        if (crop.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            if (r.GetValue(t.MinPixels) is < 1 and var m) throw new ArgumentException($"--crop/--stride/--min-pixels: tags: min pixels must be >= 1, got {m}.");
            if (r.GetValue(t.Stride) is { } st) Size(st, "--stride");
            crop = classes is null || ClassMapLabels.BackgroundClass(classes()) is null ? "120x160" : "whole";
        }
        bool whole = crop.Equals("whole", StringComparison.OrdinalIgnoreCase);
        int min = r.GetValue(t.MinPixels) ?? (whole ? 1 : 200);
        TagOptions o;
        if (whole) o = TagOptions.WholeImage(min);
        else
        {
            var (h, w) = Size(crop, "--crop");
            var (sy, sx) = r.GetValue(t.Stride) is { } s ? Size(s, "--stride") : (h, w);
            o = new TagOptions(h, w, sy, sx, min);
        }
        try { o.Validate(); }
        catch (ArgumentException e) { throw new ArgumentException("--crop/--stride/--min-pixels: " + e.Message, e); }
        return o;
    }

    /// <summary>HEIGHTxWIDTH with positive numbers; the error names <paramref name="option"/>.</summary>
    internal static (int, int) Size(string text, string option)
    {
        var p = text.Split('x', 'X');
        if (p.Length == 2 && int.TryParse(p[0], CultureInfo.InvariantCulture, out int h) && int.TryParse(p[1], CultureInfo.InvariantCulture, out int w) && h > 0 && w > 0)
            return (h, w);
        throw new ArgumentException($"{option}: '{text}' is not HEIGHTxWIDTH with positive numbers (e.g. 120x160).");
    }

    private static Command Tags(CliIO io)
    {
        var d = DataOpts("train");
        var json = new Option<bool>("--json") { Description = "Print the counts as JSON." };
        var cmd = new Command("tags", "Image-level tags of a dataset's crops or whole images: how many tags each class gets.") { json };
        AddTo(cmd, d);
        var t = TagOptionsFor(cmd);
        cmd.SetAction(r =>
        {
            CheckLimit(r, d);
            ParseTags(r, t, null);
            var ds = Open(r, d);
            var options = ParseTags(r, t, () => ds.Classes);
            List<TaggedCrop> crops = null!;
            CliProgress.Run(io, "taking tags", ds.Count, report =>
            {
                crops = ImageTags.Of(ds, options, new SyncProgress<int>(i => report(i, $"image {i}/{ds.Count}")));
                return $"tagged {ds.Count} image(s)";
            });
            var stats = ImageTags.Statistics(crops, ds.Classes.Count);
            if (r.GetValue(json))
            {
                io.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { tags = options.ToString(), crops = stats.Crops, empty = stats.Empty, meanTags = stats.MeanTags, perClass = ds.Classes.Names.Zip(stats.PerClass).ToDictionary(p => p.First, p => p.Second) }));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("class", "crops tagged", "share");
            for (int c = 0; c < ds.Classes.Count; c++)
                table.AddRow(Markup.Escape(ds.Classes.Names[c]), Inv(stats.PerClass[c]), Inv(100.0 * stats.PerClass[c] / Math.Max(1, stats.Crops), "F1") + "%");
            io.Console.Write(table);
            io.Console.MarkupLine(Markup.Escape($"{stats.Crops} regions ({options}), {stats.MeanTags.ToString("F2", CultureInfo.InvariantCulture)} tags per region, {stats.Empty} without any tag"));
            return 0;
        });
        return cmd;
    }

    private static Command TrainClassifier(CliIO io)
    {
        var d = DataOpts("train");
        var output = new Option<string>("--out") { Description = "Run folder (checkpoints, model.safetensors, summary.json).", Required = true };
        var encoder = new Option<string>("--encoder") { Description = $"Encoder: {string.Join(", ", WeakEncoders.Names)}.", DefaultValueFactory = _ => WeakEncoders.Default };
        var epochs = new Option<int>("--epochs") { Description = "Epochs over the tagged crops.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Crops per step.", DefaultValueFactory = _ => 8 };
        var lr = new Option<double>("--lr") { Description = "Encoder learning rate (the classifier gets 10x, as IRN).", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, order and flips.", DefaultValueFactory = _ => 0 };
        var val = new Option<string?>("--val-split") { Description = "Split to score tag predictions on at the end (none: 'none').", DefaultValueFactory = _ => "val" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var freeze = new Option<bool>("--freeze-encoder") { Description = "Train the classifier alone, the encoder frozen at its initial (ImageNet) weights (for a handful of images, which would fine-tune it to memorise them)." };
        var cmd = new Command("train-classifier", "Train the multi-label tag classifier (encoder, global average pooling, bias-free 1x1 classifier; multilabel soft-margin loss).") { output, encoder, epochs, batch, lr, seed, val, resume, freeze };
        AddTo(cmd, d);
        var t = TagOptionsFor(cmd);
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            CheckLimit(r, d);
            var options = new TagTrainOptions
            {
                Encoder = r.GetValue(encoder)!, Tags = ParseTags(r, t, null), Epochs = r.GetValue(epochs), Batch = r.GetValue(batch), Lr = r.GetValue(lr), Seed = r.GetValue(seed),
                FreezeEncoder = r.GetValue(freeze),
            };
            options.Validate();
            var train = Open(r, d);
            options = options with { Tags = ParseTags(r, t, () => train.Classes) };
            string outDir = r.GetValue(output)!;
            string? valSplit = r.GetValue(val);
            var valData = valSplit is null || valSplit == "none" ? null : Open(r, d, valSplit);
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                TagTrainer trainer = null!;
                CliProgress.Run(io, "taking tags", train.Count, report =>
                {
                    trainer = new TagTrainer(options, train, valData, outDir, r.GetValue(resume), new SyncProgress<int>(i => report(i, $"image {i}/{train.Count}")));
                    return $"tagged {train.Count} image(s): {trainer.Statistics.Crops} crops, {trainer.Statistics.MeanTags.ToString("F2", CultureInfo.InvariantCulture)} tags each";
                });
                io.Console.MarkupLine(Markup.Escape($"training the tag classifier on {WeakEncoders.Describe(options.Encoder)}{(options.FreezeEncoder ? ", frozen" : "")}: {trainer.TotalSteps} steps of {options.Batch} crops ({options.Tags})"
                    + (trainer.Step > 0 ? $", resuming at step {trainer.Step}" : "") + $" -> {outDir}"));
                TagTrainSummary summary = null!;
                CliProgress.Run(io, "training", trainer.TotalSteps, line =>
                {
                    summary = trainer.Run(new SyncProgress<TagTrainProgress>(p => line.Report(p.Step,
                        FormattableString.Invariant($"step {p.Step}/{p.TotalSteps} epoch {p.Epoch} loss {p.Loss:F4} {p.CropsPerSecond:F1} crops/s"))), cancel: cts.Token);
                    return summary.Steps >= trainer.TotalSteps ? $"trained {summary.Steps} steps" : $"stopped at step {summary.Steps}";
                }, start: trainer.Step);
                if (summary.Steps < trainer.TotalSteps)
                {
                    io.Console.MarkupLine($"[yellow]stopped at step {summary.Steps}[/]: continue with [blue]seglab weak train-classifier ... --out {Markup.Escape(outDir)} --resume[/]");
                    return 130;
                }
                if (summary.Val is { } q)
                {
                    var table = new Table().Border(TableBorder.Rounded).AddColumns("class", "val crops tagged", "precision", "recall", "F1");
                    for (int c = 0; c < q.Classes.Length; c++)
                        table.AddRow(Markup.Escape(q.Classes[c]), Inv(q.Positives[c]), Pct(q.Precision[c]), Pct(q.Recall[c]), Pct(q.F1[c]));
                    io.Console.Write(table);
                    io.Console.MarkupLine(Markup.Escape($"mean F1 {Pct(q.MeanF1)} over {q.Crops} val crops"));
                }
                io.Console.MarkupLine(Markup.Escape($"classifier: {Path.Combine(outDir, "model.safetensors")}; summary: {Path.Combine(outDir, TagTrainer.SummaryFile)}"));
                return 0;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return cmd;
    }

    private static Command Cam(CliIO io)
    {
        var d = DataOpts("train");
        var classifier = new Option<string>("--classifier") { Description = "A finished seglab weak train-classifier run folder.", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder: ID.safetensors (CAMs at 1/4 size), ID.png (pseudo-masks), cam.json (scores).", Required = true };
        var scales = new Option<string>("--scales") { Description = "Test-time scales, comma-separated (IRN: 1,0.5,1.5,2).", DefaultValueFactory = _ => "1,0.5,1.5,2" };
        var noFlip = new Option<bool>("--no-flip") { Description = "No flip test-time augmentation." };
        var background = new Option<string>("--background") { Description = "Background rule of the pseudo-masks: a constant (0.15, IRN) or pow:ALPHA for (1 - max)^ALPHA (PSA: 4..32).", DefaultValueFactory = _ => "0.15" };
        var iseg = new Option<bool>("--iseg") { Description = "Also refine the CAMs by iSeg (entropy-reduced self-attention, iterated) over the cosine affinities of the classifier's features; writes ID.iseg.png and scores both." };
        var isegLambda = new Option<double>("--iseg-lambda") { Description = "iSeg's entropy step lambda (official code, VOC: 0.015).", DefaultValueFactory = _ => 0.015 };
        var isegIterations = new Option<int>("--iseg-iterations") { Description = "iSeg's propagation steps K (WSSS: 10).", DefaultValueFactory = _ => 10 };
        var affinityPower = new Option<double>("--affinity-power") { Description = "Exponent of the clamped cosine affinity (1: none; higher sharpens).", DefaultValueFactory = _ => 1 };
        var shard = EvalCommand.ShardOption("CAMs of shard i of n (i/n, 1-based; after --limit), or auto: the task of a Slurm job array or Kubernetes Indexed Job (docs/scale.md). Every shard writes its images' files into the same --out folder and its scores to cam.shard-I-of-N.json; a run without --shard over that folder then scores the whole set from the files (cam.json) without recomputing.");
        var shardCount = EvalCommand.ShardCountOption();
        var cmd = new Command("cam", "Class activation maps of a tag classifier over a dataset (flip and multi-scale), pseudo-masks from them, scored against the ground truth; resumes.") { classifier, output, scales, noFlip, background, iseg, isegLambda, isegIterations, affinityPower, shard, shardCount };
        AddTo(cmd, d);
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            CheckLimit(r, d);
            var s = r.GetValue(scales)!.Split(',').Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x
                : throw new ArgumentException($"--scales: '{v}' is not a number.")).ToArray();
            var options = new CamRunOptions
            {
                Cam = new CamOptions { Scales = s, Flip = !r.GetValue(noFlip) }, Background = BackgroundRule.Parse(r.GetValue(background)!),
                ISeg = r.GetValue(iseg) ? new SegLab.TrainingFree.RefinementOptions { Lambda = r.GetValue(isegLambda), Iterations = r.GetValue(isegIterations) } : null,
                AffinityPower = r.GetValue(affinityPower),
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException("--scales/--iseg-*/--affinity-power: " + e.Message, e); }
            string run = r.GetValue(classifier)!, outDir = r.GetValue(output)!;
            var model = TagTrainer.Load(run);
            var classes = TagTrainer.Classes(run);
            var shardSpec = EvalCommand.Shard(r, shard, shardCount);
            var ds = Open(r, d);
            if (shardSpec is not null) ds = Datasets.Shard(ds, shardSpec.Index0, shardSpec.Count);
            string resultFile = shardSpec is null ? CamRunResult.FileName : CamRunResult.ShardFileName(shardSpec.Index, shardSpec.Count);
            CamRunResult result = null!;
            CliProgress.Run(io, shardSpec is null ? "CAMs" : $"CAMs, shard {shardSpec}", ds.Count, report =>
            {
                result = CamRun.Run(model, classes, ds, outDir, options, new SyncProgress<(int Done, string Id)>(p => report(p.Done, $"image {p.Id}")),
                    trainedTags: TrainedTags(run), classifierSource: $"the classifier in {run}", resultFile: resultFile);
                return $"CAMs of {result.Images} image(s)" + (shardSpec is null ? "" : $" (shard {shardSpec}{(shardSpec.Task is { } task ? ", " + task : "")})")
                    + (result.Skipped > 0 ? $" ({result.Skipped} already done)" : "");
            });
            var table = new Table().Border(TableBorder.Rounded).AddColumns("pseudo-mask", "mIoU", "pixels covered");
            table.AddRow("argmax of tagged CAMs", Pct(result.ArgmaxMIoU / 100), "100%");
            table.AddRow(ConfidentRow("confident", options.Background.ToString(), result.BackgroundClass), Pct(result.ConfidentMIoU / 100), Pct(result.Coverage / 100));
            if (result.Refined is { } q)
            {
                table.AddRow("iSeg-refined, argmax", Pct(q.ArgmaxMIoU / 100), "100%");
                table.AddRow(ConfidentRow("iSeg-refined, confident", options.Background.ToString(), result.BackgroundClass), Pct(q.ConfidentMIoU / 100), Pct(q.Coverage / 100));
            }
            io.Console.Write(table);
            PerClass(io, ds.Classes.Names, result.PerClassConfidentIoU);
            string speed = result.Images > result.Skipped ? result.ImagesPerSecond.ToString("F2", CultureInfo.InvariantCulture) + " images/s" : "every image already done (scored from its files)";
            io.Console.MarkupLine(Markup.Escape($"{speed} (scales {string.Join(",", s.Select(v => v.ToString(CultureInfo.InvariantCulture)))}, flip {(!r.GetValue(noFlip) ? "on" : "off")}); scores: {Path.Combine(outDir, resultFile)}"
                + (shardSpec is null ? "" : $"; once every shard is done, the same command without --shard scores the whole set into {Path.Combine(outDir, CamRunResult.FileName)}")));
            return 0;
        });
        return cmd;
    }

    private static Command TrainAffinity(CliIO io)
    {
        var d = DataOpts("train");
        var cams = new Option<string>("--cams") { Description = "The --out folder of seglab weak cam on the same data and split (its confident regions give the pair labels).", Required = true };
        var classifier = new Option<string>("--classifier") { Description = "The finished tag classifier run the CAMs came from (frozen; its multi-level features feed the head).", Required = true };
        var output = new Option<string>("--out") { Description = "Run folder (checkpoints, model.safetensors, summary.json).", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Epochs over the images (PSA: 8).", DefaultValueFactory = _ => 8 };
        var batch = new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 4 };
        var lr = new Option<double>("--lr") { Description = "SGD learning rate (PSA: 0.1).", DefaultValueFactory = _ => 0.1 };
        var fg = new Option<double>("--fg") { Description = "Confident foreground: best tagged CAM above this (IRN: 0.30).", DefaultValueFactory = _ => 0.30 };
        var bg = new Option<double>("--bg") { Description = "Confident background: best tagged CAM at most this (IRN: 0.05).", DefaultValueFactory = _ => 0.05 };
        var radius = new Option<int>("--radius") { Description = "Pairs within this radius on the CAM grid (PSA: 5).", DefaultValueFactory = _ => 5 };
        var dim = new Option<int>("--dim") { Description = "Embedding channels.", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation and order.", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var cmd = new Command("train-affinity", "Train AffinityNet's affinity head on the frozen classifier's features from the confident regions of its CAMs (pairs within a radius: same / different region).")
            { cams, classifier, output, epochs, batch, lr, fg, bg, radius, dim, seed, resume };
        AddTo(cmd, d);
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            CheckLimit(r, d);
            var options = new AffinityTrainOptions
            {
                Labels = new AffinityLabelOptions { Foreground = r.GetValue(fg), Background = r.GetValue(bg), Radius = r.GetValue(radius) },
                Epochs = r.GetValue(epochs), Batch = r.GetValue(batch), Lr = r.GetValue(lr), Dim = r.GetValue(dim), Seed = r.GetValue(seed),
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException("--fg/--bg/--radius/--epochs/--batch/--lr/--dim: " + e.Message, e); }
            string run = r.GetValue(classifier)!, outDir = r.GetValue(output)!;
            var ds = Open(r, d);
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                AffinityTrainer trainer = null!;
                CliProgress.Run(io, "features and pair labels", ds.Count, report =>
                {
                    trainer = new AffinityTrainer(options, run, ds, r.GetValue(cams)!, outDir, r.GetValue(resume), new SyncProgress<int>(i => report(i, $"image {i}/{ds.Count}")));
                    var (b, f, n) = trainer.Pairs.Aggregate((0L, 0L, 0L), (acc, p) => { var c = p.Counts(); return (acc.Item1 + c.Bg, acc.Item2 + c.Fg, acc.Item3 + c.Neg); });
                    return $"prepared {ds.Count} image(s): {b} bg-positive, {f} fg-positive, {n} negative pairs";
                });
                io.Console.MarkupLine(Markup.Escape($"training the affinity head: {trainer.TotalSteps} steps of {options.Batch} images"
                    + (trainer.Step > 0 ? $", resuming at step {trainer.Step}" : "") + $" -> {outDir}"));
                AffinityTrainSummary summary = null!;
                CliProgress.Run(io, "training", trainer.TotalSteps, line =>
                {
                    summary = trainer.Run(new SyncProgress<AffinityTrainProgress>(p => line.Report(p.Step,
                        FormattableString.Invariant($"step {p.Step}/{p.TotalSteps} epoch {p.Epoch} loss {p.Loss:F4} {p.ImagesPerSecond:F2} images/s"))), cancel: cts.Token);
                    return summary.Steps >= trainer.TotalSteps ? $"trained {summary.Steps} steps" : $"stopped at step {summary.Steps}";
                }, start: trainer.Step);
                if (summary.Steps < trainer.TotalSteps)
                {
                    io.Console.MarkupLine($"[yellow]stopped at step {summary.Steps}[/]: continue with [blue]seglab weak train-affinity ... --out {Markup.Escape(outDir)} --resume[/]");
                    return 130;
                }
                io.Console.MarkupLine(Markup.Escape(FormattableString.Invariant($"epoch losses {string.Join(", ", summary.EpochLoss.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}; {summary.Seconds:F0} s of training, {summary.FeatureSeconds:F0} s of features")));
                io.Console.MarkupLine(Markup.Escape($"affinity head: {Path.Combine(outDir, "model.safetensors")}; use it: seglab weak refine --method rw --classifier {run} --affinity {outDir} ..."));
                return 0;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return cmd;
    }

    private static Command Refine(CliIO io)
    {
        var d = DataOpts("train");
        var cams = new Option<string>("--cams") { Description = "The --out folder of seglab weak cam on the same data and split.", Required = true };
        var method = new Option<string>("--method") { Description = "crf (= crf-psa: PSA's probability CRF), crf-irn (IRN's label CRF), rw (random walk over the classifier's feature affinities).", Required = true };
        var classifier = new Option<string?>("--classifier") { Description = "The tag classifier run folder (rw: its features give the affinities)." };
        var output = new Option<string>("--out") { Description = "Output folder: ID.png (confident masks, unsure = ignore), ID.argmax.png, refine.json (scores).", Required = true };
        var background = new Option<string?>("--background") { Description = "Background rule: a constant or pow:ALPHA (default: crf-psa pow:4, crf-irn 0.15, rw 0.25)." };
        var beta = new Option<double>("--beta") { Description = "rw: A = a^beta (PSA 8, IRN 10).", DefaultValueFactory = _ => 10 };
        var logt = new Option<int>("--logt") { Description = "rw: 2^logt steps (PSA, IRN: 8).", DefaultValueFactory = _ => 8 };
        var radius = new Option<int>("--radius") { Description = "rw: neighbourhood radius on the stride-4 grid (PSA, IRN: 5).", DefaultValueFactory = _ => 5 };
        var iterations = new Option<int>("--iterations") { Description = "crf: mean-field iterations.", DefaultValueFactory = _ => 10 };
        var plainCosine = new Option<bool>("--plain-cosine") { Description = "rw: cosine of the raw features (default: each channel's image mean subtracted first)." };
        var affinity = new Option<string?>("--affinity") { Description = "rw: a seglab weak train-affinity run folder: its learned affinities instead of the feature cosines (trained on the same --classifier)." };
        var cmd = new Command("refine", "Refine CAM pseudo-masks by a dense CRF or a random walk; writes the masks and scores them against the ground truth; resumes.") { cams, method, classifier, output, background, beta, logt, radius, iterations, plainCosine, affinity };
        AddTo(cmd, d);
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            CheckLimit(r, d);
            var m = RefineOptions.ParseMethod(r.GetValue(method)!);
            var options = new RefineOptions
            {
                Method = m, Background = r.GetValue(background) is { } b ? BackgroundRule.Parse(b) : null,
                Walk = new RandomWalkOptions { Beta = r.GetValue(beta), LogT = r.GetValue(logt) }, Radius = r.GetValue(radius), CenterFeatures = !r.GetValue(plainCosine),
            };
            options = options with { Crf = options.CrfUsed with { Iterations = r.GetValue(iterations) } };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException("--method/--background/--beta/--logt/--radius/--iterations: " + e.Message, e); }
            string? run = r.GetValue(classifier);
            if (m == RefineMethod.RandomWalk && run is null) throw new ArgumentException("--classifier: rw needs the tag classifier run folder (its features give the affinities).");
            var model = run is null ? null : TagTrainer.Load(run);
            if (run is not null) CheckClassifier(run, TagTrainer.Classes(run), r, d);
            string? affinityRun = r.GetValue(affinity);
            if (affinityRun is not null && m != RefineMethod.RandomWalk) throw new ArgumentException($"--affinity: learned affinities are used by --method rw only, not {RefineOptions.Name(m)}.");
            var learned = affinityRun is null ? null : AffinityTrainer.Load(affinityRun, run!, model!);
            var ds = Open(r, d);
            string outDir = r.GetValue(output)!;
            RefineResult result = null!;
            CliProgress.Run(io, "refining", ds.Count, report =>
            {
                result = CamRefine.Run(r.GetValue(cams)!, ds, model, outDir, options, new SyncProgress<(int Done, string Id)>(p => report(p.Done, $"image {p.Id}")), learned);
                return $"refined {result.Images} image(s) by {result.Method}" + (result.Skipped > 0 ? $" ({result.Skipped} already done)" : "");
            });
            var q = result.Scores;
            var table = new Table().Border(TableBorder.Rounded).AddColumns("pseudo-mask", "mIoU", "pixels covered");
            table.AddRow($"{result.Method}, argmax of tagged classes", Pct(q.ArgmaxMIoU / 100), "100%");
            table.AddRow(ConfidentRow($"{result.Method}, confident", result.Background, result.BackgroundClass), Pct(q.ConfidentMIoU / 100), Pct(q.Coverage / 100));
            io.Console.Write(table);
            PerClass(io, ds.Classes.Names, q.PerClassConfidentIoU);
            string speed = double.IsNaN(result.SecondsPerImage) ? "every image already done (scored from its files)" : result.SecondsPerImage.ToString("F2", CultureInfo.InvariantCulture) + " s per image";
            io.Console.MarkupLine(Markup.Escape($"{speed}{(result.Affinity is { } a ? $", affinities {a}" : "")}; scores: {Path.Combine(outDir, RefineResult.FileName)}"));
            return 0;
        });
        return cmd;
    }

    private static void CheckClassifier(string run, string[] classes, ParseResult r, DataOptions d)
    {
        var ds = Open(r, d);
        if (!classes.SequenceEqual(ds.Classes.Names))
            throw new ArgumentException($"{Path.Combine(run, "config.json")}: the classifier was trained on classes [{string.Join(", ", classes)}] but {ds.Root} has [{string.Join(", ", ds.Classes.Names)}].");
    }

    private static Command Pseudo(CliIO io)
    {
        var d = DataOpts("train");
        var cams = new Option<string>("--cams") { Description = "The --out folder of seglab weak cam on the training split.", Required = true };
        var refined = new Option<bool>("--iseg") { Description = "Use the iSeg-refined masks (ID.iseg.png) instead of the CAM masks (a seglab weak refine folder is given as --cams)." };
        var valSplit = new Option<string>("--val-split") { Description = "Split with true labels to validate on.", DefaultValueFactory = _ => "val" };
        var output = new Option<string>("--out") { Description = "Dataset folder to write: train/ (images + pseudo-masks), val/ (images + true labels), classes.json.", Required = true };
        var cmd = new Command("pseudo", "A dataset of pseudo-masks (train) and true labels (val) for seglab train: --set data.dir=OUT.") { cams, refined, valSplit, output };
        AddTo(cmd, d);
        cmd.SetAction(r =>
        {
            CheckLimit(r, d);
            string outDir = r.GetValue(output)!;
            var train = Open(r, d);
            var val = Datasets.Open(r.GetValue(d.Data)!, r.GetValue(valSplit)!, r.GetValue(d.Layout)!, r.GetValue(d.Classes));
            int n = PseudoDataset.Write(train, r.GetValue(cams)!, r.GetValue(refined), val, outDir);
            io.Console.MarkupLine(Markup.Escape($"{n} training images with pseudo-masks and {val.Count} val images with true labels in {outDir}"));
            io.Console.MarkupLine(Markup.Escape($"train on them: seglab train --config configs/camvid-unet.yaml --set data.dir={outDir} --out RUN"));
            return 0;
        });
        return cmd;
    }

    private static Command Run(CliIO io)
    {
        var config = new Option<string>("--config") { Description = "A training config with a weak section (configs/camvid-weak.yaml).", Required = true };
        var output = new Option<string>("--out") { Description = "Pipeline folder: tags.json, classifier/, cam/, refine/, pseudo/, train/.", Required = true };
        var set = new Option<string[]>("--set") { Description = "Override a config key: --set weak.classifier.epochs=1 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var cmd = new Command("run", "Chain the weak stages of a config (tags -> classifier -> cam -> refine -> pseudo -> train); a finished stage is skipped, an unfinished one resumes.") { config, output, set };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string file = r.GetValue(config)!, root = r.GetValue(output)!;
            var cfg = SegLab.Training.ConfigLoader.Load(file, r.GetValue(set) ?? []);
            var w = cfg.Weak;
            if (w.ChainProblem() is { } problem) throw new ArgumentException($"{file}: {problem}.");
            string dataDir = w.Data.Length > 0 ? w.Data : cfg.Data.Dir;
            if (dataDir.Length == 0) throw new ArgumentException($"{file}: weak.data (or data.dir) must name the dataset the tags and CAMs are made of.");
            var train = Datasets.Open(dataDir, cfg.Data.TrainSplit, w.Layout, cfg.Data.ClassesJson);
            if (w.Limit > 0) train = Datasets.Limit(train, w.Limit);
            if (WeakPipeline.MissingInput(w, root, train.Count, file) is { } missing) throw new ArgumentException(missing + ".");
            Directory.CreateDirectory(root);
            string classifierDir = WeakPipeline.PathOf(root, "classifier"), camDir = WeakPipeline.PathOf(root, "cam"), refineDir = WeakPipeline.PathOf(root, "refine");
            string affinityDir = WeakPipeline.PathOf(root, "affinity");
            foreach (var stage in w.Stages)
            {
                if (WeakPipeline.IsDone(root, stage, train.Count))
                {
                    io.Console.MarkupLine(Markup.Escape($"stage {stage}: finished earlier ({WeakPipeline.PathOf(root, stage)}), skipped"));
                    continue;
                }
                io.Console.MarkupLine($"[bold]stage {stage}[/] -> {Markup.Escape(WeakPipeline.PathOf(root, stage))}");
                switch (stage)
                {
                    case "tags":
                    {
                        var crops = ImageTags.Of(train, w.Tags.ToOptions());
                        var st = ImageTags.Statistics(crops, train.Classes.Count);
                        SegLab.Engine.IO.AtomicFile.Write(WeakPipeline.PathOf(root, "tags"), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
                        {
                            tags = w.Tags.ToOptions().ToString(), crops = st.Crops, empty = st.Empty, meanTags = st.MeanTags,
                            perClass = train.Classes.Names.Zip(st.PerClass).ToDictionary(p => p.First, p => p.Second),
                        }));
                        io.Console.MarkupLine(Markup.Escape($"{st.Crops} regions, {st.MeanTags.ToString("F2", CultureInfo.InvariantCulture)} tags each"));
                        break;
                    }
                    case "classifier":
                    {
                        var options = new TagTrainOptions { Encoder = w.Classifier.Encoder, Tags = w.Tags.ToOptions(), Epochs = w.Classifier.Epochs, Batch = w.Classifier.Batch, Lr = w.Classifier.Lr, Seed = cfg.Seed };
                        options.Validate();
                        var val = w.Classifier.ValSplit == "none" ? null : Datasets.Open(dataDir, w.Classifier.ValSplit, w.Layout, cfg.Data.ClassesJson);
                        bool resume = File.Exists(Path.Combine(classifierDir, SegLab.Training.Checkpoint.LastState));
                        var trainer = new TagTrainer(options, train, val, classifierDir, resume);
                        TagTrainSummary summary = null!;
                        CliProgress.Run(io, "training the classifier", trainer.TotalSteps, line =>
                        {
                            summary = trainer.Run(new SyncProgress<TagTrainProgress>(p => line.Report(p.Step, FormattableString.Invariant($"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}"))));
                            return $"trained {summary.Steps} steps";
                        }, start: trainer.Step);
                        if (summary.Steps < trainer.TotalSteps) return 130;
                        break;
                    }
                    case "cam":
                    {
                        var model = TagTrainer.Load(classifierDir);
                        var options = new CamRunOptions { Cam = new CamOptions { Scales = w.Cam.Scales, Flip = w.Cam.Flip }, Background = BackgroundRule.Parse(w.Cam.Background) };
                        options.Validate();
                        CamRunResult result = null!;
                        CliProgress.Run(io, "CAMs", train.Count, report =>
                        {
                            result = CamRun.Run(model, TagTrainer.Classes(classifierDir), train, camDir, options, new SyncProgress<(int Done, string Id)>(p => report(p.Done, $"image {p.Id}")),
                                trainedTags: TrainedTags(classifierDir), classifierSource: $"the classifier in {classifierDir}");
                            return $"CAMs of {result.Images} image(s)";
                        });
                        io.Console.MarkupLine(Markup.Escape($"CAM pseudo-masks: argmax mIoU {Pct(result.ArgmaxMIoU / 100)}, confident {Pct(result.ConfidentMIoU / 100)} over {Pct(result.Coverage / 100)} of the pixels"));
                        break;
                    }
                    case "affinity":
                    {
                        var options = w.Affinity.ToOptions(cfg.Seed);
                        options.Validate();
                        bool resume = File.Exists(Path.Combine(affinityDir, SegLab.Training.Checkpoint.LastState));
                        AffinityTrainer trainer = null!;
                        CliProgress.Run(io, "features and pair labels", train.Count, report =>
                        {
                            trainer = new AffinityTrainer(options, classifierDir, train, camDir, affinityDir, resume, new SyncProgress<int>(i => report(i, $"image {i}/{train.Count}")));
                            return $"prepared {train.Count} image(s)";
                        });
                        AffinityTrainSummary summary = null!;
                        CliProgress.Run(io, "training the affinity head", trainer.TotalSteps, line =>
                        {
                            summary = trainer.Run(new SyncProgress<AffinityTrainProgress>(p => line.Report(p.Step, FormattableString.Invariant($"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}"))));
                            return $"trained {summary.Steps} steps";
                        }, start: trainer.Step);
                        if (summary.Steps < trainer.TotalSteps) return 130;
                        break;
                    }
                    case "refine":
                    {
                        var options = w.Refine.ToOptions();
                        options.Validate();
                        var model = TagTrainer.Load(classifierDir);
                        var learned = w.Refine.LearnedAffinity ? AffinityTrainer.Load(affinityDir, classifierDir, model) : null;
                        RefineResult result = null!;
                        CliProgress.Run(io, "refining", train.Count, report =>
                        {
                            result = CamRefine.Run(camDir, train, model, refineDir, options, new SyncProgress<(int Done, string Id)>(p => report(p.Done, $"image {p.Id}")), learned);
                            return $"refined {result.Images} image(s) by {result.Method}";
                        });
                        io.Console.MarkupLine(Markup.Escape($"{result.Method} pseudo-masks: argmax mIoU {Pct(result.Scores.ArgmaxMIoU / 100)}, confident {Pct(result.Scores.ConfidentMIoU / 100)} over {Pct(result.Scores.Coverage / 100)} of the pixels"));
                        break;
                    }
                    case "pseudo":
                    {
                        var val = Datasets.Open(dataDir, cfg.Data.ValSplit, w.Layout, cfg.Data.ClassesJson);
                        string masks = WeakPipeline.IsDone(root, "refine", train.Count) ? refineDir : camDir;
                        int n = PseudoDataset.Write(train, masks, false, val, WeakPipeline.PathOf(root, "pseudo"));
                        io.Console.MarkupLine(Markup.Escape($"{n} training images with the pseudo-masks of {masks}"));
                        break;
                    }
                    case "train":
                    {
                        string trainDir = WeakPipeline.PathOf(root, "train");
                        bool resume = File.Exists(Path.Combine(trainDir, SegLab.Training.Checkpoint.LastState));
                        var seg = cfg with { Data = cfg.Data with { Dir = Path.GetFullPath(WeakPipeline.PathOf(root, "pseudo")), TrainSplit = "train", ValSplit = "val", Layout = "auto", ClassesJson = null } };
                        int rc = TrainCommand.Train(io, seg, trainDir, resume);
                        if (rc != 0) return rc;
                        break;
                    }
                }
            }
            io.Console.MarkupLine(Markup.Escape($"weak pipeline in {root}: stages {string.Join(" -> ", w.Stages)} finished"));
            return 0;
        });
        return cmd;
    }

    /// <summary>One line of the confident masks' per-class IoU, classes without pixels in either left out.</summary>
    private static void PerClass(CliIO io, string[] names, double[]? iou)
    {
        if (iou is null) return;
        var parts = Enumerable.Range(0, Math.Min(names.Length, iou.Length)).Where(c => !double.IsNaN(iou[c])).Select(c => $"{names[c]} {Inv(iou[c], "F1")}");
        io.Console.MarkupLine(Markup.Escape($"confident masks, IoU per class: {string.Join(", ", parts)}"));
    }

    /// <summary>The confident row's label: with a background class (VOC style) its pixels are that class, scored.</summary>
    private static string ConfidentRow(string what, string rule, string? backgroundClass) => Markup.Escape(backgroundClass is null
        ? $"{what} (background {rule} = unsure, ignored)"
        : $"{what}, background {rule} = class 0 '{backgroundClass}' (scored as a class)");

    private static int[]? TrainedTags(string run) => File.Exists(Path.Combine(run, TagTrainer.SummaryFile)) ? TagTrainer.ReadSummary(run).TagsPerClass : null;

    private static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Inv(double v, string? format = null) => v.ToString(format, CultureInfo.InvariantCulture);
}
