// The context study over a dataset (issue 18 items 4-5, PAPERS.md B, F): for every object (ContextInstances) and
// every variant (ContextVariants), the side (IContextSide) judges the model's quality and every method gives one map
// of the side's target, scored with ContextShares (B.1) against the object's mask in the side's window. The
// segmentation side (SegmentationSide): the whole image, recall and IoU, the target "the object's class logit summed
// over the object's ground-truth mask" (B.2's summed-logit target; the ground-truth mask rather than the predicted
// region so that the target is the same pixels in every variant and exists where the model misses the object). The
// recognition side (RecognitionSide): a crop classifier on a crop around the object, the class's probability, the
// class logit as target. Objects are written to records.jsonl as they finish (resumable); a few are kept as example
// heat maps.
using SegLab.Data;
using SegLab.Engine;
using SegLab.Imaging;
using SegLab.Models;
using SegLab.Reports;

namespace SegLab.Attribution.Context;

/// <summary>Settings of a context run.</summary>
public sealed record ContextOptions
{
    /// <summary>Object classes.</summary>
    public required IReadOnlyList<int> Classes { get; init; }

    /// <summary>Variants (the original first).</summary>
    public required IReadOnlyList<VariantSpec> Variants { get; init; }

    /// <summary>Attribution method names (AttributionTable).</summary>
    public required IReadOnlyList<string> Methods { get; init; }

    /// <summary>Object extraction.</summary>
    public InstanceOptions Instances { get; init; } = new();

    /// <summary>Method settings.</summary>
    public AttributionOptions Attribution { get; init; } = AttributionOptions.Default;

    /// <summary>Seed of donor choice, noise and corruptions.</summary>
    public long Seed { get; init; }

    /// <summary>An object counts as correctly segmented when its recall is at least this (default 0.5).</summary>
    public double CorrectRecall { get; init; } = 0.5;

    /// <summary>Margin of the IoU window around the object's box, in pixels.</summary>
    public int IoUMargin { get; init; } = 16;

    /// <summary>Objects whose heat maps are saved as examples (the first ones of the run).</summary>
    public int Examples { get; init; } = 3;

    /// <summary>The side: "segmentation" (the default) or "recognition".</summary>
    public string Side { get; init; } = "segmentation";

    /// <summary>The recognition side in words (classifier, crop, threshold), or null on the segmentation side.</summary>
    public string? SideDetail { get; init; }

    /// <summary>Words that identify the settings, for --resume and merge (a segmentation run's are those of the runs before the recognition side existed).</summary>
    public string Fingerprint(string model, string split)
    {
        string f = string.Join("|", model, split, string.Join(",", Classes), string.Join(",", Variants.Select(v => v.Name)),
            string.Join(",", Methods), Instances.MinArea, Instances.MaxPerClass, Instances.MinBackgroundRatio, Attribution.Steps, Attribution.Baseline, Attribution.Samples,
            Attribution.Layer ?? "-", Seed, CorrectRecall, IoUMargin);
        return Side == "segmentation" ? f : string.Join("|", f, Side, SideDetail ?? "-");
    }
}

/// <summary>Progress of a context run.</summary>
/// <param name="Done">Objects done.</param>
/// <param name="Total">Objects.</param>
/// <param name="Instance">The object in work.</param>
/// <param name="Variant">Variants done on it.</param>
/// <param name="Variants">Variants.</param>
public sealed record ContextProgress(int Done, int Total, string Instance, int Variant, int Variants);

/// <summary>Runs the context study.</summary>
public sealed class ContextRunner
{
    private static readonly string[] ExampleVariants = ["original", "only_fg", "no_fg", "mixed_rand", "mixed_same", "bg_uniform"];
    private const int ExampleSize = 240;   // example images are kept at most this wide and high
    private readonly IContextSide _side;
    private readonly ContextScenes _scenes;
    private readonly ContextOptions _options;
    private readonly IImageCorruptions? _corruptions;
    private readonly ClassTable _classes;
    private readonly IAttribution[] _methods;

    /// <summary>A runner of the segmentation side over a split.</summary>
    /// <param name="model">The segmentation model.</param>
    /// <param name="split">The whole split (the donor pool).</param>
    /// <param name="options">Settings.</param>
    /// <param name="corruptions">Corruption source for perturbation variants.</param>
    public ContextRunner(SegmentationModel model, ISegmentationDataset split, ContextOptions options, IImageCorruptions? corruptions)
        : this(new SegmentationSide(model), split, options, corruptions)
    {
    }

    /// <summary>A runner of either side over a split.</summary>
    /// <param name="side">The side: model, target and quality measure.</param>
    /// <param name="split">The whole split (the donor pool).</param>
    /// <param name="options">Settings (their <see cref="ContextOptions.Side"/> must name <paramref name="side"/>'s kind).</param>
    /// <param name="corruptions">Corruption source for perturbation variants.</param>
    public ContextRunner(IContextSide side, ISegmentationDataset split, ContextOptions options, IImageCorruptions? corruptions)
    {
        ArgumentNullException.ThrowIfNull(side);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Side != side.Kind) throw new ArgumentException($"context: the options are for the {options.Side} side but the model is on the {side.Kind} side.");
        _side = side;
        _scenes = new ContextScenes(split);
        Dataset = split;
        _options = options;
        _corruptions = corruptions;
        _classes = split.Classes;
        _methods = [.. options.Methods.Select(AttributionTable.Create)];
        foreach (int c in options.Classes) side.CheckClass(c, c < _classes.Count ? _classes.Names[c] : $"class {c}");
        if (options.Variants.Any(v => v.Corruption is not null) && corruptions is null)
            throw new ArgumentException("context: perturbation variants need a corruption source.");
    }

    /// <summary>The split.</summary>
    public ISegmentationDataset Dataset { get; }

    /// <summary>The objects of the images <paramref name="imageIndices"/>, in image order.</summary>
    public List<ContextInstance> Instances(IEnumerable<int> imageIndices) =>
        [.. imageIndices.SelectMany(i =>
        {
            var (id, w, h) = _scenes.Scene(i);
            return ContextInstances.Extract(id, i, _scenes.Label(i), h, w, _options.Classes, _options.Instances);
        })];

    /// <summary>Runs every object not yet in <paramref name="done"/>, appending each to <paramref name="recordsPath"/>.</summary>
    /// <param name="instances">Objects, in order.</param>
    /// <param name="done">Objects finished before (resume); the new ones are added.</param>
    /// <param name="recordsPath">records.jsonl (its header written by the caller).</param>
    /// <param name="examplesDir">Folder of example heat maps, or null.</param>
    /// <param name="progress">Progress, or null.</param>
    public void Run(IReadOnlyList<ContextInstance> instances, List<InstanceResult> done, string recordsPath, string? examplesDir, IProgress<ContextProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(done);
        var finished = done.Select(d => d.Instance).ToHashSet();
        int examples = 0, count = done.Count;
        SegmentationSample? sample = null;
        foreach (var inst in instances)
        {
            if (finished.Contains(inst.Id)) continue;
            progress?.Report(new ContextProgress(count, instances.Count, inst.Id, 0, _options.Variants.Count));
            if (sample?.Id != inst.ImageId) sample = Dataset.Load(inst.ImageIndex);
            string? exampleDir = examplesDir is not null && examples < _options.Examples ? Path.Combine(examplesDir, Safe(inst.Id)) : null;
            var result = RunOne(inst, sample, exampleDir, v => progress?.Report(new ContextProgress(count, instances.Count, inst.Id, v, _options.Variants.Count)));
            ContextRecordFile.Append(recordsPath, result);
            done.Add(result);
            finished.Add(inst.Id);
            if (exampleDir is not null) examples++;
            count++;
        }
        progress?.Report(new ContextProgress(count, instances.Count, "", 0, _options.Variants.Count));
    }

    /// <summary>Every variant and method on one object.</summary>
    /// <param name="inst">The object.</param>
    /// <param name="sample">Its image (with label).</param>
    /// <param name="exampleDir">Where to save its heat maps, or null.</param>
    /// <param name="variantDone">Called after each variant with the count done.</param>
    public InstanceResult RunOne(ContextInstance inst, SegmentationSample sample, string? exampleDir = null, Action<int>? variantDone = null)
    {
        ArgumentNullException.ThrowIfNull(inst);
        ArgumentNullException.ThrowIfNull(sample);
        int h = inst.Height, w = inst.Width;
        var records = new List<ContextRecord>();
        var unavailable = new List<string>();
        var view = _side.View(inst);
        int vh = view.Height, vw = view.Width;
        int k = 0;
        foreach (var v in _options.Variants)
        {
            float[]? donor = null;
            int[]? sceneLabel = sample.Label;
            string? donorId = null;
            if (v.Name is "mixed_rand" or "mixed_same")
            {
                if (_scenes.Donor(inst, v.Name, _options.Seed) is not int d)
                {
                    unavailable.Add(v.Name);
                    variantDone?.Invoke(++k);
                    continue;
                }
                donor = _scenes.Image(d);
                sceneLabel = _scenes.Label(d);
                donorId = _scenes.Id(d);
            }
            else if (v.Kind == VariantKind.NoInformation) sceneLabel = null;
            ulong seed = ContextVariants.Mix(_options.Seed, "variant", v.Name, inst.Id);
            var img = ContextVariants.Build(v, sample.Image, h, w, inst.Mask, donor, seed, _corruptions);
            var window = view.Cut(img, h, w);
            var judged = _side.Judge(inst, view, img, window, sceneLabel, _options);
            bool save = exampleDir is not null && ExampleVariants.Contains(v.Name);
            if (save)
            {
                Directory.CreateDirectory(exampleDir!);
                Png.Save(Path.Combine(exampleDir!, $"{v.Name}__image.png"), Outline(ReportImage.FromRgb(window, vw, vh), view.Mask).Downscale(ExampleSize, ExampleSize).ToImage());
            }
            foreach (var method in _methods)
            {
                var map = method.Attribute(_side.Model, Tensor.FromArray((float[])window.Clone(), 3, vh, vw), view.Target, _options.Attribution);
                var s = ContextShares.Compute(map.Values, view.Mask);
                records.Add(new ContextRecord
                {
                    Variant = v.Name, Method = method.Name, Donor = donorId, Recall = judged.Recall, IoU = judged.IoU, Probability = judged.Probability, Correct = judged.Correct,
                    TargetScore = map.TargetScore, ObjectShare = s.ObjectShare, ContextShare = s.ContextShare, ObjectPerPixel = s.ObjectPerPixel,
                    ContextPerPixel = s.ContextPerPixel, ObjectPerNonZero = s.ObjectPerNonZero, ContextPerNonZero = s.ContextPerNonZero,
                    ObjectNonZeroFraction = s.ObjectNonZeroFraction, ContextNonZeroFraction = s.ContextNonZeroFraction, AreaFraction = s.AreaFraction,
                    RelativeCompletenessError = map.RelativeCompletenessError,
                });
                if (save)
                {
                    var heat = Heatmap.Over(window, Normalised(map.Values), vw, vh, 0.55, signed: false, max: 1);
                    Png.Save(Path.Combine(exampleDir!, $"{v.Name}__{Safe(method.Name)}.png"), Outline(heat, view.Mask).Downscale(ExampleSize, ExampleSize).ToImage());
                }
            }
            variantDone?.Invoke(++k);
        }
        return new InstanceResult
        {
            Instance = inst.Id, Image = inst.ImageId, ImageIndex = inst.ImageIndex, Ordinal = inst.Ordinal,
            Class = inst.Class, ClassName = inst.Class < _classes.Count ? _classes.Names[inst.Class] : $"class {inst.Class}", Area = inst.Area,
            SizeGroup = inst.SizeGroup, AreaGroup = inst.AreaGroup, Unavailable = unavailable, Records = records,
        };
    }

    /// <summary>Recall of the object's pixels, and IoU inside its box grown by <paramref name="margin"/> px, pixels of other objects of the class in the shown scene left out.</summary>
    /// <param name="inst">The object.</param>
    /// <param name="pred">Predicted class per pixel.</param>
    /// <param name="sceneLabel">Ground truth of the scene shown around the object (null: none, as on a blank or noise context).</param>
    /// <param name="margin">Window margin.</param>
    public static (double Recall, double IoU) Quality(ContextInstance inst, ReadOnlySpan<int> pred, int[]? sceneLabel, int margin)
    {
        ArgumentNullException.ThrowIfNull(inst);
        int tp = 0, fp = 0, w = inst.Width;
        for (int i = 0; i < inst.Mask.Length; i++) if (inst.Mask[i] && pred[i] == inst.Class) tp++;
        var (x0, y0, x1, y1) = ContextScenes.Window(inst, margin);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
            {
                int i = (y * w) + x;
                if (!inst.Mask[i] && pred[i] == inst.Class && (sceneLabel is null || sceneLabel[i] != inst.Class)) fp++;
            }
        return ((double)tp / inst.Area, (double)tp / (inst.Area + fp));
    }

    private static float[] Normalised(float[] map)
    {
        float hi = map.Max(v => Math.Max(0, v));
        return [.. map.Select(v => hi > 0 ? Math.Max(0, v) / hi : 0f)];
    }

    // The object's border in white, so the reader sees which object the map is about.
    private static ReportImage Outline(ReportImage img, bool[] mask)
    {
        var rgb = (byte[])img.Rgb.Clone();
        int w = img.Width, h = img.Height;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = (y * w) + x;
                if (!mask[i]) continue;
                bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
                if (edge) rgb[3 * i] = rgb[(3 * i) + 1] = rgb[(3 * i) + 2] = 255;
            }
        return new ReportImage(w, h, rgb);
    }

    /// <summary>A name safe as a file or folder name.</summary>
    public static string Safe(string name) => string.Concat(name.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '_'));
}
