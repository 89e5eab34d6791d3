// The HTML report of a robustness run (issue 6; SEA arXiv 2306.12941 and Halmosi et al. arXiv 2407.09150 as in
// PAPERS.md A.4/A.6): the robustness curve over eps from the clean point at eps 0 (series told apart by marker and
// dash as well as colour, integer eps ticks), per-class IoU at every eps (which classes fall first), what clean-correct
// pixels become under the worst case, per-attack tables and win counts, the size-bias analysis (IoU and recall by object
// area, clean against attacked; image mIoU minus dataset mIoU), sanity checks, example images (clean, perturbation
// magnified, clean and adversarial predictions) and each attack's mean loss per iteration. Built on SegLab.Reports.
using System.Globalization;
using SegLab.Reports;

namespace SegLab.Robustness.Protocols;

/// <summary>One example image: clean and worst-case adversarial image with their predictions.</summary>
/// <param name="Id">Image id.</param>
/// <param name="Width">W.</param>
/// <param name="Height">H.</param>
/// <param name="Eps">Radius.</param>
/// <param name="Attack">The worst-case attack shown.</param>
/// <param name="Clean">Planar RGB [3, H, W].</param>
/// <param name="Adversarial">Planar RGB [3, H, W].</param>
/// <param name="Label">Labels.</param>
/// <param name="CleanPrediction">Clean prediction.</param>
/// <param name="AdversarialPrediction">Adversarial prediction.</param>
public sealed record RobustnessExample(string Id, int Width, int Height, double Eps, string Attack, float[] Clean, float[] Adversarial,
    int[] Label, int[] CleanPrediction, int[] AdversarialPrediction);

/// <summary>Builds the HTML report of a <see cref="RobustnessReport"/>.</summary>
public static class RobustnessHtml
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>The report.</summary>
    /// <param name="r">Results.</param>
    /// <param name="classNames">Class names (legend).</param>
    /// <param name="paletteRgb">Class colours.</param>
    /// <param name="ignoreIndex">Label of ignored pixels.</param>
    /// <param name="examples">Example images (may be empty).</param>
    /// <param name="commandLine">The command that produced it.</param>
    public static HtmlReport Build(RobustnessReport r, IReadOnlyList<string> classNames, byte[] paletteRgb, int ignoreIndex,
        IReadOnlyList<RobustnessExample> examples, string? commandLine)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(examples);
        var report = new HtmlReport($"Adversarial robustness of {r.Model}", $"protocol {r.Protocol}, {r.Images} images");
        report.Meta("model", r.Model).Meta("protocol", r.Protocol).Meta("attacks", r.ProtocolDescription).Meta("selection", r.Selection)
            .Meta("loss logits", r.LossLogits).Meta("images", r.Images.ToString(Ci)).Meta("attack time", $"{r.Seconds:F0} s ({r.Seconds / Math.Max(1, r.Images):F0} s/image)");
        report.RunMeta(commandLine);
        if (r.Sanity.Warnings.Count > 0) report.Warning("Sanity checks found problems:", r.Sanity.Warnings);
        else report.Note("Sanity checks passed: finite, non-zero input gradients; two forward passes agree; every adversarial image lies in the eps-ball and [0, 1]; no worst case above clean.");

        var curve = report.Section("Robustness over eps");
        curve.Paragraph("Percent. Worst case per image over the clean image and every attack; accuracy is the mean of per-image accuracies (SEA's robust accuracy); mIoU pools intersections and unions of the selected predictions; greedy mIoU is SEA's worst-case search.");
        var chart = new LineChart("Worst case over eps (eps 0 = clean)") { XLabel = "eps (x 1/255)", YLabel = "%", YMin = 0, YMax = 100, IntegerX = true,
            Caption = "The point at eps 0 is the clean model." };
        double[] xs = [0, .. r.Eps.Select(e => e.EpsValue * 255)];
        double[] Curve(Func<EpsSummary, double> worst, Func<EpsSummary, double> clean) => r.Eps.Count == 0 ? [] : [clean(r.Eps[0]), .. r.Eps.Select(worst)];
        if (r.Eps.Count > 0)
        {
            chart.Series("pixel accuracy", xs, Curve(e => e.WorstCase.ImagePixelAccuracy, e => e.Clean.ImagePixelAccuracy))
                .Series("mIoU", xs, Curve(e => e.WorstCase.MIoU, e => e.Clean.MIoU))
                .Series("image mIoU", xs, Curve(e => e.WorstCase.ImageMIoU, e => e.Clean.ImageMIoU));
            if (r.Eps.All(e => e.GreedyWorstMIoU is not null)) chart.Series("greedy mIoU", xs, Curve(e => e.GreedyWorstMIoU!.Value, e => e.Clean.MIoU));
            curve.Add(chart);
        }
        curve.Add(Overview(r, classNames));

        if (r.Eps.Count > 0 && r.Eps[0].PerClassIoUClean is { } cleanIoU && r.Eps.All(e => e.PerClassIoUWorst is not null))
        {
            var classes = report.Section("Per-class IoU over eps");
            classes.Paragraph("Dataset-wise IoU of each class, clean and under the per-image worst case at each eps (cell colour: red low, green high); " +
                "the last column is the drop at the largest eps, and rows are sorted by it, so the classes that fall first come first.");
            var t = new ReportTable("IoU per class (%)").Column("class").Column("clean", "F1", true);
            foreach (var e in r.Eps) t.Column($"eps {e.Eps}", "F1", true);
            t.Column("drop", "F1");
            var last = r.Eps[^1].PerClassIoUWorst!;
            var order = Enumerable.Range(0, cleanIoU.Length).OrderByDescending(c => double.IsNaN(cleanIoU[c] - last[c]) ? double.NegativeInfinity : cleanIoU[c] - last[c]);
            foreach (int c in order)
                t.Row([c < classNames.Count ? classNames[c] : $"class {c}", cleanIoU[c], .. r.Eps.Select(e => (object?)e.PerClassIoUWorst![c]), cleanIoU[c] - last[c]]);
            classes.Add(t);
        }

        AddCleanToWorst(report, r, classNames);

        var perAttack = report.Section("Attacks");
        foreach (var e in r.Eps)
        {
            var t = new ReportTable($"eps {e.Eps}").Column("attack").Column("pixel acc (pooled)", "F2", true).Column("pixel acc (per image)", "F2", true)
                .Column("mIoU", "F2", true).Column("image mIoU", "F2", true).Column("wins", "N0").Column("above clean", "N0").Column("max |delta| x255", "F3").Column("s/image", "F1");
            foreach (var a in e.Attacks)
                t.Row(a.Attack, a.Metrics.PixelAccuracy, a.Metrics.ImagePixelAccuracy, a.Metrics.MIoU, a.Metrics.ImageMIoU, a.Wins, a.ImagesAboveClean, a.MaxLinfNorm, a.SecondsPerImage);
            t.SummaryRow("worst case", e.WorstCase.PixelAccuracy, e.WorstCase.ImagePixelAccuracy, e.WorstCase.MIoU, e.WorstCase.ImageMIoU,
                r.PerImage.Count(p => p.Eps == e.Eps && p.Chosen == "clean"), null, null, null);
            var wins = new BarChart($"Images won per attack, eps {e.Eps}") { Max = Math.Max(1, r.Images), ValueFormat = "F0", IntegerTicks = true };
            foreach (var a in e.Attacks) wins.Add(a.Attack, a.Wins);
            perAttack.Add(t).Add(wins);
        }

        var size = report.Section("Size bias");
        size.Paragraph("Each class of each image is binned by the share of the image its ground truth covers; mean IoU and recall per bin, clean against the worst case. The gap is image mIoU minus dataset mIoU: small objects that vanish lower the former more.");
        foreach (var e in r.Eps)
        {
            var bars = new BarChart($"IoU by object area, eps {e.Eps}") { SeriesName = "clean", SecondSeriesName = "attacked" };
            var t = new ReportTable($"eps {e.Eps}: gap clean {e.SizeBiasGapClean:F2}, worst case {e.SizeBiasGapWorst:F2} points").Column("area share").Column("objects", "N0")
                .Column("IoU clean", "F1", true).Column("IoU attacked", "F1", true).Column("recall clean", "F1", true).Column("recall attacked", "F1", true);
            foreach (var b in e.SizeBias)
            {
                if (b.Objects > 0) bars.Add($"{b.Range} ({b.Objects})", b.CleanIoU, b.AttackedIoU);
                t.Row(b.Range, b.Objects, b.CleanIoU, b.AttackedIoU, b.CleanRecall, b.AttackedRecall);
            }
            size.Add(bars).Add(t);
        }

        if (examples.Count > 0)
        {
            var ex = report.Section("Examples");
            ex.Paragraph("Clean image, the worst-case perturbation magnified (mid grey = 0, full colour = eps), the clean and adversarial predictions and the ground truth, all three as flat class-colour maps. Click an image to enlarge it.");
            ex.Add(new ColourLegend(classNames, paletteRgb));
            foreach (var x in examples)
            {
                var delta = new float[x.Clean.Length];
                for (int i = 0; i < delta.Length; i++) delta[i] = x.Adversarial[i] - x.Clean[i];
                ex.Add(new ImageRow($"{x.Id}: {x.Attack} at eps {LinfBall.FormatEps(x.Eps)}") { MaxWidth = 210, MaxHeight = 210, Zoom = true }
                    .Add(ReportImage.FromRgb(x.Clean, x.Width, x.Height), "image")
                    .Add(Overlay.Magnify(delta, x.Width, x.Height, x.Eps), "perturbation (magnified)")
                    .Add(Overlay.Labels(x.CleanPrediction, x.Width, x.Height, paletteRgb, ignoreIndex), "clean prediction")
                    .Add(Overlay.Labels(x.AdversarialPrediction, x.Width, x.Height, paletteRgb, ignoreIndex), "adversarial prediction")
                    .Add(Overlay.Labels(x.Label, x.Width, x.Height, paletteRgb, ignoreIndex), "ground truth"));
            }
        }

        AddTraces(report, r);
        var images = report.Section("Per image");
        var pt = new ReportTable("Chosen attack per image (first 300 rows)").Column("image").Column("eps").Column("chosen").Column("acc clean", "F2").Column("acc", "F2", true)
            .Column("mIoU clean", "F2").Column("mIoU", "F2", true);
        foreach (var p in r.PerImage.Take(300)) pt.Row(p.Id, p.Eps, p.Chosen, p.CleanAccuracy, p.Accuracy, p.CleanMIoU, p.MIoU);
        images.Add(pt);
        return report;
    }

    // The worst case per radius; the foreground columns only where --exclude left classes out (else they repeat mIoU).
    private static ReportTable Overview(RobustnessReport r, IReadOnlyList<string> classNames)
    {
        bool fg = r.ExcludedClasses.Count > 0;
        string without = fg ? " (without " + string.Join(", ", r.ExcludedClasses.Select(c => c < classNames.Count ? classNames[c] : $"class {c}")) + ")" : "";
        var t = new ReportTable().Column("eps").Column("pixel acc (pooled)", "F2", true).Column("pixel acc (per image)", "F2", true)
            .Column("mIoU", "F2", true).Column("greedy mIoU", "F2", true).Column("image mIoU", "F2", true);
        if (fg) t.Column("fg mIoU" + without, "F2", true).Column("fg image mIoU" + without, "F2", true);
        object?[] Cells(string eps, MetricSet m, double? greedy) => fg
            ? [eps, m.PixelAccuracy, m.ImagePixelAccuracy, m.MIoU, greedy, m.ImageMIoU, m.ForegroundMIoU, m.ForegroundImageMIoU]
            : [eps, m.PixelAccuracy, m.ImagePixelAccuracy, m.MIoU, greedy, m.ImageMIoU];
        if (r.Eps.Count > 0) t.Row(Cells("clean", r.Eps[0].Clean, null));
        foreach (var e in r.Eps) t.Row(Cells(e.Eps, e.WorstCase, e.GreedyWorstMIoU));
        return t;
    }

    // What the clean-correct pixels become under the worst case, per radius: a row-normalised matrix and the largest flips.
    private static void AddCleanToWorst(HtmlReport report, RobustnessReport r, IReadOnlyList<string> classNames)
    {
        var s = report.Section("Clean versus adversarial");
        if (r.Eps.Count == 0 || r.Eps.Any(e => e.CleanToWorst is null))
        {
            s.Note("Not recorded: this run's state predates the clean-to-adversarial counts; a new run (not --resume) records them.");
            return;
        }
        s.Paragraph("What the pixels the model classifies correctly on the clean image become under the per-image worst case: row = class of a clean-correct pixel, " +
            "column = prediction under attack, cell = percent of the row (every row sums to 100; hover for pixel counts). The diagonal is what survives the attack; " +
            "an off-diagonal column that fills up is a class the attack pushes pixels into.");
        var names = Enumerable.Range(0, r.Eps[0].CleanToWorst!.Length).Select(c => c < classNames.Count ? classNames[c] : $"class {c}").ToArray();
        foreach (var e in r.Eps)
        {
            var counts = CleanToWorst.ToArray(e.CleanToWorst!);
            var m = new ConfusionMatrix(names, counts, $"Clean-correct pixels under attack, eps {e.Eps} (% of each class)")
            {
                RowLabel = "class (clean-correct pixels)",
                ColumnLabel = "prediction under attack",
            };
            s.Add(m);
            var flips = new List<(int From, int To, double Pct)>();
            for (int a = 0; a < names.Length; a++)
                for (int b = 0; b < names.Length; b++)
                    if (a != b && counts[a, b] > 0) flips.Add((a, b, m.RowPercent(a, b)));
            var t = new ReportTable($"Largest flips at eps {e.Eps} (share of the class's clean-correct pixels)").Column("class").Column("becomes")
                .Column("pixels", "N0").Column("% of clean-correct", "F2");
            foreach (var (a, b, pct) in flips.OrderByDescending(f => f.Pct).Take(10)) t.Row(names[a], names[b], counts[a, b], pct);
            if (t.RowCount > 0) s.Add(t);
        }
    }

    // Each attack's mean loss per iteration, one small chart per attack (losses of different attacks have different
    // scales), one line per eps; the per-image traces are in trace.json.
    private static void AddTraces(HtmlReport report, RobustnessReport r)
    {
        var s = report.Section("Loss per iteration");
        var names = r.Eps.Count == 0 ? [] : r.Eps[0].Attacks.Select(a => a.Attack).ToArray();
        if (names.Length == 0 || r.Eps.Any(e => e.Attacks.Any(a => a.MeanTrace is not { Count: > 0 })))
        {
            s.Note("Not recorded: this run kept no per-iteration trace (a state written before traces were kept for every run).");
            return;
        }
        s.Paragraph("The attack loss at each iteration, averaged over the images (each image's loss is its mean over all pixels, ignored pixels 0), one chart per attack " +
            "with its own loss scale, one line per eps. A line that still climbs at the last iteration means more iterations would find a stronger attack; a flat one from " +
            "the start, a saturated loss or masked gradients. Every image's trace, with accuracy and mIoU per iteration, is in trace.json beside this report.");
        var charts = new List<IReportElement>();
        for (int a = 0; a < names.Length; a++)
        {
            var chart = new LineChart(names[a]) { XLabel = "iteration", YLabel = "loss", IntegerX = true, Width = 360, Height = 230,
                Markers = r.Eps.Max(e => e.Attacks[a].MeanTrace!.Count) <= 25 };
            foreach (var e in r.Eps)
                chart.Series($"eps {e.Eps}", e.Attacks[a].MeanTrace!.Select(p => ((double)p.Step, p.Loss)));
            charts.Add(chart);
        }
        s.Add(new SideBySide([.. charts]));
    }
}
