// What seglab eval leaves in OUTDIR, and how seglab merge combines shards: metrics.json (the figures, camelCase,
// 0-100, with the run's model, data and skipped files), metrics-state.json (per-image records, exactly mergeable),
// examples/ID.png (predictions of the worst and best images, so a merge can show those of the whole split) and
// report.html. Every file is written atomically.
using System.Text.Json;
using System.Text.Json.Nodes;
using SegLab.Data;
using SegLab.Imaging;
using SegLab.Metrics;
using SegLab.Models;
using SegLab.Reports;

namespace SegLab.Evaluation;

/// <summary>How an evaluation was asked for (kept in metrics.json so that a merge can reopen the data).</summary>
/// <param name="CommandLine">The command line.</param>
/// <param name="Shard">The shard ("i/n"), or null for the whole split.</param>
/// <param name="Layout">Dataset layout option.</param>
/// <param name="Classes">Class-table option (name or path), or null.</param>
public sealed record EvaluationRunInfo(string CommandLine, string? Shard, string Layout, string? Classes)
{
    /// <summary>Where the shard came from: "explicit", "slurm" or "kubernetes" (<see cref="ShardSpec.SourceName"/>), or null.</summary>
    public string? ShardSource { get; init; }

    /// <summary>The scheduler's task behind the shard (<see cref="ShardSpec.Task"/>), or null.</summary>
    public string? ShardTask { get; init; }

    /// <summary>`--limit` (the split's first N images, before sharding), or null; shards of different limits do not merge.</summary>
    public int? Limit { get; init; }
}

/// <summary>The files of one evaluation output folder.</summary>
/// <param name="Directory">The folder.</param>
/// <param name="Metrics">metrics.json.</param>
/// <param name="State">metrics-state.json.</param>
/// <param name="Report">report.html.</param>
public sealed record EvaluationFiles(string Directory, string Metrics, string State, string Report)
{
    /// <summary>The file names inside <paramref name="dir"/>.</summary>
    /// <param name="dir">An output folder.</param>
    public static EvaluationFiles In(string dir) => new(dir, Path.Combine(dir, "metrics.json"), Path.Combine(dir, "metrics-state.json"), Path.Combine(dir, "report.html"));
}

/// <summary>The result of merging shard outputs.</summary>
/// <param name="Summary">Metrics of the whole.</param>
/// <param name="Classes">Class table.</param>
/// <param name="Skipped">Skipped files of every shard.</param>
/// <param name="Files">What was written.</param>
/// <param name="MissingShards">Shards i/n that were not given (empty unless the merge was allowed to be partial).</param>
public sealed record MergedEvaluation(MetricSummary Summary, ClassTable Classes, IReadOnlyList<SkippedFile> Skipped, EvaluationFiles Files, IReadOnlyList<string> MissingShards);

/// <summary>Writes evaluation outputs and merges shards.</summary>
public static class EvaluationOutput
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes metrics.json, metrics-state.json, examples/ and report.html into <paramref name="outDir"/>.</summary>
    /// <param name="result">The evaluation.</param>
    /// <param name="outDir">Output folder (created).</param>
    /// <param name="info">How it was run.</param>
    /// <param name="extendReport">Adds sections to report.html before it is saved (the demo's attribution map), or null.</param>
    public static EvaluationFiles Write(EvaluationResult result, string outDir, EvaluationRunInfo info, Action<HtmlReport>? extendReport = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(info);
        var files = EvaluationFiles.In(Path.GetFullPath(outDir));
        Directory.CreateDirectory(files.Directory);
        string examples = Path.Combine(files.Directory, "examples");
        Directory.CreateDirectory(examples);
        foreach (var e in result.Worst.Concat(result.Best ?? []))
            Png.Save(Path.Combine(examples, e.Id + ".png"), new Image(e.Width, e.Height, 1, e.Prediction.Select(v => (byte)v).ToArray()));
        MetricsJson.SaveState(files.State, result.Metrics, result.Classes.Names);
        WriteMetrics(files.Metrics, result.Summary, result.Classes, result.Model, result.Dataset, result.Root, result.Split, info, result.Skipped, result.Seconds,
            examples: (result.WorstImages, result.BestImages, result.MinFrameDistance));
        var report = EvalReport.Build(result.Model, $"{result.Dataset} ({result.Root})", result.Split, result.Classes, result.Summary, result.Worst, result.Skipped, result.Seconds, info.CommandLine,
            new EvalReportExtras(result.Best ?? [], result.Metrics.ConfusionMatrix(), result.Metrics.ImageScores(), result.MinFrameDistance));
        extendReport?.Invoke(report);
        ModelCard.AddTo(report, result.Model).Save(files.Report);
        return files;
    }

    /// <summary>Merges the outputs of sharded runs of one model on one split into <paramref name="outDir"/>.</summary>
    /// <param name="shardDirs">Output folders of `seglab eval --shard i/n`.</param>
    /// <param name="outDir">Output folder (created).</param>
    /// <param name="worstImages">Worst images shown in the report, and as many best images (chosen among those the shards kept).</param>
    /// <param name="commandLine">The merge command line.</param>
    /// <param name="allowPartial">Write the merge of an incomplete shard set, marked partial in metrics.json and the report, instead of refusing it.</param>
    public static MergedEvaluation Merge(IReadOnlyList<string> shardDirs, string outDir, int worstImages, string commandLine, bool allowPartial = false)
    {
        ArgumentNullException.ThrowIfNull(shardDirs);
        if (shardDirs.Count == 0) throw new ArgumentException("merge: give at least one shard output folder.");
        var runs = shardDirs.Select(d => ReadRun(Path.GetFullPath(d))).ToList();
        var first = runs[0];
        foreach (var r in runs.Skip(1))
        {
            if (r.Model != first.Model || r.Root != first.Root || r.Split != first.Split)
                throw new InvalidDataException($"merge: {r.Dir} evaluated {r.Model} on {r.Root} split {r.Split}, but {first.Dir} evaluated {first.Model} on {first.Root} split {first.Split}.");
            if (r.Limit != first.Limit)
                throw new InvalidDataException($"merge: {r.Dir} ran with --limit {r.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, but {first.Dir} with --limit {first.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}: shards of different runs do not merge.");
            if (r.Layout != first.Layout || r.ClassesOption != first.ClassesOption || !r.Excluded.Order().SequenceEqual(first.Excluded.Order()))
                throw new InvalidDataException($"merge: {r.Dir} and {first.Dir} ran with different --layout, --classes or --exclude: shards of different runs do not merge.");
        }
        var missingShards = MissingShards(runs);
        if (missingShards.Count > 0 && !allowPartial)
            throw new InvalidDataException($"merge: the shard set is incomplete: {string.Join(", ", missingShards)} missing (give every shard's folder, or --partial to write a result marked partial).");
        var state = MetricsJson.LoadState(EvaluationFiles.In(first.Dir).State);
        var acc = new MetricAccumulator(state.Accumulator.NumClasses);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in runs)
        {
            var s = ReferenceEquals(r, first) ? state : MetricsJson.LoadState(EvaluationFiles.In(r.Dir).State, state.ClassNames);
            foreach (var img in s.Accumulator.Images)
                if (!seen.Add(img.Id)) throw new InvalidDataException($"merge: image {img.Id} appears in more than one shard (again in {r.Dir}); shards must not overlap.");
            acc.Merge(s.Accumulator);
        }
        // The dataset is reopened once: for its class table and for the images of the worst predictions.
        ISegmentationDataset? data = null;
        string? note = null;
        try
        {
            data = Datasets.Open(first.Root, first.Split, first.Layout, first.ClassesOption);
        }
        catch (IOException e)
        {
            note = $"The worst images are not shown: the dataset could not be reopened ({e.Message}).";
        }
        var classes = data?.Classes ?? ClassTable.Resolve(first.ClassesOption ?? first.Dataset);
        var summary = acc.Summarize(new MetricOptions { ExcludedClasses = first.Excluded });
        var skipped = runs.SelectMany(r => r.Skipped).ToList();
        var (worst, best) = data is null ? ([], []) : ReloadExamples(acc, runs, data, worstImages, first.MinFrameDistance, out note);
        var files = EvaluationFiles.In(Path.GetFullPath(outDir));
        Directory.CreateDirectory(files.Directory);
        MetricsJson.SaveState(files.State, acc, state.ClassNames);
        var info = new EvaluationRunInfo(commandLine, null, first.Layout, first.ClassesOption) { Limit = first.Limit };
        WriteMetrics(files.Metrics, summary, classes, first.Model, first.Dataset, first.Root, first.Split, info, skipped, double.NaN, shardDirs.Count, missingShards,
            (Math.Max(0, worstImages), Math.Max(0, worstImages), first.MinFrameDistance));
        var report = EvalReport.Build(first.Model, $"{first.Dataset} ({first.Root})", first.Split, classes, summary, worst, skipped, double.NaN, commandLine,
            new EvalReportExtras(best, acc.ConfusionMatrix(), acc.ImageScores(), first.MinFrameDistance));
        ModelCard.AddTo(report, first.Model).Meta("merged from", string.Join(", ", runs.Select(r => r.Dir)));
        if (missingShards.Count > 0) report.Note($"Partial result: shards {string.Join(", ", missingShards)} are missing, so these figures cover only part of the split.");
        if (note is not null) report.Note(note);
        report.Save(files.Report);
        return new MergedEvaluation(summary, classes, skipped, files, missingShards);
    }

    private static void WriteMetrics(string path, MetricSummary summary, ClassTable classes, string model, string dataset, string root, string split,
        EvaluationRunInfo info, IReadOnlyList<SkippedFile> skipped, double seconds, int shards = 1, IReadOnlyList<string>? missingShards = null,
        (int Worst, int Best, int MinFrameDistance)? examples = null)
    {
        var node = JsonNode.Parse(MetricsJson.SummaryToJson(summary, classes.Names))!.AsObject();
        var head = new JsonObject
        {
            ["model"] = model,
            ["dataset"] = dataset,
            ["root"] = root,
            ["split"] = split,
            ["layout"] = info.Layout,
            ["classes"] = info.Classes,
            ["shard"] = info.Shard,
            ["shardSource"] = info.ShardSource,
            ["shardTask"] = info.ShardTask,
            ["limit"] = info.Limit,
            ["mergedShards"] = shards > 1 ? shards : null,
            ["partial"] = missingShards is { Count: > 0 } ? true : null,
            ["missingShards"] = missingShards is { Count: > 0 } ? new JsonArray(missingShards.Select(m => (JsonNode?)m).ToArray()) : null,
            ["commandLine"] = info.CommandLine,
            ["seconds"] = double.IsFinite(seconds) ? Math.Round(seconds, 3) : null,
            ["imagesPerSecond"] = double.IsFinite(seconds) && seconds > 0 ? Math.Round(summary.Images / seconds, 4) : null,
            // The report's example images as asked for (--worst, --best, --min-frame-distance); "worstImages" below lists the worst images themselves.
            ["examples"] = examples is var (worst, best, distance) ? new JsonObject { ["worst"] = worst, ["best"] = best, ["minFrameDistance"] = distance } : null,
        };
        foreach (var (k, v) in node.ToList())
        {
            node.Remove(k);
            head[k] = v;
        }
        head["excludedClasses"] ??= new JsonArray(summary.ExcludedClasses.Select(c => (JsonNode?)c).ToArray());
        head["skipped"] = new JsonArray(skipped.Select(s => (JsonNode?)new JsonObject { ["id"] = s.Id, ["path"] = s.Path, ["problem"] = s.Problem }).ToArray());
        var bytes = JsonSerializer.SerializeToUtf8Bytes(head, Indented);
        SegLab.Engine.IO.AtomicFile.Write(path, bytes);
    }

    private sealed record Run(string Dir, string Model, string Dataset, string Root, string Split, string Layout, string? ClassesOption, int[] Excluded, IReadOnlyList<SkippedFile> Skipped, string? Shard,
        int MinFrameDistance, int? Limit);

    private static List<string> MissingShards(List<Run> runs) => ShardFolders.MissingShards(runs.Select(r => (r.Dir, r.Shard)).ToList(), "metrics.json");

    private static Run ReadRun(string dir)
    {
        var files = EvaluationFiles.In(dir);
        if (!File.Exists(files.Metrics) || !File.Exists(files.State))
            throw new FileNotFoundException($"merge: {dir} is not a `seglab eval` output folder (metrics.json and metrics-state.json are missing).", files.Metrics);
        try
        {
            var m = JsonNode.Parse(File.ReadAllText(files.Metrics))!.AsObject();
            string S(string key) => (string?)m[key] ?? throw new InvalidDataException($"merge: {files.Metrics} has no '{key}'.");
            var skipped = (m["skipped"]?.AsArray() ?? []).Select(s => new SkippedFile((string)s!["id"]!, (string?)s["path"], (string)s["problem"]!)).ToList();
            // metrics.json names the excluded classes (older files may hold ids): names map to ids by the order of perClassIoU.
            var names = (m["perClassIoU"] as JsonObject)?.Select(kv => kv.Key).ToList() ?? [];
            var excluded = (m["excludedClasses"]?.AsArray() ?? []).Select(x =>
                x!.GetValueKind() == System.Text.Json.JsonValueKind.Number ? (int)x
                : names.IndexOf((string)x!) is var i and >= 0 ? i
                : throw new InvalidDataException($"merge: {files.Metrics} excludes class '{(string?)x}', which is not among its classes ({string.Join(", ", names)}).")).ToArray();
            return new Run(dir, S("model"), S("dataset"), S("root"), S("split"), (string?)m["layout"] ?? "auto", (string?)m["classes"], excluded, skipped, (string?)m["shard"],
                (int?)m["examples"]?["minFrameDistance"] ?? ExampleSelection.DefaultMinFrameDistance, (int?)m["limit"]);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"merge: {files.Metrics} is not a valid metrics.json ({e.Message}).", e);
        }
    }

    /// <summary>
    /// The worst and best images of the merged split, chosen (as one evaluation chooses them) among the images whose
    /// predictions the shards saved, and rebuilt from those predictions and the dataset.
    /// </summary>
    private static (List<ImageExample> Worst, List<ImageExample> Best) ReloadExamples(MetricAccumulator acc, List<Run> runs, ISegmentationDataset data, int k, int minFrameDistance, out string? note)
    {
        note = null;
        if (k <= 0) return ([], []);
        var index = Enumerable.Range(0, data.Count).ToDictionary(data.Id, i => i, StringComparer.Ordinal);
        var saved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in runs)
        {
            string dir = Path.Combine(r.Dir, "examples");
            if (!Directory.Exists(dir)) continue;
            foreach (var f in Directory.EnumerateFiles(dir, "*.png")) saved.TryAdd(Path.GetFileNameWithoutExtension(f), f);
        }
        var scores = acc.ImageScores();
        var candidates = scores.Where(s => saved.ContainsKey(s.Id) && index.ContainsKey(s.Id)).ToList();
        var (worstScores, bestScores) = ExampleSelection.Choose(candidates, k, k, minFrameDistance);
        var missing = new List<string>();
        List<ImageExample> Load(IReadOnlyList<ImageScore> chosen)
        {
            var list = new List<ImageExample>();
            foreach (var score in chosen)
            {
                var sample = data.Load(index[score.Id]);
                var pred = Png.Load(saved[score.Id]).Pixels.Select(v => (int)v).ToArray();
                if (sample.Label is null || pred.Length != sample.Label.Length) { missing.Add(score.Id); continue; }
                list.Add(new ImageExample(score.Id, sample.Width, sample.Height, sample.Image, sample.Label, pred, score.MIoU, score.PixelAccuracy));
            }
            return list;
        }
        var worst = Load(worstScores);
        var best = Load(bestScores);
        var overallWorst = acc.Worst(k).Select(s => s.Id).Where(id => !saved.ContainsKey(id)).ToList();
        if (overallWorst.Count > 0 || missing.Count > 0)
            note = $"No saved prediction for {overallWorst.Count + missing.Count} of the worst images ({string.Join(", ", overallWorst.Concat(missing))}): " +
                "the images shown are the worst and best among those the shards kept; run the shards with a larger --worst.";
        return (worst, best);
    }
}
