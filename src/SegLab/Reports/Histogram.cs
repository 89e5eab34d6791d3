// A histogram as inline SVG: values counted into equal bins over a fixed range (e.g. image mIoU from 0 to 100 in
// steps of 5), one vertical bar per bin with its count on hover and above the bar, whole-number count ticks, and
// an optional vertical marker line (e.g. the mean).
using System.Globalization;
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// A histogram. Usage: <c>new Histogram("Image mIoU (%)") { Min = 0, Max = 100, BinWidth = 5 }.AddRange(values)</c>.
/// NaN and values outside [Min, Max] are not counted (see <see cref="Outside"/>); Max falls in the last bin.
/// </summary>
/// <param name="title">The title, or null.</param>
public sealed class Histogram(string? title = null) : IReportElement
{
    private const double FontSize = 12;
    private readonly List<double> values = [];

    /// <summary>The title, or null.</summary>
    public string? Title { get; } = title;

    /// <summary>Start of the first bin (default 0).</summary>
    public double Min { get; init; }

    /// <summary>End of the last bin (default 100).</summary>
    public double Max { get; init; } = 100;

    /// <summary>Width of a bin (default 5).</summary>
    public double BinWidth { get; init; } = 5;

    /// <summary>Label of the x axis, or null.</summary>
    public string? XLabel { get; init; }

    /// <summary>Label of the y axis (default "images").</summary>
    public string YLabel { get; init; } = "images";

    /// <summary>A value marked by a vertical dashed line, or NaN for none.</summary>
    public double Marker { get; init; } = double.NaN;

    /// <summary>Legend of the marker line (e.g. "mean 61.2").</summary>
    public string? MarkerLabel { get; init; }

    /// <summary>Width of the SVG in pixels (default 640).</summary>
    public int Width { get; init; } = 640;

    /// <summary>Height of the SVG in pixels (default 260).</summary>
    public int Height { get; init; } = 260;

    /// <summary>Caption under the chart, or null.</summary>
    public string? Caption { get; init; }

    /// <summary>Values that were NaN or outside [Min, Max].</summary>
    public int Outside => values.Count(v => !(v >= Min && v <= Max));

    /// <summary>Adds values.</summary>
    /// <param name="items">The values.</param>
    public Histogram AddRange(IEnumerable<double> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        values.AddRange(items);
        return this;
    }

    /// <summary>The count of every bin, first to last.</summary>
    public int[] Counts()
    {
        if (!(Max > Min) || !(BinWidth > 0)) throw new InvalidOperationException($"Histogram: range [{Min}, {Max}] with bins of {BinWidth} is empty.");
        int bins = Math.Max(1, (int)Math.Ceiling((Max - Min) / BinWidth - 1e-9));
        var counts = new int[bins];
        foreach (var v in values)
            if (v >= Min && v <= Max) counts[Math.Min(bins - 1, (int)((v - Min) / BinWidth))]++;
        return counts;
    }

    /// <summary>The chart as an SVG element.</summary>
    public XElement ToSvg()
    {
        var counts = Counts();
        var yAxis = ChartAxis.Linear(0, Math.Max(1, counts.Max()), integer: true);
        var xAxis = ChartAxis.Linear(Min, Max, exact: true);
        double yLabelWidth = yAxis.Ticks.Max(t => ChartAxis.TextWidth(t.Label, FontSize));
        double left = yLabelWidth + 34, top = string.IsNullOrEmpty(Title) ? 14 : 34, right = Width - 12, bottom = Height - (XLabel is null ? 26 : 44);
        double pw = right - left, ph = bottom - top;
        double Px(double x) => left + (x - Min) / (Max - Min) * pw;
        double Py(double y) => bottom - yAxis.Fraction(y) * ph;
        var svg = new XElement("svg", new XAttribute("class", "chart histogram"), new XAttribute("width", Width), new XAttribute("height", Height),
            new XAttribute("viewBox", $"0 0 {Width} {Height}"), new XAttribute("role", "img"), new XAttribute("font-size", Markup.Coord(FontSize)));
        if (!string.IsNullOrEmpty(Title)) svg.Add(Svg.Text(4, 18, Title, "start", weight: "600", size: 14));
        foreach (var (v, label) in yAxis.Ticks)
        {
            svg.Add(Svg.Line(left, Py(v), right, Py(v), "#e3e6eb"));
            svg.Add(Svg.Text(left - 5, Py(v) + 4, label, "end", fill: "#5b6472"));
        }
        foreach (var (v, label) in xAxis.Ticks) svg.Add(Svg.Text(Px(v), bottom + 16, label, "middle", fill: "#5b6472"));
        for (int b = 0; b < counts.Length; b++)
        {
            double x0 = Min + b * BinWidth, x1 = Math.Min(Max, x0 + BinWidth);
            if (counts[b] == 0) continue;
            var rect = new XElement("rect", new XAttribute("class", "bin"), new XAttribute("x", Markup.Coord(Px(x0) + 1)), new XAttribute("y", Markup.Coord(Py(counts[b]))),
                new XAttribute("width", Markup.Coord(Math.Max(1, Px(x1) - Px(x0) - 2))), new XAttribute("height", Markup.Coord(bottom - Py(counts[b]))),
                new XAttribute("fill", Markup.SeriesColour(0)), new XAttribute("data-count", counts[b].ToString(CultureInfo.InvariantCulture)),
                new XElement("title", string.Create(CultureInfo.InvariantCulture, $"{x0:0.##} to {x1:0.##}: {counts[b]} {YLabel}")));
            svg.Add(rect);
            svg.Add(Svg.Text((Px(x0) + Px(x1)) / 2, Py(counts[b]) - 3, counts[b].ToString(CultureInfo.InvariantCulture), "middle", size: 10, fill: "#333a45"));
        }
        svg.Add(Svg.Line(left, bottom, right, bottom, "#9aa3b0"));
        svg.Add(Svg.Line(left, top, left, bottom, "#9aa3b0"));
        if (double.IsFinite(Marker) && Marker >= Min && Marker <= Max)
        {
            var line = Svg.Line(Px(Marker), top, Px(Marker), bottom, "#d55e00", 2);
            line.SetAttributeValue("stroke-dasharray", "6 4");
            line.SetAttributeValue("class", "marker");
            svg.Add(line);
            if (MarkerLabel is not null)
            {
                var text = Svg.Text(Px(Marker) + (Px(Marker) > left + pw * 0.8 ? -5 : 5), top + 10, MarkerLabel, Px(Marker) > left + pw * 0.8 ? "end" : "start", fill: "#d55e00");
                // A white halo: the label often lies over a bar (the mean sits where most images are).
                text.SetAttributeValue("stroke", "#ffffff");
                text.SetAttributeValue("stroke-width", "3");
                text.SetAttributeValue("paint-order", "stroke");
                text.SetAttributeValue("class", "marker-label");
                svg.Add(text);
            }
        }
        if (XLabel is not null) svg.Add(Svg.Text(left + pw / 2, Height - 8, XLabel, "middle"));
        var yl = Svg.Text(0, 0, YLabel, "middle");
        yl.SetAttributeValue("transform", $"translate(13 {Markup.Coord(top + ph / 2)}) rotate(-90)");
        svg.Add(yl);
        return svg;
    }

    /// <inheritdoc/>
    public XElement Render() => Markup.El("figure", "chart", ToSvg(), Caption is null ? null : Markup.El("figcaption", null, Caption));
}
