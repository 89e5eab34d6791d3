// Report items of issue 24: the confusion matrix's rows sum to 100 percent, shown images keep a least frame distance
// within a sequence, prediction and ground truth are drawn alike, the attack curve starts at the clean point (eps 0),
// the command line wraps only between arguments, and the eval report stays XML-parseable without external links.
using System.Xml.Linq;
using SegLab.Data;
using SegLab.Evaluation;
using SegLab.Metrics;
using SegLab.Reports;
using SegLab.Robustness;
using SegLab.Robustness.Protocols;

namespace SegLab.Tests.Reports;

public sealed class Issue24ReportTests
{
    [Fact]
    public void Confusion_matrix_rows_sum_to_100_percent_and_cells_carry_counts()
    {
        long[,] counts = { { 90, 10, 0 }, { 3, 0, 7 }, { 0, 0, 0 } };
        var svg = new ConfusionMatrix(["a", "b", "c"], counts).ToSvg();
        var rows = ReportXml.Find(svg, "g", "row");
        Assert.Equal(3, rows.Count);
        foreach (var row in rows.Take(2))
            Assert.Equal(100, ReportXml.Find(row, "rect", "cell").Sum(c => ReportXml.Num(c, "data-pct")), 9);
        Assert.Equal(70, ReportXml.Num(ReportXml.Find(rows[1], "rect", "cell")[2], "data-pct"), 9);
        Assert.Contains("7 pixels", ReportXml.Find(rows[1], "rect", "cell")[2].Element("title")!.Value, StringComparison.Ordinal);
        Assert.All(ReportXml.Find(rows[2], "rect", "cell"), c => Assert.Equal("NaN", (string?)c.Attribute("data-pct")));
    }

    [Fact]
    public void Shown_images_are_never_within_the_frame_distance_of_one_sequence()
    {
        // 40 consecutive frames (2 apart) of one sequence, worst first, plus two other sequences.
        var scores = Enumerable.Range(0, 40).Select(i => new ImageScore($"0016E5_{7959 + 2 * i:D5}", i, 50))
            .Append(new ImageScore("0001TP_006690", 50, 50)).Append(new ImageScore("0006R0_f00930", 99, 50)).Append(new ImageScore("plain", 98, 50)).ToList();
        var (worst, best) = ExampleSelection.Choose(scores, 6, 6, minFrameDistance: 30);
        var shown = worst.Concat(best).Select(s => s.Id).ToList();
        Assert.Equal("0016E5_07959", worst[0].Id);
        for (int i = 0; i < shown.Count; i++)
            for (int j = i + 1; j < shown.Count; j++)
                Assert.False(ExampleSelection.TooClose(shown[i], shown[j], 30), $"{shown[i]} and {shown[j]} are within 30 frames");
        Assert.Equal(shown.Count, shown.Distinct().Count());
        Assert.Contains("0016E5_08019", shown); // 60 frames after the worst: far enough
        Assert.DoesNotContain("0016E5_07961", shown);
        Assert.Equal(("0016E5", 7959L), ExampleSelection.Frame("0016E5_07959"));
        Assert.Null(ExampleSelection.Frame("plain"));
    }

    [Fact]
    public void Few_images_are_split_between_worst_and_best()
    {
        var scores = Enumerable.Range(0, 5).Select(i => new ImageScore($"s_{100 * i}", 10 * i, 50)).ToList();
        var (worst, best) = ExampleSelection.Choose(scores, 5, 6);
        Assert.Equal(3, worst.Count);
        Assert.Equal(2, best.Count);
        Assert.Equal(["s_400", "s_300"], best.Select(b => b.Id));
    }

    [Fact]
    public void Eval_report_draws_prediction_and_ground_truth_alike_with_confusion_and_histogram()
    {
        var classes = ClassTable.Resolve("camvid");
        int w = 8, h = 6, k = classes.Count;
        var label = Enumerable.Range(0, w * h).Select(i => i % k).ToArray();
        var image = new float[3 * w * h];
        var example = new ImageExample("0016E5_07959", w, h, image, label, (int[])label.Clone(), 100, 100);
        var acc = new MetricAccumulator(k);
        acc.Add(ImageConfusion.Compute(example.Id, example.Prediction, label, k, classes.IgnoreIndex));
        var summary = acc.Summarize();
        var html = EvalReport.Build("m", "d", "val", classes, summary, [example], [], 1, "seglab eval --model cgnet-camvid --data /a/very/long/path",
            new EvalReportExtras([], acc.ConfusionMatrix(), acc.ImageScores())).ToHtml();
        var root = ReportXml.Parse(html);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        var figures = ReportXml.Find(root, "div", "imagerow").Single().Descendants("figure").ToList();
        string Src(string caption) => (string)figures.Single(f => f.Element("figcaption")!.Value == caption).Descendants("img").Single().Attribute("src")!;
        Assert.Equal(Src("ground truth"), Src("prediction")); // identical maps drawn by the same renderer
        Assert.All(figures, f => Assert.StartsWith("#zoom-", (string)f.Element("a")!.Attribute("href")!, StringComparison.Ordinal));
        Assert.All(figures, f => Assert.Equal("#" + (string)f.Attribute("id")!, (string)f.Element("a")!.Attribute("href")!)); // a thumbnail opens its own figure
        Assert.All(figures, f => Assert.StartsWith("0016E5_07959", ReportXml.Find(f, "span", "zoomtitle").Single().Value, StringComparison.Ordinal)); // enlarged, it says which image
        Assert.Single(ReportXml.Find(root, "svg", "confusion"));
        Assert.Single(ReportXml.Find(root, "svg", "histogram"));
        var args = ReportXml.Find(root, "span", "arg").Select(a => a.Value).ToList();
        Assert.Contains("--model cgnet-camvid", args);
    }

    [Fact]
    public void Attack_report_curve_starts_at_the_clean_point_at_eps_0()
    {
        var names = new[] { "a", "b" };
        ImageCounts C(long tp0, long tp1) => new([tp0, tp1], [10, 10], [10 + (10 - tp1), 10 - (10 - tp1)], 20, 0);
        var images = new[]
        {
            new ImageRobustness("x_1", 2, 10, C(10, 10), [new EpsOutcome(1 / 255.0, [new AttackOutcome("pgd", C(10, 4), 1, 1 / 255.0, 0, 5, 0.1)])], 0, 0, 0, 5, 1),
        };
        var protocol = new Protocol("t", "test", _ => [], Selection.Accuracy);
        var report = RobustnessSummary.Build("m", protocol, LossLogits.Scored, [1 / 255.0], images);
        var html = RobustnessHtml.Build(report, names, [0, 0, 0, 255, 255, 255], -1, [], "seglab attack").ToHtml();
        var root = ReportXml.Parse(html);
        var chart = ReportXml.Find(root, "svg", "linechart").First();
        var series = ReportXml.Find(chart, "g", "series");
        Assert.Equal(report.Eps[0].GreedyWorstMIoU is null ? 3 : 4, series.Count);
        foreach (var s in series) Assert.Equal(2, ReportXml.Find(s, "*", "pt").Count); // clean point + eps 1/255
        var ticks = chart.Descendants("text").Select(t => t.Value).ToList();
        Assert.Contains("0", ticks);
        Assert.DoesNotContain("0.5", ticks); // integer eps ticks
        Assert.Equal(100, report.Eps[0].PerClassIoUClean![1], 9);
        Assert.True(report.Eps[0].PerClassIoUWorst![1] < 100);
        Assert.Contains("Per-class IoU over eps", html, StringComparison.Ordinal);

        // Foreground columns only where classes are excluded (else they repeat mIoU and image mIoU).
        string Headers(RobustnessReport rr) => string.Join("|", ReportXml.Parse(RobustnessHtml.Build(rr, names, [0, 0, 0, 255, 255, 255], -1, [], null).ToHtml())
            .Descendants("th").Select(t => t.Value));
        Assert.DoesNotContain("fg mIoU", Headers(report), StringComparison.Ordinal);
        var excluded = RobustnessSummary.Build("m", protocol, LossLogits.Scored, [1 / 255.0], images, [0]);
        Assert.Contains("fg mIoU (without a)", Headers(excluded), StringComparison.Ordinal);
        Assert.Contains("fg image mIoU (without a)", Headers(excluded), StringComparison.Ordinal);
    }
}
