// A sample report holding every kind of element, built from synthetic data with fixed seeds: used by the tests
// and, written to SEGLAB_REPORT_SAMPLE, by tools/screenshot_report.sh to look at the layout in a browser.
using SegLab.Reports;

namespace SegLab.Tests.Reports;

internal static class SampleReport
{
    public static readonly string[] Classes =
        ["Sky", "Building", "Pole", "Road", "Sidewalk", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist"];

    public static readonly byte[] Palette =
    [
        128, 128, 128, 128, 0, 0, 192, 192, 128, 128, 64, 128, 60, 40, 222, 128, 128, 0,
        192, 128, 128, 64, 64, 128, 64, 0, 128, 64, 64, 0, 0, 128, 192,
    ];

    public static HtmlReport Build(int imageRows = 3)
    {
        var rng = new Random(42);
        var report = new HtmlReport("CGNet on CamVid test: robustness", "APGD ensemble, L-inf eps 8/255, 233 images");
        report.Meta("model", "cgnet-camvid").Meta("dataset", "CamVid (11 classes)").Meta("split", "test")
            .Meta("date", "2026-12-01 16:00 UTC").RunMeta("seglab eval --model cgnet-camvid --split test --report out/eval.html");

        var summary = report.Section("Summary");
        summary.Add(new Headline().Add("clean mIoU", 65.3, colourScale: true).Add("worst-case mIoU", 12.4, note: "5 attacks, eps 8/255", colourScale: true)
            .Add("image-wise mIoU", 58.1).Add("images", "233", note: "3 skipped"));
        summary.Paragraph("Clean mIoU 65.3, worst-case mIoU under attack 12.4.\nImage-wise mIoU is the mean over images of each image's mIoU.");
        summary.Warning("3 files could not be read and were skipped.", ["0001TP_008550.png: truncated IDAT", "Seq05VD_f02370.png: bad CRC", "0006R0_f01890.png: size 960x720, expected 480x360"]);
        summary.Note("Sanity checks passed: the attack raised the loss on every image; no gradient masking detected.");

        var clean = Classes.Select(_ => 30 + 65 * rng.NextDouble()).ToArray();
        var attacked = clean.Select(c => c * rng.NextDouble() * 0.6).ToArray();
        attacked[2] = double.NaN;
        var perClass = report.Section("Per-class IoU");
        var chart = new BarChart("IoU per class (%)") { SeriesName = "clean", SecondSeriesName = "attacked", Caption = "Bars in the class colours; the lighter bar is under attack." };
        for (int i = 0; i < Classes.Length; i++) chart.Add(Classes[i], clean[i], attacked[i], Overlay.Hex(Palette, i));
        perClass.Add(chart);
        var table = new ReportTable("IoU per class (%)").Column("class").Column("clean", "F1", colourScale: true).Column("attacked", "F1", colourScale: true).Column("pixels", "N0");
        for (int i = 0; i < Classes.Length; i++) table.Row(Classes[i], clean[i], attacked[i], rng.Next(1000, 5_000_000));
        table.SummaryRow("mean", clean.Average(), 12.4, null);
        perClass.Add(table);

        var curves = report.Section("Robustness curves");
        double[] eps = [0, 0.25, 0.5, 1, 2, 4, 8, 16];
        var line = new LineChart("mIoU against the attack budget") { XLabel = "eps (x/255)", YLabel = "mIoU (%)", LogX = true, YMin = 0, YMax = 70, XTicks = eps.Skip(1).Select(e => (e, e.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList() };
        line.Series("APGD-CE", eps.Select(e => (e, 65 * Math.Exp(-e / 3))));
        line.Series("SegPGD", eps.Select(e => (e, e == 2 ? double.NaN : 63 * Math.Exp(-e / 4))));
        line.Series("worst case", eps.Select(e => (e, 60 * Math.Exp(-e / 2.5))));
        curves.Add(line);
        var linear = new LineChart("Training loss") { XLabel = "step", YLabel = "loss", Markers = false, Width = 520, Height = 260 };
        linear.Series("train", Enumerable.Range(0, 50).Select(s => ((double)s * 20, 2.5 * Math.Exp(-s / 12.0) + 0.1 * rng.NextDouble())));
        curves.Add(linear);

        var context = report.Section("Context reliance");
        context.Paragraph("Integrated Gradients of the class Car: share of attribution on the object versus its surroundings.");
        context.Add(new SideBySide(
            new BarChart("Attribution on the object (%)") { Width = 420 }.Add("Car", 38.5, Overlay.Hex(Palette, 8)).Add("Pedestrian", 22.0, Overlay.Hex(Palette, 9)),
            new ReportTable("Context share").Column("class").Column("object", "F1", colourScale: true).Column("context", "F1").Row("Car", 38.5, 61.5).Row("Pedestrian", 22.0, 78.0)));
        context.Add(HeatmapRow(rng));
        context.Add(Heatmap.Legend(1.0, signed: true, format: "F1"));

        var images = report.Section("Worst images");
        images.Add(new ColourLegend(Classes, Palette));
        images.Add(Overlay.ErrorLegend());
        for (int r = 0; r < imageRows; r++) images.Add(Row(rng, r));
        return report;
    }

    private static ImageRow HeatmapRow(Random rng)
    {
        const int W = 480, H = 360;
        var photo = new float[3 * W * H];
        var scores = new float[W * H];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                double d = Math.Sqrt((x - 300) * (x - 300) + (y - 200) * (y - 200)) / 80.0;
                scores[y * W + x] = (float)(Math.Exp(-d * d) - 0.3 * Math.Exp(-Math.Pow((x - 120) / 60.0, 2)) + 0.02 * rng.NextDouble());
                for (int c = 0; c < 3; c++) photo[c * W * H + y * W + x] = (float)(0.3 + 0.4 * ((x + c * 90 + y) % 200) / 200.0);
            }
        return new ImageRow("0016E5_07959: Integrated Gradients, class Car")
            .Add(ReportImage.FromRgb(photo, W, H), "image")
            .Add(Heatmap.Draw(scores, W, H, signed: true), "attribution (signed)")
            .Add(Heatmap.Over(photo, scores.Select(Math.Abs).ToArray(), W, H), "|attribution| over image");
    }

    private static ImageRow Row(Random rng, int r)
    {
        const int W = 480, H = 360, Ignore = 255;
        int n = W * H;
        var photo = new float[3 * n];
        var gt = new int[n];
        var pred = new int[n];
        var delta = new float[3 * n];
        float eps = 8 / 255f;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                int i = y * W + x;
                int label = y < H / 3 ? 0 : y > 2 * H / 3 ? 3 : x < W / 3 ? 1 : x > 2 * W / 3 ? 5 : 8;
                if (Math.Abs(x - 240 - 30 * r) < 6 && y > 100) label = 2;
                if (y > H - 8) label = Ignore;
                gt[i] = label;
                pred[i] = label != Ignore && (x + y + r * 17) % 97 < 20 + 15 * r ? (label + 1) % 11 : label == Ignore ? 3 : label;
                for (int c = 0; c < 3; c++)
                {
                    photo[c * n + i] = (float)Math.Clamp(0.25 + 0.5 * ((x * (c + 1) + y * 2) % 256) / 256.0 + 0.1 * rng.NextDouble(), 0, 1);
                    delta[c * n + i] = rng.Next(3) switch { 0 => -eps, 1 => 0, _ => eps };
                }
            }
        return new ImageRow($"000{r}TP_00{r}810: image mIoU {41.2 - 9 * r:F1}")
            .Add(ReportImage.FromRgb(photo, W, H), "image")
            .Add(Overlay.Labels(gt, W, H, Palette, Ignore), "ground truth")
            .Add(Overlay.Blend(photo, pred, W, H, Palette, Ignore), "prediction")
            .Add(Overlay.Error(pred, gt, W, H, Ignore), "errors")
            .Add(Overlay.Magnify(delta, W, H, eps), "perturbation (x 1/eps)");
    }
}
