// Aggregation of the context study (PAPERS.md B.1): per method x variant, over all objects and per class, split by
// correct versus wrong segmentation of the object in that variant (recall >= the run's threshold), each statistic as
// the mean over objects with its standard deviation (NaN values, e.g. a map that is zero everywhere, left out and
// counted); per image (objects averaged within their image first, then images); and curves over severity (the mean
// over corruptions of each perturbation's object means).
namespace SegLab.Attribution.Context;

/// <summary>Mean, sample standard deviation and count of the finite values of a statistic.</summary>
/// <param name="Mean">Mean (NaN when none).</param>
/// <param name="Sd">Sample standard deviation (NaN below two values).</param>
/// <param name="N">Finite values.</param>
public sealed record Stat(double Mean, double Sd, int N)
{
    /// <summary>The statistic of <paramref name="values"/> (non-finite values left out).</summary>
    public static Stat Of(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return new Stat(double.NaN, double.NaN, 0);
        double m = v.Average();
        double sd = v.Length < 2 ? double.NaN : Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
        return new Stat(m, sd, v.Length);
    }
}

/// <summary>One aggregate: a method, a variant, a class (or "all") and a split (all, correct, wrong).</summary>
public sealed record ContextGroup
{
    /// <summary>Method.</summary>
    public required string Method { get; init; }

    /// <summary>Variant.</summary>
    public required string Variant { get; init; }

    /// <summary>Variant kind.</summary>
    public required string Kind { get; init; }

    /// <summary>Class name or "all".</summary>
    public required string Class { get; init; }

    /// <summary>all, correct or wrong.</summary>
    public required string Split { get; init; }

    /// <summary>Objects.</summary>
    public int Objects { get; init; }

    /// <summary>Fraction of the objects segmented correctly.</summary>
    public double CorrectFraction { get; init; }

    /// <summary>Object recall.</summary>
    public required Stat Recall { get; init; }

    /// <summary>Object IoU.</summary>
    public required Stat IoU { get; init; }

    /// <summary>Recognition side: the class probability on the crop (N = 0 on the segmentation side).</summary>
    public Stat Probability { get; init; } = new(double.NaN, double.NaN, 0);

    /// <summary>Object share.</summary>
    public required Stat ObjectShare { get; init; }

    /// <summary>Area fraction (the uniform map's object share).</summary>
    public required Stat AreaFraction { get; init; }

    /// <summary>Object share / area fraction: 1 for a uniform map.</summary>
    public required Stat Concentration { get; init; }

    /// <summary>Object attribution per pixel.</summary>
    public required Stat ObjectPerPixel { get; init; }

    /// <summary>Context attribution per pixel.</summary>
    public required Stat ContextPerPixel { get; init; }

    /// <summary>Object attribution per non-zero pixel.</summary>
    public required Stat ObjectPerNonZero { get; init; }

    /// <summary>Context attribution per non-zero pixel.</summary>
    public required Stat ContextPerNonZero { get; init; }

    /// <summary>Non-zero fraction of the object.</summary>
    public required Stat ObjectNonZeroFraction { get; init; }

    /// <summary>Non-zero fraction of the context.</summary>
    public required Stat ContextNonZeroFraction { get; init; }
}

/// <summary>Per method and variant: the mean over images of the image's mean over its objects.</summary>
/// <param name="Method">Method.</param>
/// <param name="Variant">Variant.</param>
/// <param name="Images">Images.</param>
/// <param name="ObjectShare">Object share.</param>
/// <param name="Recall">Recall.</param>
public sealed record ImageAggregate(string Method, string Variant, int Images, Stat ObjectShare, Stat Recall);

/// <summary>One point of a severity curve: the mean over corruptions of their object means at one severity.</summary>
/// <param name="Method">Method.</param>
/// <param name="Region">ctx or obj.</param>
/// <param name="Severity">1-5.</param>
/// <param name="Corruptions">Corruptions averaged.</param>
/// <param name="Recall">Mean object recall.</param>
/// <param name="IoU">Mean object IoU.</param>
/// <param name="ObjectShare">Mean object share.</param>
/// <param name="Probability">Recognition side: mean class probability (NaN on the segmentation side).</param>
public sealed record SeverityPoint(string Method, string Region, int Severity, int Corruptions, double Recall, double IoU, double ObjectShare, double Probability = double.NaN);

/// <summary>The aggregates of a run.</summary>
/// <param name="Groups">Method x variant x class x split.</param>
/// <param name="PerImage">Method x variant, per image.</param>
/// <param name="Severity">Curves over severity.</param>
public sealed record ContextAggregates(IReadOnlyList<ContextGroup> Groups, IReadOnlyList<ImageAggregate> PerImage, IReadOnlyList<SeverityPoint> Severity);

/// <summary>Builds <see cref="ContextAggregates"/> from object results.</summary>
public static class ContextSummary
{
    /// <summary>Splits of the groups.</summary>
    public static IReadOnlyList<string> Splits { get; } = ["all", "correct", "wrong"];

    /// <summary>The aggregates of <paramref name="results"/>.</summary>
    /// <param name="results">Objects.</param>
    /// <param name="variants">The run's variants (order and kinds).</param>
    /// <param name="methods">The run's methods (order).</param>
    public static ContextAggregates Build(IReadOnlyList<InstanceResult> results, IReadOnlyList<VariantSpec> variants, IReadOnlyList<string> methods)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(variants);
        ArgumentNullException.ThrowIfNull(methods);
        var flat = results.SelectMany(r => r.Records.Select(x => (Obj: r, Rec: x))).ToList();
        var classes = results.Select(r => r.ClassName).Distinct().Order(StringComparer.Ordinal).ToList();
        var groups = new List<ContextGroup>();
        var perImage = new List<ImageAggregate>();
        var names = methods.Select(m => AttributionTable.Create(m).Name).ToList();
        foreach (string m in names)
            foreach (var v in variants)
            {
                var rows = flat.Where(f => f.Rec.Method == m && f.Rec.Variant == v.Name).ToList();
                foreach (string cls in (string[])["all", .. classes])
                    foreach (string split in Splits)
                    {
                        var sel = rows.Where(f => (cls == "all" || f.Obj.ClassName == cls)
                            && (split == "all" || (split == "correct") == f.Rec.Correct)).Select(f => f.Rec).ToList();
                        if (sel.Count == 0 && !(cls == "all" && split == "all")) continue;
                        groups.Add(Group(m, v, cls, split, sel));
                    }
                var images = rows.GroupBy(f => f.Obj.Image).ToList();
                perImage.Add(new ImageAggregate(m, v.Name, images.Count,
                    Stat.Of(images.Select(g => Stat.Of(g.Select(f => f.Rec.ObjectShare)).Mean)),
                    Stat.Of(images.Select(g => g.Average(f => f.Rec.Recall)))));
            }
        var severity = new List<SeverityPoint>();
        foreach (string m in names)
            foreach (var region in new[] { (Kind: VariantKind.ContextPerturbation, Name: "ctx"), (Kind: VariantKind.ObjectPerturbation, Name: "obj") })
                foreach (int s in variants.Where(v => v.Kind == region.Kind).Select(v => v.Severity).Distinct().Order())
                {
                    var vs = variants.Where(v => v.Kind == region.Kind && v.Severity == s).Select(v => v.Name).ToHashSet();
                    var means = flat.Where(f => f.Rec.Method == m && vs.Contains(f.Rec.Variant)).GroupBy(f => f.Rec.Variant)
                        .Select(g => (Recall: g.Average(f => f.Rec.Recall), IoU: g.Average(f => f.Rec.IoU), Share: Stat.Of(g.Select(f => f.Rec.ObjectShare)).Mean,
                            P: Stat.Of(g.Select(f => f.Rec.Probability ?? double.NaN)).Mean)).ToList();
                    if (means.Count == 0) continue;
                    severity.Add(new SeverityPoint(m, region.Name, s, means.Count, means.Average(x => x.Recall), means.Average(x => x.IoU), Stat.Of(means.Select(x => x.Share)).Mean,
                        Stat.Of(means.Select(x => x.P)).Mean));
                }
        return new ContextAggregates(groups, perImage, severity);
    }

    private static ContextGroup Group(string method, VariantSpec v, string cls, string split, List<ContextRecord> sel) => new()
    {
        Method = method, Variant = v.Name, Kind = v.Kind.ToString(), Class = cls, Split = split, Objects = sel.Count,
        CorrectFraction = sel.Count == 0 ? double.NaN : (double)sel.Count(r => r.Correct) / sel.Count,
        Recall = Stat.Of(sel.Select(r => r.Recall)), IoU = Stat.Of(sel.Select(r => r.IoU)), Probability = Stat.Of(sel.Select(r => r.Probability ?? double.NaN)),
        ObjectShare = Stat.Of(sel.Select(r => r.ObjectShare)), AreaFraction = Stat.Of(sel.Select(r => r.AreaFraction)),
        Concentration = Stat.Of(sel.Select(r => r.ObjectShare / r.AreaFraction)),
        ObjectPerPixel = Stat.Of(sel.Select(r => r.ObjectPerPixel)), ContextPerPixel = Stat.Of(sel.Select(r => r.ContextPerPixel)),
        ObjectPerNonZero = Stat.Of(sel.Select(r => r.ObjectPerNonZero)), ContextPerNonZero = Stat.Of(sel.Select(r => r.ContextPerNonZero)),
        ObjectNonZeroFraction = Stat.Of(sel.Select(r => r.ObjectNonZeroFraction)), ContextNonZeroFraction = Stat.Of(sel.Select(r => r.ContextNonZeroFraction)),
    };
}
