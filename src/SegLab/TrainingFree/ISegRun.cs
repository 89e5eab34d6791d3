// `seglab iseg` as a library call (issue 20): every item of an attention source is refined (PAPERS.md D.3-D.4) for each
// setting of a grid (lambda x gamma; every K up to the largest comes from one iteration, since K + 1 continues K), and
// scored against its ground truth where it has one: A0 alone, the base method (one product with the raw S), and iSeg
// after each iteration. Per item, OUTDIR/items/ID.json (counts per class: tp, fp, fn per setting and iteration) is
// written last and atomically, so a run resumes by skipping items whose json exists and shards merge by summing them;
// OUTDIR/items/ID.safetensors holds `maps` [C, h, w] (the primary setting after its last iteration, before upsampling)
// and OUTDIR/masks/ID.png its mask. mIoU is pooled over items and averaged over classes present in the ground truth (D.4).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SegLab.Engine;
using SegLab.Engine.IO;
using SegLab.Engine.Serialization;
using SegLab.Weak;

namespace SegLab.TrainingFree;

/// <summary>Settings of an iSeg run.</summary>
public sealed record ISegRunOptions
{
    /// <summary>The primary refinement (lambda, K, Ent-Self on or off, log, normalisation).</summary>
    public RefinementOptions Refinement { get; init; } = new();

    /// <summary>Cat-Cross gamma for sources with class tokens (null: the source's default; others take none).</summary>
    public double? Gamma { get; init; }

    /// <summary>Lambdas of the sweep (null: the primary's only).</summary>
    public IReadOnlyList<double>? SweepLambdas { get; init; }

    /// <summary>Iteration counts tabulated by the sweep (null: the primary's only); every K up to the largest is scored.</summary>
    public IReadOnlyList<int>? SweepIterations { get; init; }

    /// <summary>Gammas of the sweep (null: the primary's only).</summary>
    public IReadOnlyList<double>? SweepGammas { get; init; }

    /// <summary>Background rule of the masks; null: none (every pixel to its best present class).</summary>
    public BackgroundRule? Background { get; init; } = BackgroundRule.Power(2);

    /// <summary>Items whose masks at every iteration are shown in the report (the first ones).</summary>
    public int ShowItems { get; init; } = 4;

    /// <summary>Skip items whose results exist in the output folder.</summary>
    public bool Resume { get; init; }

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        Refinement.Validate();
        if (!Refinement.EntSelf && (SweepLambdas is not null || SweepIterations is not null))
            throw new ArgumentException("sweep: lambda and iterations do not apply to the base method (--no-entropy).");
        foreach (var l in SweepLambdas ?? []) if (!(l >= 0) || double.IsInfinity(l)) throw new ArgumentException($"sweep: lambda must be a finite number >= 0, got {l}.");
        foreach (var k in SweepIterations ?? []) if (k < 0) throw new ArgumentException($"sweep: iterations must be >= 0, got {k}.");
        foreach (var g in SweepGammas ?? []) if (!(g > 0) || double.IsInfinity(g)) throw new ArgumentException($"sweep: gamma must be positive, got {g}.");
        if (Gamma is { } gamma && (!(gamma > 0) || double.IsInfinity(gamma))) throw new ArgumentException($"gamma must be positive, got {gamma}.");
        if (ShowItems < 0) throw new ArgumentException($"show: must be >= 0, got {ShowItems}.");
    }

    /// <summary>Lambdas refined: the primary's first, then the sweep's.</summary>
    public double[] Lambdas => Refinement.EntSelf ? [.. new[] { Refinement.Lambda }.Concat(SweepLambdas ?? []).Distinct()] : [];

    /// <summary>Gammas: the primary's first, then the sweep's.</summary>
    public double?[] Gammas => [.. new[] { Gamma }.Concat((SweepGammas ?? []).Select(g => (double?)g)).Distinct()];

    /// <summary>Iteration counts tabulated.</summary>
    public int[] IterationCounts => [.. new[] { Refinement.Iterations }.Concat(SweepIterations ?? []).Distinct().Order()];

    /// <summary>Iterations run for every setting (the largest tabulated).</summary>
    public int MaxIterations => Refinement.EntSelf ? IterationCounts.Max() : 0;

    /// <summary>Iterations scored (0, i.e. A0 normalised, and every tabulated K); the curve is drawn through them.</summary>
    public int[] ScoredIterations => [.. new[] { 0 }.Concat(IterationCounts).Distinct().Order()];
}

/// <summary>Per-class counts of one prediction (or a sum of them).</summary>
/// <param name="Tp">True positives per class.</param>
/// <param name="Fp">False positives per class.</param>
/// <param name="Fn">False negatives per class.</param>
public sealed record ClassCounts(long[] Tp, long[] Fp, long[] Fn)
{
    /// <summary>Counts of <paramref name="prediction"/> against <paramref name="label"/>; predictions outside the classes count as misses.</summary>
    public static ClassCounts Of(byte[] prediction, int[] label, int classes, int ignore)
    {
        var c = new ClassCounts(new long[classes], new long[classes], new long[classes]);
        for (int i = 0; i < label.Length; i++)
        {
            int g = label[i];
            if (g == ignore || (uint)g >= (uint)classes) continue;
            int p = prediction[i];
            if (p == g) c.Tp[g]++;
            else
            {
                c.Fn[g]++;
                if (p < classes) c.Fp[p]++;
            }
        }
        return c;
    }

    /// <summary>The element-wise sum.</summary>
    public ClassCounts Plus(ClassCounts o) => new([.. Tp.Zip(o.Tp, (a, b) => a + b)], [.. Fp.Zip(o.Fp, (a, b) => a + b)], [.. Fn.Zip(o.Fn, (a, b) => a + b)]);

    /// <summary>IoU (%) per class; NaN where the class has no ground truth.</summary>
    public double[] IoU() => [.. Enumerable.Range(0, Tp.Length).Select(c => Tp[c] + Fn[c] == 0 ? double.NaN : 100.0 * Tp[c] / (Tp[c] + Fp[c] + Fn[c]))];

    /// <summary>Mean IoU (%) over the classes with ground truth (D.4); NaN when none.</summary>
    public double MeanIoU()
    {
        var v = IoU().Where(x => !double.IsNaN(x)).ToArray();
        return v.Length == 0 ? double.NaN : v.Average();
    }
}

/// <summary>The stored result of one item: counts per scored key (iSeg keys: one entry per scored iteration, in the order of ScoredIterations).</summary>
public sealed record ISegItemResult(string Id, int Classes, double RefineSeconds, Dictionary<string, ClassCounts[]> Scores)
{
    /// <summary>Key of A0 alone for a gamma.</summary>
    public static string A0Key(double? gamma) => "a0" + GammaPart(gamma);

    /// <summary>Key of the base method for a gamma.</summary>
    public static string BaseKey(double? gamma) => "base" + GammaPart(gamma);

    /// <summary>Key of iSeg at a lambda and gamma.</summary>
    public static string ISegKey(double lambda, double? gamma) => "lambda=" + lambda.ToString("R", CultureInfo.InvariantCulture) + GammaPart(gamma);

    private static string GammaPart(double? gamma) => gamma is { } g ? ";gamma=" + g.ToString("R", CultureInfo.InvariantCulture) : "";
}

/// <summary>One row of a table of results.</summary>
/// <param name="Method">"A0 alone", "base", or "iSeg".</param>
/// <param name="Lambda">Lambda (iSeg rows).</param>
/// <param name="Gamma">Gamma, where the source takes one.</param>
/// <param name="Iterations">K (iSeg rows).</param>
/// <param name="MIoU">Mean IoU (%) over classes with ground truth.</param>
/// <param name="PerClassIoU">IoU (%) per class (NaN: no ground truth).</param>
public sealed record ISegScore(string Method, double? Lambda, double? Gamma, int? Iterations, double MIoU, double[] PerClassIoU);

/// <summary>The summary written to iseg.json.</summary>
public sealed record ISegSummary(string Source, string[] Classes, int Items, int Scored, int Skipped, double MeanRefineSeconds, string Settings,
    ISegScore[] Main, ISegScore[] Sweep, Dictionary<string, double[]> CurveMIoU, string[] MissingShards, ISegRunOptions Options, byte[] PaletteRgb, int IgnoreIndex)
{
    /// <summary>File name of the summary.</summary>
    public const string FileName = "iseg.json";
}

/// <summary>Masks of one shown item at each stage, for the report.</summary>
/// <param name="Id">Item id.</param>
/// <param name="Width">Mask width.</param>
/// <param name="Height">Mask height.</param>
/// <param name="Image">Planar RGB or null.</param>
/// <param name="Label">Ground truth or null.</param>
/// <param name="Stages">(caption, mask) in order: A0, base, K = 1..</param>
public sealed record ISegShown(string Id, int Width, int Height, float[]? Image, int[]? Label, IReadOnlyList<(string Caption, byte[] Mask)> Stages);

/// <summary>Runs iSeg over a source.</summary>
public static class ISegRun
{
    /// <summary>Folder of the per-item results.</summary>
    public const string ItemsFolder = "items", MasksFolder = "masks";

    /// <summary>JSON settings of iseg.json and the item files (camelCase, NaN allowed).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Refines and scores items <paramref name="indices"/> (null: all) of <paramref name="source"/> into <paramref name="outDir"/>.</summary>
    public static (ISegSummary Summary, IReadOnlyList<ISegShown> Shown) Run(IAttentionSource source, string outDir, ISegRunOptions options,
        IReadOnlyList<int>? indices = null, IProgress<(int Done, int Total, string Id)>? progress = null, CancellationToken cancel = default)
    {
        options.Validate();
        if (!source.TakesGamma && (options.Gamma is not null || options.SweepGammas is not null))
            throw new ArgumentException("gamma (Cat-Cross) scales class tokens before the attention is computed; it applies to --source vit only, not to this source.");
        var todo = indices ?? [.. Enumerable.Range(0, source.Count)];
        Directory.CreateDirectory(Path.Combine(outDir, ItemsFolder));
        Directory.CreateDirectory(Path.Combine(outDir, MasksFolder));
        var results = new List<ISegItemResult>();
        var shown = new List<ISegShown>();
        int skipped = 0, done = 0;
        foreach (var i in todo)
        {
            cancel.ThrowIfCancellationRequested();
            string id = source.Id(i), jsonPath = Path.Combine(outDir, ItemsFolder, id + ".json");
            bool show = shown.Count < options.ShowItems;
            if (options.Resume && File.Exists(jsonPath) && !show)
            {
                results.Add(ReadItem(jsonPath));
                skipped++;
            }
            else
            {
                var (result, stages) = One(source, i, outDir, options, show);
                results.Add(result);
                if (stages is not null) shown.Add(stages);
            }
            progress?.Report((++done, todo.Count, id));
        }
        var summary = Summarise(source.Description, [.. source.ClassNames], results, skipped, options, [], source.PaletteRgb, source.IgnoreIndex);
        AtomicFile.Write(Path.Combine(outDir, ISegSummary.FileName), JsonSerializer.SerializeToUtf8Bytes(summary, JsonOptions));
        if (todo.Count == 1 && source.Count == 1)
            File.Copy(Path.Combine(outDir, ItemsFolder, source.Id(todo[0]) + ".safetensors"), Path.Combine(outDir, "refined.safetensors"), overwrite: true);
        return (summary, shown);
    }

    /// <summary>Sums the per-item results of shard folders into one summary.</summary>
    public static ISegSummary Merge(IReadOnlyList<string> shardDirs, bool partial = false)
    {
        ISegSummary? first = null;
        var results = new Dictionary<string, ISegItemResult>(StringComparer.Ordinal);
        var miss = new List<string>();
        string source = "";
        string[] classes = [];
        foreach (var dir in shardDirs)
        {
            string summaryPath = Path.Combine(dir, ISegSummary.FileName);
            if (!File.Exists(summaryPath)) { miss.Add(dir); continue; }
            var s = JsonSerializer.Deserialize<ISegSummary>(File.ReadAllBytes(summaryPath), JsonOptions)
                ?? throw new InvalidDataException($"{summaryPath} is not a valid {ISegSummary.FileName}.");
            if (classes.Length > 0 && !classes.SequenceEqual(s.Classes))
                throw new InvalidDataException($"{summaryPath}: classes [{string.Join(", ", s.Classes)}] differ from the other shards' [{string.Join(", ", classes)}].");
            if (first is not null && first.Settings != s.Settings)
                throw new InvalidDataException($"{summaryPath}: settings '{s.Settings}' differ from the other shards' '{first.Settings}'.");
            first ??= s;
            classes = s.Classes;
            source = s.Source;
            foreach (var f in Directory.GetFiles(Path.Combine(dir, ItemsFolder), "*.json").Order(StringComparer.Ordinal))
            {
                var r = ReadItem(f);
                results.TryAdd(r.Id, r);
            }
        }
        if (results.Count == 0) throw new InvalidDataException($"merge: none of {string.Join(", ", shardDirs)} holds a finished iSeg run ({ISegSummary.FileName}).");
        if (miss.Count > 0 && !partial) throw new InvalidDataException($"merge: {string.Join(", ", miss)} hold no finished iSeg run ({ISegSummary.FileName}); merge the rest with --partial.");
        return Summarise(source, classes, [.. results.Values], 0, first!.Options, [.. miss], first.PaletteRgb, first.IgnoreIndex);
    }

    private static ISegItemResult ReadItem(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ISegItemResult>(File.ReadAllBytes(path), JsonOptions) ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid iSeg item result: {e.Message}", e);
        }
    }

    private static (ISegItemResult, ISegShown?) One(IAttentionSource source, int index, string outDir, ISegRunOptions options, bool show)
    {
        int c = source.ClassNames.Count;
        var gammas = options.Gammas;
        var scores = new Dictionary<string, ClassCounts[]>(StringComparer.Ordinal);
        var stages = show ? new List<(string, byte[])>() : null;
        AttentionItem first = null!;
        Tensor primaryMaps = null!;
        double refineSeconds = 0;
        foreach (var gamma in gammas)
        {
            var item = source.Load(index, gamma);
            if (gamma == gammas[0]) first = item;
            AttentionInput.Check(item.SelfAttention, item.CrossAttention, item.GridHeight, item.GridWidth, item.Id);
            if (item.CrossAttention.Size(1) != c)
                throw new ArgumentException($"{item.Id}: tensor 'cross_attention' is {Shapes.Format(item.CrossAttention.Shape)}; the source has {c} classes.");
            var labeller = new Labeller(item, source, options.Background);
            bool primaryGamma = gamma == gammas[0];
            Score(scores, ISegItemResult.A0Key(gamma), labeller, [item.CrossAttention], primaryGamma ? stages : null, "A0 alone");
            var clock = Stopwatch.StartNew();
            var b = AttentionRefinement.Base(item.SelfAttention, item.CrossAttention);
            refineSeconds += clock.Elapsed.TotalSeconds;
            Score(scores, ISegItemResult.BaseKey(gamma), labeller, [b], primaryGamma ? stages : null, "base (S A0)");
            if (primaryGamma && !options.Refinement.EntSelf) primaryMaps = b;
            foreach (var lambda in options.Lambdas)
            {
                clock.Restart();
                var p = AttentionRefinement.EntSelf(item.SelfAttention, options.Refinement with { Lambda = lambda });
                var steps = AttentionRefinement.Iterate(p, item.CrossAttention, options.MaxIterations);
                refineSeconds += clock.Elapsed.TotalSeconds;
                bool primary = primaryGamma && lambda == options.Lambdas[0];
                Score(scores, ISegItemResult.ISegKey(lambda, gamma), labeller, [.. options.ScoredIterations.Select(k => steps[k])], null, "");
                if (primary && stages is not null)
                    for (int k = 1; k <= options.Refinement.Iterations; k++) stages.Add(($"K = {k}", labeller.Mask(steps[k])));
                if (primary) primaryMaps = steps[options.Refinement.Iterations];
            }
        }
        string itemDir = Path.Combine(outDir, ItemsFolder);
        SafeTensors.Save(Path.Combine(itemDir, first.Id + ".safetensors"), [new("maps", Planes(primaryMaps, first.GridHeight, first.GridWidth))], new Dictionary<string, string>
        {
            ["classes"] = string.Join(",", source.ClassNames), ["grid"] = $"{first.GridHeight}x{first.GridWidth}",
            ["settings"] = Settings(options),
        });
        var primaryLabeller = new Labeller(first, source, options.Background);
        var mask = primaryLabeller.Mask(primaryMaps);
        Imaging.Png.Save(Path.Combine(outDir, MasksFolder, first.Id + ".png"), new Imaging.Image(first.Width > 0 ? first.Width : first.GridWidth, first.Height > 0 ? first.Height : first.GridHeight, 1, mask));
        var result = new ISegItemResult(first.Id, c, refineSeconds, first.Label is null ? [] : scores);
        AtomicFile.Write(Path.Combine(itemDir, first.Id + ".json"), JsonSerializer.SerializeToUtf8Bytes(result, JsonOptions));
        return (result, stages is null ? null : new ISegShown(first.Id, primaryLabeller.Width, primaryLabeller.Height, first.Image, first.Label, stages));
    }

    private static void Score(Dictionary<string, ClassCounts[]> scores, string key, Labeller labeller, Tensor[] maps,
        List<(string, byte[])>? stages, string caption)
    {
        var counts = new ClassCounts[maps.Length];
        for (int k = 0; k < maps.Length; k++)
        {
            var mask = labeller.Mask(maps[k]);
            counts[k] = labeller.Counts(mask);
            stages?.Add((caption, mask));
        }
        scores[key] = counts;
    }

    /// <summary>Maps [N, C] on an h x w grid as planes [C, h, w].</summary>
    public static Tensor Planes(Tensor maps, int gridH, int gridW)
    {
        int n = maps.Size(0), c = maps.Size(1);
        var a = maps.ToArray();
        var o = new float[c * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++) o[k * n + i] = a[i * c + k];
        return Tensor.FromArray(o, c, gridH, gridW);
    }

    /// <summary>The settings in words (for metadata and reports).</summary>
    public static string Settings(ISegRunOptions o) => o.Refinement.EntSelf
        ? FormattableString.Invariant($"iSeg: lambda {o.Refinement.Lambda}, K {o.Refinement.Iterations}, {o.Refinement.Log}, {o.Refinement.Normalisation} normalisation") + (o.Gamma is { } g ? FormattableString.Invariant($", gamma {g}") : "")
            + $"; background {(o.Background?.ToString() ?? "none (argmax over present classes)")}"
        : $"base method (one product with the raw S, no entropy reduction); background {(o.Background?.ToString() ?? "none (argmax over present classes)")}";

    private static ISegSummary Summarise(string sourceText, string[] classes, List<ISegItemResult> results, int skipped, ISegRunOptions options, string[] missing, byte[] palette, int ignore)
    {
        var scored = results.Where(r => r.Scores.Count > 0).ToList();
        ClassCounts Sum(string key, int k) => scored.Select(r => r.Scores.TryGetValue(key, out var v) && k < v.Length ? v[k] : null)
            .Where(v => v is not null).Aggregate(new ClassCounts(new long[classes.Length], new long[classes.Length], new long[classes.Length]), (a, b) => a.Plus(b!));
        ISegScore Row(string method, string key, int k, double? lambda, double? gamma, int? iterations)
        {
            var s = Sum(key, k);
            return new ISegScore(method, lambda, gamma, iterations, s.MeanIoU(), s.IoU());
        }
        var g0 = options.Gammas[0];
        var main = new List<ISegScore> { Row("A0 alone", ISegItemResult.A0Key(g0), 0, null, g0, null), Row("base", ISegItemResult.BaseKey(g0), 0, null, g0, null) };
        if (options.Refinement.EntSelf)
            main.Add(Row("iSeg", ISegItemResult.ISegKey(options.Refinement.Lambda, g0), Array.IndexOf(options.ScoredIterations, options.Refinement.Iterations), options.Refinement.Lambda, g0, options.Refinement.Iterations));
        var sweep = new List<ISegScore>();
        var curve = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var gamma in options.Gammas)
            foreach (var lambda in options.Lambdas)
            {
                string key = ISegItemResult.ISegKey(lambda, gamma);
                var scoredK = options.ScoredIterations;
                curve[key] = [.. scoredK.Select((_, j) => Sum(key, j).MeanIoU())];
                foreach (var k in options.IterationCounts) sweep.Add(Row("iSeg", key, Array.IndexOf(scoredK, k), lambda, gamma, k));
            }
        double meanSeconds = results.Count == 0 ? 0 : results.Average(r => r.RefineSeconds);
        return new ISegSummary(sourceText, classes, results.Count, scored.Count, skipped, meanSeconds, Settings(options), [.. main], [.. sweep], curve, missing, options, palette, ignore);
    }

    /// <summary>Maps [N, C] to a mask at the output size, by the background rule, over the present classes.</summary>
    private sealed class Labeller
    {
        private readonly AttentionItem _item;
        private readonly int[] _present;
        private readonly BackgroundRule _rule;
        private readonly byte _backgroundLabel;
        private readonly int _classes, _ignore;

        public Labeller(AttentionItem item, IAttentionSource source, BackgroundRule? rule)
        {
            _item = item;
            _classes = source.ClassNames.Count;
            _ignore = source.IgnoreIndex;
            Width = item.Width > 0 ? item.Width : item.GridWidth;
            Height = item.Height > 0 ? item.Height : item.GridHeight;
            var present = item.Present ?? (item.Label is null ? [.. Enumerable.Range(0, _classes)] : CnnAttentionSource.Present(item.Label, _classes, _ignore));
            if (rule is null)
            {
                _rule = BackgroundRule.Constant(0);
                _backgroundLabel = (byte)_ignore;
                _present = present;
            }
            else
            {
                _rule = rule;
                _backgroundLabel = (byte)(source.BackgroundClass ?? _ignore);
                _present = [.. present.Where(p => p != source.BackgroundClass)];
            }
        }

        public int Width { get; }

        public int Height { get; }

        public byte[] Mask(Tensor maps)
        {
            var image = AttentionRefinement.ToImageMaps(maps, _item.GridHeight, _item.GridWidth, Height, Width);
            return ClassMapLabels.Labels(image, _present, _rule, _backgroundLabel);
        }

        public ClassCounts Counts(byte[] mask) => _item.Label is null ? new ClassCounts(new long[_classes], new long[_classes], new long[_classes])
            : ClassCounts.Of(mask, _item.Label, _classes, _ignore);
    }
}
