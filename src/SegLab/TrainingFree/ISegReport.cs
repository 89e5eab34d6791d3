// report.html of `seglab iseg`: the scores of A0 alone, the base method and iSeg (mIoU and per-class IoU), the sweep
// as a table and mIoU against K as a curve per lambda (and gamma), and for the first items the masks at each stage
// (A0, base, K = 1 .. K) blended over the image, beside the ground truth. Same building blocks as the eval report.
using System.Globalization;
using SegLab.Reports;

namespace SegLab.TrainingFree;

/// <summary>Builds the iSeg report.</summary>
public static class ISegReport
{
    /// <summary>The report of a run (or of a merge, with no shown items).</summary>
    public static HtmlReport Build(ISegSummary s, IReadOnlyList<ISegShown> shown, string? commandLine)
    {
        byte[] paletteRgb = s.PaletteRgb;
        int ignoreIndex = s.IgnoreIndex;
        var report = new HtmlReport("iSeg: iterative attention refinement", $"{s.Items} item(s), {s.Scored} with ground truth");
        report.Meta("source", s.Source).Meta("settings", s.Settings).Meta("items", s.Items.ToString(CultureInfo.InvariantCulture))
            .Meta("refinement time", FormattableString.Invariant($"{1000 * s.MeanRefineSeconds:F1} ms per item (Ent-Self and every iteration of every setting, base included)"));
        report.RunMeta(commandLine);
        if (s.MissingShards.Length > 0) report.Warning("Partial merge: these shard folders have no finished run.", s.MissingShards);
        if (s.Skipped > 0) report.Note($"{s.Skipped} item(s) were done by an earlier run (--resume) and read from their files.");

        var main = report.Section("Scores");
        main.Paragraph("mIoU (%) pools the pixels of every item per class and averages over the classes present in the ground truth (as the official code). "
            + "A0 alone: the initial maps through the same output step (bilinear to the image, min-max per class, background rule). "
            + "Base: one product S A0 with the raw self-attention. iSeg: Ent-Self and K propagations (PAPERS.md D.3-D.4).");
        if (s.Scored == 0) main.Note("No item has ground truth: masks and maps are written, nothing is scored.");
        else main.Add(ScoreTable(s.Main, s.Classes, perClass: true));

        if (s.Sweep.Length > 1 || s.CurveMIoU.Count > 1 || s.CurveMIoU.Values.Any(v => v.Length > 2))
        {
            var sweep = report.Section("Sweep");
            if (s.Scored > 0)
            {
                sweep.Add(ScoreTable(s.Sweep, s.Classes, perClass: false));
                var chart = new LineChart("mIoU against iterations K") { XLabel = "K", YLabel = "mIoU (%)", IntegerX = true, Caption = "Scored at K = 0 (A0 min/sum-normalised: the same masks as A0 alone) and at each tabulated K." };
                var ks = s.Options.ScoredIterations;
                foreach (var (key, values) in s.CurveMIoU)
                    chart.Series(key, [.. values.Select((v, j) => ((double)ks[j], double.IsNaN(v) ? 0 : v))]);
                sweep.Add(chart);
            }
        }

        if (shown.Count > 0)
        {
            var masks = report.Section("Masks at each iteration");
            masks.Paragraph("Each stage's mask blended over the image (uncoloured: background or unassigned). Click an image to enlarge it.");
            masks.Add(new ColourLegend(s.Classes, paletteRgb));
            foreach (var item in shown)
            {
                var row = new ImageRow(item.Id) { MaxWidth = 200, MaxHeight = 200, Zoom = true };
                var rgb = item.Image ?? Grey(item.Width, item.Height);
                row.Add(ReportImage.FromRgb(rgb, item.Width, item.Height), "image");
                if (item.Label is not null) row.Add(Overlay.Labels(item.Label, item.Width, item.Height, paletteRgb, ignoreIndex), "ground truth");
                foreach (var (caption, mask) in item.Stages)
                    row.Add(Overlay.Blend(rgb, Array.ConvertAll(mask, v => (int)v), item.Width, item.Height, paletteRgb, ignoreIndex), caption);
                masks.Add(row);
            }
        }
        return report;
    }

    private static ReportTable ScoreTable(IReadOnlyList<ISegScore> rows, string[] classes, bool perClass)
    {
        var t = new ReportTable().Column("method").Column("lambda").Column("gamma").Column("K").Column("mIoU", "F2", colourScale: true);
        if (perClass) foreach (var c in classes) t.Column(c, "F1", colourScale: true);
        foreach (var r in rows)
        {
            var cells = new List<object?>
            {
                r.Method, r.Lambda?.ToString("0.####", CultureInfo.InvariantCulture) ?? "-", r.Gamma?.ToString("0.##", CultureInfo.InvariantCulture) ?? "-",
                r.Iterations?.ToString(CultureInfo.InvariantCulture) ?? "-", double.IsNaN(r.MIoU) ? "-" : r.MIoU,
            };
            if (perClass) cells.AddRange(r.PerClassIoU.Select(v => double.IsNaN(v) ? (object)"-" : v));
            t.Row([.. cells]);
        }
        return t;
    }

    private static float[] Grey(int w, int h)
    {
        var a = new float[3 * w * h];
        Array.Fill(a, 0.5f);
        return a;
    }
}
