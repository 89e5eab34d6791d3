// report.html of a context run (issue 18 item 5), in the style of the eval and attack reports (SegLab.Reports):
// definitions, per method a table over variants (segmentation quality of the object beside its attribution shares,
// all objects and split correct/wrong), per-class tables of the original images, curves over severity for the
// context-only and object-only corruptions, and example heat maps (the object outlined in white).
using SegLab.Imaging;
using SegLab.Reports;

namespace SegLab.Attribution.Context;

/// <summary>Builds the HTML report of a <see cref="ContextReport"/>.</summary>
public static class ContextHtml
{
    /// <summary>The report.</summary>
    /// <param name="r">context.json's content.</param>
    /// <param name="exampleDirs">Run folders whose examples/ to show.</param>
    public static HtmlReport Build(ContextReport r, IReadOnlyList<string> exampleDirs)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(exampleDirs);
        bool rec = r.Side == "recognition";
        var report = new HtmlReport(rec ? $"Context reliance of {r.Model} (recognition side: a crop classifier)" : $"Context reliance of {r.Model}",
            $"{r.Dataset} {r.Split}: {r.Objects} objects in {r.Images} images");
        // The quality column: recall of the object's pixels (segmentation), the class probability on the crop (recognition).
        string qName = rec ? "p(class)" : "recall";
        Stat Q(ContextGroup g) => rec ? g.Probability : g.Recall;
        report.Meta("model", r.Model).Meta("data", $"{r.Dataset} {r.Split}").Meta("classes", string.Join(", ", r.Classes))
            .Meta("methods", string.Join(", ", r.Methods)).Meta("variants", r.Variants.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Meta("objects", string.Join(", ", r.ObjectsPerClass.Select(kv => $"{kv.Key} {kv.Value}")))
            .Meta("size groups (B.3)", string.Join(", ", r.SizeGroups.Select(kv => $"{kv.Key} {kv.Value}")))
            .Meta("area groups (COCO)", string.Join(", ", r.AreaGroups.Select(kv => $"{kv.Key} {kv.Value}")));
        if (r.Run.MergedFrom is { } from) report.Meta("merged from", string.Join(", ", from));
        report.RunMeta(r.Run.CommandLine);
        if (rec)
            report.Note("This is the recognition side of the study:", [r.SideDetail ?? "a crop classifier",
                "quality is the classifier's probability of the object's class on the crop; correct = recognised (p >= 0.5); the maps and shares are on the crop"]);
        report.Note("Definitions:", r.Definitions.Select(kv => $"{kv.Key}: {kv.Value}"));
        if (r.Unavailable.Count > 0)
            report.Warning("Variants that could not be built for some objects (left out of their rows):", r.Unavailable.Select(kv => $"{kv.Key}: {kv.Value} objects"));

        var groups = r.Aggregates.Groups;
        foreach (string m in r.Methods)
        {
            var sec = report.Section($"{m}: object against context per variant");
            sec.Paragraph("Percent, mean over objects (± standard deviation in the share column). Object share: the object's part of the normalised map; "
                + "area: the share a uniform map would give; concentration = share / area (1 = no preference for the object). "
                + (rec ? "Correct/wrong: the object recognised (class probability >= 0.5) or not in that variant; p(class): the mean class probability." : "Correct/wrong: the object's recall in that variant."));
            var t = new ReportTable($"{m}, all classes").Column("variant").Column("kind").Column("objects", "N0").Column("correct", "F1", true)
                .Column(qName, "F1", true).Column(rec ? "p(class) sd" : "IoU", "F1", true).Column("object share", "F1").Column("± sd", "F1").Column("area", "F2")
                .Column("concentration", "F2").Column("share, correct", "F1").Column("share, wrong", "F1").Column("ctx non-zero", "F1");
            foreach (var v in r.Variants)
            {
                var all = Find(groups, m, v.Name, "all", "all");
                if (all is null) continue;
                t.Row(v.Name, v.Kind, all.Objects, 100 * all.CorrectFraction, 100 * Q(all).Mean, 100 * (rec ? all.Probability.Sd : all.IoU.Mean), 100 * all.ObjectShare.Mean,
                    100 * all.ObjectShare.Sd, 100 * all.AreaFraction.Mean, all.Concentration.Mean,
                    Pct(Find(groups, m, v.Name, "all", "correct")?.ObjectShare.Mean), Pct(Find(groups, m, v.Name, "all", "wrong")?.ObjectShare.Mean),
                    100 * all.ContextNonZeroFraction.Mean);
            }
            sec.Add(t);
            var pc = new ReportTable($"{m}, original images, per class").Column("class").Column("objects", "N0").Column("correct", "F1", true)
                .Column(qName, "F1", true).Column("object share", "F1").Column("area", "F2").Column("concentration", "F2")
                .Column("obj per px", "0.###").Column("ctx per px", "0.###");
            foreach (var g in groups.Where(g => g.Method == m && g.Variant == "original" && g.Split == "all" && g.Class != "all"))
                pc.Row(g.Class, g.Objects, 100 * g.CorrectFraction, 100 * Q(g).Mean, 100 * g.ObjectShare.Mean, 100 * g.AreaFraction.Mean,
                    g.Concentration.Mean, g.ObjectPerPixel.Mean, g.ContextPerPixel.Mean);
            sec.Add(pc);
        }

        var sev = r.Aggregates.Severity;
        if (sev.Count > 0)
        {
            var curves = report.Section("Over severity");
            curves.Paragraph("Mean over corruptions of the object means at each severity; severity 0 is the original image. ctx: the corruption on the context only; obj: on the object only.");
            foreach (string m in r.Methods)
            {
                var orig = Find(groups, m, "original", "all", "all");
                var chart = new LineChart($"{m}: {qName} and object share over severity") { XLabel = "severity", YLabel = "%", YMin = 0, YMax = 100, IntegerX = true };
                foreach (string region in new[] { "ctx", "obj" })
                {
                    var pts = sev.Where(p => p.Method == m && p.Region == region).OrderBy(p => p.Severity).ToList();
                    if (pts.Count == 0) continue;
                    chart.Series($"{qName}, {region}", [(0, 100 * (orig is null ? double.NaN : Q(orig).Mean)), .. pts.Select(p => ((double)p.Severity, 100 * (rec ? p.Probability : p.Recall)))]);
                    chart.Series($"object share, {region}", [(0, 100 * (orig?.ObjectShare.Mean ?? double.NaN)), .. pts.Select(p => ((double)p.Severity, 100 * p.ObjectShare))]);
                }
                curves.Add(chart);
            }
        }

        var dirs = exampleDirs.Select(d => Path.Combine(d, "examples")).Where(Directory.Exists).ToList();
        var objects = dirs.SelectMany(d => Directory.GetDirectories(d).Order(StringComparer.Ordinal)).Take(6).ToList();
        if (objects.Count > 0)
        {
            var ex = report.Section("Examples");
            ex.Paragraph((rec ? "Per object (outlined in white), on its crop: " : "Per object (outlined in white): ") + "the variant image, then each method's map over it (ReLU, scaled to its maximum).");
            foreach (string o in objects)
                foreach (var v in r.Variants)
                {
                    string img = Path.Combine(o, $"{v.Name}__image.png");
                    if (!File.Exists(img)) continue;
                    var row = new ImageRow($"{Path.GetFileName(o)}: {v.Name}") { MaxWidth = 240, MaxHeight = 240 };
                    row.Add(ReportImage.FromImage(Png.Load(img)), "image");
                    foreach (string m in r.Methods)
                    {
                        string f = Path.Combine(o, $"{v.Name}__{ContextRunner.Safe(m)}.png");
                        if (File.Exists(f)) row.Add(ReportImage.FromImage(Png.Load(f)), m);
                    }
                    ex.Add(row);
                }
        }
        return report;
    }

    private static ContextGroup? Find(IReadOnlyList<ContextGroup> groups, string method, string variant, string cls, string split) =>
        groups.FirstOrDefault(g => g.Method == method && g.Variant == variant && g.Class == cls && g.Split == split);

    private static object? Pct(double? v) => v is { } x ? 100 * x : null;
}
