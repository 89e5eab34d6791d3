// The files of a context run: OUTDIR/records.jsonl (per object, resumable), OUTDIR/context.json (settings and the
// aggregates of ContextSummary, camelCase), OUTDIR/report.html and OUTDIR/examples/OBJECT/VARIANT__METHOD.png. A merge
// of shard folders checks that their settings agree, joins their objects in split order and writes the same files
// (context.json of a merge equals that of the unsharded run apart from its "run" part).
using System.Text.Json;
using SegLab.Models;

namespace SegLab.Attribution.Context;

/// <summary>A variant as written to context.json.</summary>
/// <param name="Name">Name.</param>
/// <param name="Kind">Kind.</param>
/// <param name="Corruption">Corruption or null.</param>
/// <param name="Severity">Severity (0 when none).</param>
public sealed record VariantInfo(string Name, string Kind, string? Corruption, int Severity);

/// <summary>How the run was made (differs between a merge and the run it equals).</summary>
/// <param name="CommandLine">Command line.</param>
/// <param name="Seconds">Wall time of this process's work.</param>
/// <param name="Shard">i/n or null.</param>
/// <param name="MergedFrom">Shard folders of a merge.</param>
public sealed record ContextRunInfo(string? CommandLine, double Seconds, string? Shard, IReadOnlyList<string>? MergedFrom = null);

/// <summary>context.json.</summary>
public sealed record ContextReport
{
    /// <summary>Model.</summary>
    public required string Model { get; init; }

    /// <summary>Dataset name.</summary>
    public required string Dataset { get; init; }

    /// <summary>Split.</summary>
    public required string Split { get; init; }

    /// <summary>"segmentation", or "recognition" (a crop classifier: class probability instead of recall and IoU).</summary>
    public string Side { get; init; } = "segmentation";

    /// <summary>The recognition side in words (classifier, crop, threshold), or null.</summary>
    public string? SideDetail { get; init; }

    /// <summary>The settings' fingerprint (merge checks it).</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Object classes.</summary>
    public required IReadOnlyList<string> Classes { get; init; }

    /// <summary>Methods.</summary>
    public required IReadOnlyList<string> Methods { get; init; }

    /// <summary>Variants.</summary>
    public required IReadOnlyList<VariantInfo> Variants { get; init; }

    /// <summary>Definitions used, in words.</summary>
    public required IReadOnlyDictionary<string, string> Definitions { get; init; }

    /// <summary>Images with at least one object.</summary>
    public int Images { get; init; }

    /// <summary>Objects.</summary>
    public int Objects { get; init; }

    /// <summary>Objects per class.</summary>
    public required IReadOnlyDictionary<string, int> ObjectsPerClass { get; init; }

    /// <summary>Objects per B.3 size group.</summary>
    public required IReadOnlyDictionary<string, int> SizeGroups { get; init; }

    /// <summary>Objects per COCO area group.</summary>
    public required IReadOnlyDictionary<string, int> AreaGroups { get; init; }

    /// <summary>Per variant, objects for which it could not be built.</summary>
    public required IReadOnlyDictionary<string, int> Unavailable { get; init; }

    /// <summary>Aggregates.</summary>
    public required ContextAggregates Aggregates { get; init; }

    /// <summary>Run information.</summary>
    public required ContextRunInfo Run { get; init; }
}

/// <summary>Writes and merges context runs.</summary>
public static class ContextOutput
{
    /// <summary>Indented camelCase JSON with NaN allowed.</summary>
    public static JsonSerializerOptions Options { get; } = new(ContextRecordFile.Options) { WriteIndented = true };

    /// <summary>The definitions written to context.json and the report.</summary>
    public static IReadOnlyDictionary<string, string> Definitions(ContextOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var d = new Dictionary<string, string>
        {
            ["objects"] = $"8-connected ground-truth components of each class, area >= {o.Instances.MinArea} px, background ratio >= {o.Instances.MinBackgroundRatio}, at most {o.Instances.MaxPerClass} per class and image (largest first)",
            ["target"] = "the object's class logit summed over the object's ground-truth mask (the same pixels in every variant)",
            ["shares"] = "PAPERS.md B.1 against the object's ground-truth mask: ReLU, min-max to [0, 1], object share = object mass / total mass",
            ["correct"] = $"object recall (its pixels predicted as its class) >= {o.CorrectRecall}",
            ["iou"] = $"object IoU inside its box grown by {o.IoUMargin} px, pixels of other objects of its class in the shown scene left out",
            ["mixed_same"] = $"a scene with >= {ContextScenes.NearbyPixels} px of the class inside the object's box grown by {ContextScenes.NearbyMargin} px",
            ["no_fg"] = $"the object grown by {ContextVariants.RemovalGrowth} px filled by diffusion from its border (peeled means, then 50 Jacobi sweeps)",
            ["bg_mean"] = "context = ImageNet mean colour (123, 116, 103)",
            ["bg_gaussian"] = "context = N(0.5, 0.2^2) per value, clipped to [0, 1]",
            ["bg_uniform"] = "context = U[0, 1] per value",
            ["perturbation"] = "ctx:NAME:S = corrupt(image) on the context, the object's pixels kept; obj:NAME:S = corrupt(image) on the object, the context kept",
        };
        if (o.Side == "recognition")
        {
            d["side"] = $"the recognition side: {o.SideDetail}";
            d["crop"] = "the classifier's training crop size (at most the image's), centred on the centre of the object's box, shifted to lie inside the image; the variant is built on the whole image, then cropped";
            d["target"] = "the object's class logit of the classifier on the crop (pytorch-grad-cam's ClassifierOutputTarget)";
            d["shares"] = "PAPERS.md B.1 against the object's ground-truth pixels inside the crop: ReLU, min-max to [0, 1], object share = object mass / total mass";
            d["correct"] = "recognised: the classifier's sigmoid probability of the object's class on the crop >= 0.5";
            d["iou"] = "not measured on the recognition side (recall and IoU columns are empty; p(class) is the quality)";
        }
        return d;
    }

    /// <summary>Builds context.json's content from object results.</summary>
    public static ContextReport Report(string model, string dataset, string split, ContextOptions options, IReadOnlyList<string> classNames,
        IReadOnlyList<InstanceResult> results, ContextRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(results);
        var ordered = results.OrderBy(r => r.ImageIndex).ThenBy(r => r.Ordinal).ToList();
        return new ContextReport
        {
            Model = model, Dataset = dataset, Split = split, Side = options.Side, SideDetail = options.SideDetail, Fingerprint = options.Fingerprint(model, split),
            Classes = [.. options.Classes.Select(c => c < classNames.Count ? classNames[c] : $"class {c}")],
            Methods = [.. options.Methods.Select(m => AttributionTable.Create(m).Name)],
            Variants = [.. options.Variants.Select(v => new VariantInfo(v.Name, v.Kind.ToString(), v.Corruption, v.Severity))],
            Definitions = Definitions(options),
            Images = ordered.Select(r => r.Image).Distinct().Count(), Objects = ordered.Count,
            ObjectsPerClass = Count(ordered.Select(r => r.ClassName)), SizeGroups = Count(ordered.Select(r => r.SizeGroup)),
            AreaGroups = Count(ordered.Select(r => r.AreaGroup)), Unavailable = Count(ordered.SelectMany(r => r.Unavailable)),
            Aggregates = ContextSummary.Build(ordered, options.Variants, options.Methods),
            Run = run,
        };
    }

    /// <summary>Writes context.json and report.html into <paramref name="dir"/>.</summary>
    /// <param name="dir">Output folder.</param>
    /// <param name="report">The content.</param>
    /// <param name="exampleDirs">Folders holding examples/ (the run's, or the shards').</param>
    public static (string Json, string Html) Write(string dir, ContextReport report, IReadOnlyList<string> exampleDirs)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(dir);
        string json = Path.Combine(dir, "context.json"), html = Path.Combine(dir, "report.html");
        SegLab.Engine.IO.AtomicFile.WriteText(json, JsonSerializer.Serialize(report, Options));
        ModelCard.AddTo(ContextHtml.Build(report, exampleDirs), report.Model).Save(html);
        return (json, html);
    }

    /// <summary>Writes context.json only (a run writes it at its start too, so that `seglab context merge` can read the objects of an unfinished run).</summary>
    /// <param name="dir">Output folder.</param>
    /// <param name="report">The content.</param>
    public static string WriteJson(string dir, ContextReport report)
    {
        Directory.CreateDirectory(dir);
        string json = Path.Combine(dir, "context.json");
        SegLab.Engine.IO.AtomicFile.WriteText(json, JsonSerializer.Serialize(report, Options));
        return json;
    }

    /// <summary>Loads context.json.</summary>
    public static ContextReport Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ContextReport>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"{path}: empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a context.json ({e.Message}).", e);
        }
    }

    /// <summary>Merges shard folders into <paramref name="outDir"/> (records.jsonl, context.json, report.html).</summary>
    /// <param name="shards">Folders of `seglab context --shard i/n` runs.</param>
    /// <param name="outDir">Output folder.</param>
    /// <param name="commandLine">The merge's command line.</param>
    public static (ContextReport Report, string Json, string Html) Merge(IReadOnlyList<string> shards, string outDir, string? commandLine)
    {
        ArgumentNullException.ThrowIfNull(shards);
        if (shards.Count == 0) throw new ArgumentException("context merge: give at least one shard folder.");
        ContextReport? first = null;
        var all = new Dictionary<string, InstanceResult>();
        foreach (string dir in shards)
        {
            string json = Path.Combine(dir, "context.json"), records = Path.Combine(dir, "records.jsonl");
            if (!File.Exists(json)) throw new FileNotFoundException($"context merge: {json} does not exist (is {dir} the output of a finished seglab context run?).");
            if (!File.Exists(records)) throw new FileNotFoundException($"context merge: {records} does not exist.");
            var rep = Load(json);
            var (fp, results) = ContextRecordFile.Load(records);
            if (fp != rep.Fingerprint) throw new InvalidDataException($"context merge: {records} and {json} have different settings.");
            first ??= rep;
            if (rep.Fingerprint != first.Fingerprint)
                throw new InvalidDataException($"context merge: {dir} was run with other settings than {shards[0]} (model, split, classes, variants, methods or options differ).");
            foreach (var r in results) all.TryAdd(r.Instance, r);
        }
        var ordered = all.Values.OrderBy(r => r.ImageIndex).ThenBy(r => r.Ordinal).ToList();
        Directory.CreateDirectory(outDir);
        ContextRecordFile.Rewrite(Path.Combine(outDir, "records.jsonl"), first!.Fingerprint, ordered);
        var variants = first.Variants.Select(v => new VariantSpec(v.Name, Enum.Parse<VariantKind>(v.Kind), v.Corruption, v.Severity)).ToList();
        var report = first with
        {
            Images = ordered.Select(r => r.Image).Distinct().Count(), Objects = ordered.Count,
            ObjectsPerClass = Count(ordered.Select(r => r.ClassName)), SizeGroups = Count(ordered.Select(r => r.SizeGroup)),
            AreaGroups = Count(ordered.Select(r => r.AreaGroup)), Unavailable = Count(ordered.SelectMany(r => r.Unavailable)),
            Aggregates = ContextSummary.Build(ordered, variants, first.Methods),
            Run = new ContextRunInfo(commandLine, 0, null, [.. shards]),
        };
        var (j, h) = Write(outDir, report, shards);
        return (report, j, h);
    }

    private static IReadOnlyDictionary<string, int> Count(IEnumerable<string> keys) =>
        keys.GroupBy(k => k).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
}
