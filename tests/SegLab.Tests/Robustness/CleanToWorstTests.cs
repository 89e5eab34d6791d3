// Clean-versus-adversarial counts and loss traces of a protocol run (issue 24): the counts equal those recomputed
// here, pixel by pixel, from the worst-case adversarial image; each row holds exactly the class's clean-correct pixels;
// the state refuses counts that do not match; the report draws the matrix and one loss chart per attack.
using SegLab.Reports;
using SegLab.Robustness;
using SegLab.Robustness.Protocols;
using SegLab.Tests.Reports;

namespace SegLab.Tests.Robustness;

public sealed class CleanToWorstTests
{
    private static Protocol Two() => new("two", "pgd + apgd",
        _ => [AttackInvariantTests.Build("pgd", "ce"), AttackInvariantTests.Build("apgd", "mce")], Selection.Accuracy);

    private static (List<ImageRobustness> Images, Dictionary<(string, double, string), float[]> Adversarial, TinySegmentation P) Run(double[] eps, bool traces)
    {
        var p = new TinySegmentation(seed: 7); // seed 7: the random UNet predicts two classes (most seeds predict one class everywhere, which no attack flips)
        var ev = new RobustnessEvaluator(p.Model, Two(), eps, new ProtocolContext(TinySegmentation.Classes, null, 0)) { KeepTraces = traces };
        int d = 3 * TinySegmentation.H * TinySegmentation.W, hw = TinySegmentation.H * TinySegmentation.W;
        var adv = new Dictionary<(string, double, string), float[]>();
        var list = new List<ImageRobustness>();
        for (int b = 0; b < TinySegmentation.N; b++)
        {
            string id = $"img{b}";
            list.Add(ev.Evaluate(id, p.Images.AsSpan(b * d, d).ToArray(), p.Labels.AsSpan(b * hw, hw).ToArray(), TinySegmentation.H, TinySegmentation.W,
                onAdversarial: (e, name, x) => adv[(id, e, name)] = x));
        }
        return (list, adv, p);
    }

    [Fact]
    public void Counts_are_what_clean_correct_pixels_become_under_the_chosen_worst_case()
    {
        double[] eps = [2.0 / 255, 16.0 / 255];
        var (images, adv, p) = Run(eps, traces: false);
        int k = TinySegmentation.Classes, hw = TinySegmentation.H * TinySegmentation.W, d = 3 * hw;
        bool anyFlip = false;
        for (int b = 0; b < images.Count; b++)
        {
            var img = images[b];
            var labels = p.Model.MapLabels(p.Labels.AsSpan(b * hw, hw).ToArray());
            var clean = p.Model.Predict(p.Model.Logits(p.Images.AsSpan(b * d, d).ToArray(), 1, TinySegmentation.H, TinySegmentation.W), 1, hw);
            foreach (double e in eps)
            {
                var cand = img.CandidatesAt(e);
                int chosen = WorstCase.Strongest(cand.Select(c => c.Counts).ToArray(), Selection.Accuracy);
                var worst = chosen == 0 ? clean
                    : p.Model.Predict(p.Model.Logits(adv[(img.Id, e, cand[chosen].Name)], 1, TinySegmentation.H, TinySegmentation.W), 1, hw);
                var expected = new long[k, k];
                for (int i = 0; i < hw; i++)
                    if (labels[i] >= 0 && clean[i] == labels[i]) expected[labels[i], worst[i]]++;
                var m = img.At(e).CleanToWorst!;
                for (int c = 0; c < k; c++)
                {
                    Assert.Equal(img.Clean.Tp[c], m[c].Sum());
                    Assert.True(m[c][c] <= cand[chosen].Counts.Tp[c]);
                    for (int a = 0; a < k; a++)
                    {
                        Assert.Equal(expected[c, a], m[c][a]);
                        anyFlip |= a != c && m[c][a] > 0;
                    }
                }
            }
        }
        Assert.True(anyFlip, "eps 16/255 flipped no pixel of the tiny model: the test shows nothing");
        var report = RobustnessSummary.Build("tiny", Two(), LossLogits.Scored, eps, images);
        foreach (var s in report.Eps)
            for (int c = 0; c < k; c++)
                Assert.Equal(images.Sum(i => i.At(s.EpsValue).CleanToWorst![c].Sum()), s.CleanToWorst![c].Sum());
    }

    [Fact]
    public void State_keeps_the_counts_and_refuses_counts_that_do_not_match_the_clean_ones()
    {
        double[] eps = [8.0 / 255];
        var (images, _, _) = Run(eps, traces: true);
        var path = Path.Combine(Path.GetTempPath(), $"seglab-c2w-{Guid.NewGuid():N}.json");
        try
        {
            RobustnessJson.SaveState(path, new RobustnessState("fp", images));
            var back = RobustnessJson.LoadState(path);
            Assert.Equal(images[1].At(eps[0]).CleanToWorst, back.Images[1].At(eps[0]).CleanToWorst);
            Assert.Equal(images[0].At(eps[0]).Attacks[1].Trace!.Count, back.Images[0].At(eps[0]).Attacks[1].Trace!.Count);
            var m = images[0].At(eps[0]).CleanToWorst!;
            m[0][0]++;
            RobustnessJson.SaveState(path, new RobustnessState("fp", images));
            var error = Assert.Throws<FormatException>(() => RobustnessJson.LoadState(path));
            Assert.Contains("clean-to-worst", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Mean_trace_averages_the_images_step_by_step_and_the_report_draws_one_chart_per_attack()
    {
        double[] eps = [2.0 / 255, 8.0 / 255];
        var (images, _, _) = Run(eps, traces: true);
        var report = RobustnessSummary.Build("tiny", Two(), LossLogits.Scored, eps, images);
        var pgd = report.Eps[1].Attacks[0];
        var traces = images.Select(i => i.At(eps[1]).Attacks[0].Trace!).ToArray();
        Assert.Equal(traces.SelectMany(t => t.Select(s => s.Step)).Distinct().Count(), pgd.MeanTrace!.Count);
        var last = pgd.MeanTrace[^1];
        Assert.Equal(traces.Average(t => t.Single(s => s.Step == last.Step).Loss), last.Loss, 12);
        Assert.Equal(100 * traces.Average(t => t.Single(s => s.Step == last.Step).Accuracy), last.PixelAccuracy, 9);
        Assert.Equal(images.Count, last.Images);

        var html = RobustnessHtml.Build(report, ["a", "b", "c"], [0, 0, 0, 9, 9, 9, 200, 200, 200], TinySegmentation.Ignore, [], "seglab attack").ToHtml();
        var root = ReportXml.Parse(html);
        var section = ReportXml.Find(root, "section").Single(s => s.Element("h2")?.Value == "Loss per iteration");
        var charts = ReportXml.Find(section, "svg", "linechart");
        Assert.Equal(2, charts.Count); // one per attack
        Assert.All(charts, c => Assert.Equal(eps.Length, ReportXml.Find(c, "g", "series").Count)); // one line per eps
        Assert.Equal(pgd.MeanTrace.Count, ReportXml.Find(charts[0], "g", "series")[1].Descendants("polyline").Single().Attribute("points")!.Value.Split(' ').Length);

        var clean = ReportXml.Find(root, "section").Single(s => s.Element("h2")?.Value == "Clean versus adversarial");
        var matrices = ReportXml.Find(clean, "svg", "confusion");
        Assert.Equal(eps.Length, matrices.Count);
        var rows = ReportXml.Find(matrices[1], "g", "row");
        for (int c = 0; c < rows.Count; c++)
        {
            var cells = ReportXml.Find(rows[c], "rect", "cell");
            Assert.Equal(report.Eps[1].CleanToWorst![c].Sum(), cells.Sum(x => (long)ReportXml.Num(x, "data-count")));
            if (report.Eps[1].CleanToWorst![c].Sum() > 0) Assert.Equal(100, cells.Sum(x => ReportXml.Num(x, "data-pct")), 9);
        }
    }

    [Fact]
    public void Without_traces_and_counts_the_report_says_they_were_not_recorded()
    {
        var counts = new ImageCounts([5, 5], [5, 5], [5, 5], 10, 0);
        var images = new[] { new ImageRobustness("x", 2, 5, counts, [new EpsOutcome(1 / 255.0, [new AttackOutcome("pgd", counts, 1, 1 / 255.0, 0, 5, 0.1)])], 0, 0, 0, 5, 1) };
        var report = RobustnessSummary.Build("m", new Protocol("t", "test", _ => [], Selection.Accuracy), LossLogits.Scored, [1 / 255.0], images);
        Assert.Null(report.Eps[0].CleanToWorst);
        Assert.Null(report.Eps[0].Attacks[0].MeanTrace);
        var html = RobustnessHtml.Build(report, ["a", "b"], [0, 0, 0, 9, 9, 9], -1, [], null).ToHtml();
        Assert.Empty(ReportXml.Find(ReportXml.Parse(html), "svg", "confusion"));
        Assert.Equal(2, html.Split("Not recorded").Length - 1);
    }
}
