// The HTML report of an evaluation (seglab eval, merge, demo): the metric table, a per-class IoU bar chart in the
// class colours, the row-normalised confusion matrix, the distribution of image mIoU, the small-object analysis
// (recall by object size, IoU by area fraction), the worst and best images as image | ground truth | prediction |
// errors (ground truth and prediction both flat class-colour maps; click to enlarge), and the skipped files.
using SegLab.Data;
using SegLab.Metrics;
using SegLab.Reports;

namespace SegLab.Evaluation;

/// <summary>What an evaluation report shows besides the summary (all optional).</summary>
/// <param name="Best">Best images, best first.</param>
/// <param name="Confusion">The dataset-wide K x K confusion counts (row: ground truth, column: prediction), or null.</param>
/// <param name="ImageScores">Every image's score, for the image-mIoU histogram.</param>
/// <param name="MinFrameDistance">The least frame distance the shown images were chosen with.</param>
public sealed record EvalReportExtras(IReadOnlyList<ImageExample> Best, long[,]? Confusion, IReadOnlyList<ImageScore> ImageScores,
    int MinFrameDistance = ExampleSelection.DefaultMinFrameDistance);

/// <summary>Builds the report of an evaluation.</summary>
public static class EvalReport
{
    /// <summary>The report of an evaluation.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="dataset">Dataset name and folder, as shown.</param>
    /// <param name="split">Split.</param>
    /// <param name="classes">Class table (names and colours).</param>
    /// <param name="summary">The metrics.</param>
    /// <param name="worst">Worst images with their predictions, worst first.</param>
    /// <param name="skipped">Files that were skipped.</param>
    /// <param name="seconds">Wall time (NaN when unknown, e.g. after a merge).</param>
    /// <param name="commandLine">The command that produced it.</param>
    /// <param name="extras">Best images, confusion matrix and image scores, or null for none.</param>
    public static HtmlReport Build(string model, string dataset, string split, ClassTable classes, MetricSummary summary,
        IReadOnlyList<ImageExample> worst, IReadOnlyList<SkippedFile> skipped, double seconds, string? commandLine, EvalReportExtras? extras = null)
    {
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(summary);
        var report = new HtmlReport($"Evaluation of {model}", $"{dataset}, split {split}, {summary.Images} images");
        report.Meta("model", model).Meta("dataset", dataset).Meta("split", split).Meta("images", Inv(summary.Images));
        if (double.IsFinite(seconds) && seconds > 0)
            report.Meta("wall time", $"{seconds:F1} s ({summary.Images / seconds:F2} images/s)");
        report.RunMeta(commandLine);
        if (skipped.Count > 0)
            report.Warning($"{skipped.Count} file(s) could not be evaluated and were skipped (--skip-bad); the metrics leave them out.",
                skipped.Select(s => $"{s.Id}: {s.Problem}"));

        var overview = report.Section("Metrics");
        overview.Paragraph("All values in percent, void pixels ignored. Dataset mIoU pools every pixel of the split per class; image mIoU averages " +
            "the per-image mIoU (classes present in the ground truth or the prediction), so it weighs every image, and the small objects in it, alike.");
        var table = new ReportTable().Column("metric").Column("value", "F2", colourScale: true);
        table.Row("dataset mIoU", summary.MIoU).Row("image mIoU", summary.ImageMIoU).Row("image mIoU (ground-truth classes only)", summary.ImageMIoUGtOnly)
            .Row("pixel accuracy (pooled)", summary.PixelAccuracy).Row("pixel accuracy (mean of images)", summary.MeanImagePixelAccuracy)
            .Row("mean class accuracy", summary.MeanClassAccuracy);
        if (summary.ExcludedClasses.Length > 0)
        {
            string left = string.Join(", ", summary.ExcludedClasses.Select(c => classes.Names[c]));
            table.Row($"foreground mIoU (without {left})", summary.ForegroundMIoU).Row($"foreground image mIoU (without {left})", summary.ForegroundImageMIoU)
                .Row($"foreground pixel accuracy (without {left})", summary.ForegroundPixelAccuracy);
        }
        overview.Add(table);
        overview.Paragraph($"Size-bias gap (image mIoU minus dataset mIoU): {summary.SizeBiasGap:F2} points.");

        var perClass = report.Section("Per-class IoU");
        var palette = classes.PaletteRgb();
        var bars = new BarChart("IoU per class (%)") { Caption = "Dataset-wise IoU of each class; bar colour = the class's display colour." };
        var classTable = new ReportTable().Column("class").Column("IoU", "F2", colourScale: true).Column("accuracy", "F2", colourScale: true);
        for (int c = 0; c < classes.Count; c++)
        {
            bars.Add(classes.Names[c], summary.PerClassIoU[c], Hex(palette, c));
            classTable.Row(classes.Names[c], summary.PerClassIoU[c], summary.PerClassAccuracy[c]);
        }
        classTable.SummaryRow("mean", summary.MIoU, summary.MeanClassAccuracy);
        perClass.Add(bars).Add(classTable);

        if (extras?.Confusion is { } confusion) AddConfusion(report, confusion, classes);
        if (extras is { ImageScores.Count: > 0 }) AddHistogram(report, extras.ImageScores, summary);
        AddSmallObjects(report, summary, classes);
        int distance = extras?.MinFrameDistance ?? ExampleSelection.DefaultMinFrameDistance;
        AddExamples(report, "Worst images", "The images with the lowest image mIoU, worst first", worst, classes, distance);
        if (extras is not null) AddExamples(report, "Best images", "The images with the highest image mIoU, best first", extras.Best, classes, distance);
        return report;
    }

    private static void AddConfusion(HtmlReport report, long[,] confusion, ClassTable classes)
    {
        var s = report.Section("Confusion matrix");
        s.Paragraph("Where each ground-truth class goes: row = ground-truth class, column = predicted class, cell = percent of the row's valid pixels " +
            "(every row sums to 100). Hover over a cell for its pixel count; the diagonal (outlined, green) is the class accuracy.");
        s.Add(new ConfusionMatrix(classes.Names, confusion, "Confusion (% of each ground-truth class)"));
        var top = new ReportTable("Largest confusions (off-diagonal, share of the ground-truth class)").Column("ground truth").Column("predicted as")
            .Column("pixels", "N0").Column("% of ground truth", "F2");
        var m = new ConfusionMatrix(classes.Names, confusion);
        var pairs = new List<(int G, int P, double Pct)>();
        for (int g = 0; g < classes.Count; g++)
            for (int p = 0; p < classes.Count; p++)
                if (g != p && confusion[g, p] > 0) pairs.Add((g, p, m.RowPercent(g, p)));
        foreach (var (g, p, pct) in pairs.OrderByDescending(x => x.Pct).Take(10)) top.Row(classes.Names[g], classes.Names[p], confusion[g, p], pct);
        if (top.RowCount > 0) s.Add(top);
    }

    private static void AddHistogram(HtmlReport report, IReadOnlyList<ImageScore> scores, MetricSummary summary)
    {
        var s = report.Section("Image mIoU distribution");
        var values = scores.Select(x => x.MIoU).ToList();
        int none = values.Count(double.IsNaN);
        var h = new Histogram("Images by image mIoU") { XLabel = "image mIoU (%), bins of 5", Marker = summary.ImageMIoU, MarkerLabel = $"mean {summary.ImageMIoU:F1}",
            Caption = $"{values.Count - none} images" + (none > 0 ? $" ({none} without valid pixels left out)" : "") + "; the dashed line is the mean (the image mIoU of the table)." };
        s.Add(h.AddRange(values));
    }

    private static void AddSmallObjects(HtmlReport report, MetricSummary summary, ClassTable classes)
    {
        var s = report.Section("Small objects");
        s.Paragraph("Every connected region of a ground-truth class is an object; its recall is the share of its pixels predicted as its class. " +
            "Objects are binned by area (COCO-style: small below 32x32 pixels, medium up to 96x96, large above). Below, each class in each image is " +
            "binned by the share of the image it covers, and its IoU in that image averaged per bin.");
        var bins = new ReportTable("Object recall by object area (%)").Column("objects").Column("area (pixels)").Column("count", "N0")
            .Column("mean recall", "F1", colourScale: true).Column("pooled recall", "F1", colourScale: true);
        var recall = new BarChart("Mean object recall by object size (%)");
        foreach (var b in summary.ComponentBins)
        {
            string area = b.MaxArea is null ? $">= {b.MinArea}" : $"{b.MinArea} to {b.MaxArea}";
            bins.Row(b.Name, area, b.Count, b.MeanRecall, b.PooledRecall);
            recall.Add($"{b.Name} ({b.Count})", b.MeanRecall);
        }
        s.Add(recall).Add(bins);
        var curve = new LineChart("Per-image class IoU by the class's area share") { XLabel = "share of the image's valid pixels (%, bin midpoint)", YLabel = "mean IoU (%)", LogX = true, YMin = 0, YMax = 100 };
        var points = summary.AreaFractionBins.Where(b => b.Count > 0)
            .Select(b => (X: 100 * Math.Sqrt(Math.Max(b.Lower, 1e-5) * b.Upper), Y: b.MeanIoU)).ToList();
        if (points.Count > 0) s.Add(curve.Series("all classes", points));
        var fractions = new ReportTable("Per-image class IoU by area share").Column("area share (%)").Column("class-image pairs", "N0").Column("mean IoU", "F1", colourScale: true);
        foreach (var b in summary.AreaFractionBins)
            fractions.Row($"{100 * b.Lower:0.###} to {100 * b.Upper:0.###}", b.Count, b.MeanIoU);
        s.Add(fractions);
    }

    private static void AddExamples(HtmlReport report, string heading, string what, IReadOnlyList<ImageExample> examples, ClassTable classes, int minFrameDistance)
    {
        if (examples.Count == 0) return;
        var s = report.Section(heading);
        s.Paragraph($"{what}: the image, its ground truth and the prediction (both drawn as flat class-colour maps), and where the prediction is wrong. " +
            $"No two images shown in this report are frames of one sequence fewer than {minFrameDistance} frames apart. Click an image to enlarge it.");
        var palette = classes.PaletteRgb();
        s.Add(new ColourLegend(classes.Names, palette));
        foreach (var e in examples)
        {
            var row = new ImageRow($"{e.Id}: image mIoU {e.ImageMIoU:F1}, pixel accuracy {e.PixelAccuracy:F1}") { MaxWidth = 270, MaxHeight = 270, Zoom = true }
                .Add(ReportImage.FromRgb(e.Image, e.Width, e.Height), "image")
                .Add(Overlay.Labels(e.Label, e.Width, e.Height, palette, classes.IgnoreIndex), "ground truth")
                .Add(Overlay.Labels(e.Prediction, e.Width, e.Height, palette, classes.IgnoreIndex), "prediction")
                .Add(Overlay.Error(e.Prediction, e.Label, e.Width, e.Height, classes.IgnoreIndex), "errors");
            s.Add(row);
        }
        s.Add(Overlay.ErrorLegend());
    }

    private static string Hex(byte[] palette, int c) => $"#{palette[3 * c]:x2}{palette[3 * c + 1]:x2}{palette[3 * c + 2]:x2}";

    private static string Inv(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
