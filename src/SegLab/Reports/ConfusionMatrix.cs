// A confusion matrix as inline SVG: rows are ground-truth classes, columns predicted classes, each cell coloured
// and labelled by its share of the row (row-normalised percent, so every row with pixels sums to 100), with the
// raw pixel count in the cell's hover title and the row's total at its end. The diagonal is outlined.
using System.Globalization;
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// A row-normalised confusion matrix. Usage: <c>new ConfusionMatrix(names, counts, "Confusion (% of each ground-truth class)")</c>
/// with <c>counts[g, p]</c> the pixels of ground-truth class g predicted as p.
/// </summary>
public sealed class ConfusionMatrix : IReportElement
{
    private const double FontSize = 12;
    private readonly string[] names;
    private readonly long[,] counts;

    /// <summary>Creates the matrix.</summary>
    /// <param name="classNames">One name per class (rows and columns).</param>
    /// <param name="counts">K x K pixel counts, row: ground truth, column: prediction (copied).</param>
    /// <param name="title">The title drawn above it, or null.</param>
    public ConfusionMatrix(IReadOnlyList<string> classNames, long[,] counts, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(counts);
        int k = classNames.Count;
        if (k == 0 || counts.GetLength(0) != k || counts.GetLength(1) != k)
            throw new ArgumentException($"ConfusionMatrix: {counts.GetLength(0)}x{counts.GetLength(1)} counts for {k} classes.");
        foreach (var c in counts)
            if (c < 0) throw new ArgumentException("ConfusionMatrix: a count is negative.");
        names = [.. classNames];
        this.counts = (long[,])counts.Clone();
        Title = title;
    }

    /// <summary>The title, or null.</summary>
    public string? Title { get; }

    /// <summary>Caption under the matrix, or null.</summary>
    public string? Caption { get; init; }

    /// <summary>Label of the row axis (default "ground truth").</summary>
    public string RowLabel { get; init; } = "ground truth";

    /// <summary>Label of the column axis (default "prediction").</summary>
    public string ColumnLabel { get; init; } = "prediction";

    /// <summary>Percent of row <paramref name="row"/> that falls in column <paramref name="column"/> (NaN for a row without pixels).</summary>
    /// <param name="row">Ground-truth class.</param>
    /// <param name="column">Predicted class.</param>
    public double RowPercent(int row, int column)
    {
        long total = RowTotal(row);
        return total == 0 ? double.NaN : 100.0 * counts[row, column] / total;
    }

    /// <summary>The pixels of ground-truth class <paramref name="row"/>.</summary>
    /// <param name="row">Ground-truth class.</param>
    public long RowTotal(int row)
    {
        long total = 0;
        for (int p = 0; p < names.Length; p++) total += counts[row, p];
        return total;
    }

    /// <summary>The matrix as an SVG element.</summary>
    public XElement ToSvg()
    {
        int k = names.Length;
        double cell = Math.Clamp(520.0 / k, 14, 42);
        bool labels = cell >= 24;
        double nameWidth = Math.Min(200, names.Max(n => ChartAxis.TextWidth(n, FontSize)) + 10);
        double left = nameWidth + 22, top = (string.IsNullOrEmpty(Title) ? 8 : 30) + nameWidth * 0.72 + 22;
        double totalWidth = ChartAxis.TextWidth("100,000,000 px", 11) + 10;
        double width = left + k * cell + totalWidth, height = top + k * cell + 8;
        var svg = new XElement("svg", new XAttribute("class", "chart confusion"), new XAttribute("width", Markup.Coord(width)),
            new XAttribute("height", Markup.Coord(height)), new XAttribute("viewBox", $"0 0 {Markup.Coord(width)} {Markup.Coord(height)}"),
            new XAttribute("role", "img"), new XAttribute("font-size", Markup.Coord(FontSize)));
        if (!string.IsNullOrEmpty(Title)) svg.Add(Svg.Text(4, 18, Title, "start", weight: "600", size: 14));
        svg.Add(Svg.Text(left + k * cell / 2, top - nameWidth * 0.72 - 12, ColumnLabel, "middle", weight: "600", fill: "#5b6472"));
        var rowLabel = Svg.Text(0, 0, RowLabel, "middle", weight: "600", fill: "#5b6472");
        rowLabel.SetAttributeValue("transform", $"translate(12 {Markup.Coord(top + k * cell / 2)}) rotate(-90)");
        svg.Add(rowLabel);
        for (int p = 0; p < k; p++)
        {
            var t = Svg.Text(0, 0, names[p], "start");
            t.SetAttributeValue("transform", $"translate({Markup.Coord(left + (p + 0.5) * cell + 4)} {Markup.Coord(top - 5)}) rotate(-45)");
            svg.Add(t);
        }
        for (int g = 0; g < k; g++)
        {
            double y = top + g * cell;
            long total = RowTotal(g);
            svg.Add(Svg.Text(left - 6, y + cell / 2 + 4, names[g], "end"));
            var row = new XElement("g", new XAttribute("class", "row"), new XAttribute("data-class", names[g]), new XAttribute("data-total", total.ToString(CultureInfo.InvariantCulture)));
            for (int p = 0; p < k; p++)
            {
                double pct = RowPercent(g, p);
                double x = left + p * cell;
                var rect = new XElement("rect", new XAttribute("class", "cell"), new XAttribute("x", Markup.Coord(x)), new XAttribute("y", Markup.Coord(y)),
                    new XAttribute("width", Markup.Coord(cell - 1)), new XAttribute("height", Markup.Coord(cell - 1)),
                    new XAttribute("fill", double.IsNaN(pct) ? "#eceff3" : Fill(pct, g == p)),
                    new XAttribute("data-pct", double.IsNaN(pct) ? "NaN" : Markup.Num(pct, "R")),
                    new XAttribute("data-count", counts[g, p].ToString(CultureInfo.InvariantCulture)),
                    new XElement("title", Tooltip(g, p, pct)));
                if (g == p) { rect.SetAttributeValue("stroke", "#1d2330"); rect.SetAttributeValue("stroke-width", "1.5"); }
                row.Add(rect);
                if (labels && double.IsFinite(pct) && pct >= 0.5)
                {
                    var text = Svg.Text(x + cell / 2 - 0.5, y + cell / 2 + 4, Markup.Num(pct, "F0"), "middle", size: 11, fill: pct >= 55 ? "#ffffff" : "#1d2330");
                    text.SetAttributeValue("pointer-events", "none");
                    row.Add(text);
                }
            }
            svg.Add(row);
            svg.Add(Svg.Text(left + k * cell + 6, y + cell / 2 + 4, total.ToString("N0", CultureInfo.InvariantCulture) + " px", "start", size: 11, fill: "#5b6472"));
        }
        return svg;
    }

    /// <inheritdoc/>
    public XElement Render() => Markup.El("figure", "chart", ToSvg(), Caption is null ? null : Markup.El("figcaption", null, Caption));

    private string Tooltip(int g, int p, double pct) =>
        string.Create(CultureInfo.InvariantCulture, $"{RowLabel} {names[g]}, {ColumnLabel} {names[p]}: {counts[g, p]:N0} pixels")
        + (double.IsNaN(pct) ? " (no pixels of this class)" : string.Create(CultureInfo.InvariantCulture, $" = {pct:F2}% of {names[g]}"));

    // White to dark blue by share of the row; the diagonal (correct) in green tones so that errors stand out.
    private static string Fill(double pct, bool diagonal)
    {
        double t = Math.Clamp(pct / 100, 0, 1);
        t = Math.Sqrt(t); // small confusions (a few percent) stay visible
        (double R, double G, double B) lo = (255, 255, 255), hi = diagonal ? (0x1b, 0x7a, 0x4b) : (0x1f, 0x4e, 0x9a);
        byte Mix(double a, double b) => (byte)Math.Round(a + (b - a) * t);
        return Markup.Hex(Mix(lo.R, hi.R), Mix(lo.G, hi.G), Mix(lo.B, hi.B));
    }
}
