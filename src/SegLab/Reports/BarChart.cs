// A horizontal bar chart as inline SVG: one bar per category (e.g. per-class IoU), a value label at each bar's
// end, a 0-100 axis by default, an optional second series drawn beside the first (clean vs attacked), and a colour
// per bar when wanted (the class colour; the second series then draws it lighter with an outline).
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// A horizontal bar chart. Usage: <c>new BarChart("IoU per class (%)") { SeriesName = "clean", SecondSeriesName =
/// "attacked" }.Add("road", 93.1, 40.2, "#804080")</c>. NaN values draw no bar and the label "n/a".
/// </summary>
/// <param name="title">The title drawn above the bars (null or empty: none).</param>
public sealed class BarChart(string? title = null) : IReportElement
{
    private const double FontSize = 12, BarHeight = 16, SecondBarHeight = 12, Gap = 7, AxisHeight = 22;
    private readonly List<(string Category, double Value, double Second, string? Colour)> bars = [];
    private bool hasSecond;

    /// <summary>The title, or null.</summary>
    public string? Title { get; } = title;

    /// <summary>Legend name of the first series (shown only with a second series).</summary>
    public string SeriesName { get; init; } = "first";

    /// <summary>Legend name of the second series.</summary>
    public string SecondSeriesName { get; init; } = "second";

    /// <summary>Axis start (default 0).</summary>
    public double Min { get; init; }

    /// <summary>Axis end (default 100; NaN: a nice value above the largest bar). Larger values are clamped and labelled with their real value.</summary>
    public double Max { get; init; } = 100;

    /// <summary>.NET numeric format of the value labels (default "F1").</summary>
    public string ValueFormat { get; init; } = "F1";

    /// <summary>Whether the axis ticks are whole numbers only (for counts such as images won).</summary>
    public bool IntegerTicks { get; init; }

    /// <summary>Width of the SVG in pixels (default 640).</summary>
    public int Width { get; init; } = 640;

    /// <summary>Caption under the chart, or null.</summary>
    public string? Caption { get; init; }

    /// <summary>Number of bars (categories).</summary>
    public int Count => bars.Count;

    /// <summary>Adds a category with one value.</summary>
    /// <param name="category">The category label.</param>
    /// <param name="value">The value.</param>
    /// <param name="colour">The bar's colour ("#rrggbb" or a CSS name), or null for the series colour.</param>
    public BarChart Add(string category, double value, string? colour = null)
    {
        if (hasSecond) throw new InvalidOperationException("BarChart: every category needs a second value once one has it.");
        return AddBar(category, value, double.NaN, colour);
    }

    /// <summary>Adds a category with a value for each of the two series.</summary>
    /// <param name="category">The category label.</param>
    /// <param name="value">The first series' value.</param>
    /// <param name="second">The second series' value.</param>
    /// <param name="colour">The bars' colour, or null for the series colours.</param>
    public BarChart Add(string category, double value, double second, string? colour = null)
    {
        if (!hasSecond && bars.Count > 0) throw new InvalidOperationException("BarChart: every category needs a second value once one has it.");
        hasSecond = true;
        return AddBar(category, value, second, colour);
    }

    /// <summary>The chart as an SVG element (no namespace: meant for inline use in HTML).</summary>
    public XElement ToSvg()
    {
        double max = double.IsNaN(Max) ? AutoMax() : Max;
        if (!(max > Min)) throw new InvalidOperationException($"BarChart: axis [{Min}, {max}] is empty.");
        var axis = ChartAxis.Linear(Min, max, exact: true, integer: IntegerTicks);
        // TextWidth is an estimate; browsers' sans fonts run up to 15% wider, and a clipped category name is unreadable.
        double labelWidth = Math.Clamp(bars.Count == 0 ? 60 : bars.Max(b => ChartAxis.TextWidth(b.Category, FontSize)) * 1.15 + 12, 60, 240);
        double valueWidth = ChartAxis.TextWidth(Markup.Num(-max * 10, ValueFormat), FontSize) + 8;
        double left = labelWidth, plot = Math.Max(80, Width - left - valueWidth - 6);
        double top = (string.IsNullOrEmpty(Title) ? 6 : 26) + (hasSecond ? 20 : 0);
        double rowHeight = (hasSecond ? BarHeight + SecondBarHeight : BarHeight) + Gap;
        double height = top + bars.Count * rowHeight + AxisHeight + 4;
        var svg = new XElement("svg", new XAttribute("class", "chart barchart"), new XAttribute("width", Width),
            new XAttribute("height", Markup.Coord(height)), new XAttribute("viewBox", $"0 0 {Width} {Markup.Coord(height)}"),
            new XAttribute("role", "img"), new XAttribute("font-size", Markup.Coord(FontSize)));
        if (!string.IsNullOrEmpty(Title)) svg.Add(Svg.Text(4, 17, Title, "start", weight: "600", size: 14));
        if (hasSecond) AddLegend(svg, left, top - 12);
        double plotBottom = top + bars.Count * rowHeight;
        foreach (var (value, label) in axis.Ticks)
        {
            double x = left + axis.Fraction(value) * plot;
            svg.Add(Svg.Line(x, top - 3, x, plotBottom, "#e3e6eb"));
            svg.Add(Svg.Text(x, plotBottom + 15, label, "middle", fill: "#5b6472"));
        }
        svg.Add(Svg.Line(left, top - 3, left, plotBottom, "#9aa3b0"));
        for (int i = 0; i < bars.Count; i++)
        {
            var (category, value, second, colour) = bars[i];
            double y = top + i * rowHeight + Gap / 2;
            string fill = colour ?? Markup.SeriesColour(0);
            svg.Add(Svg.Text(left - 6, y + (hasSecond ? (BarHeight + SecondBarHeight) / 2 : BarHeight / 2) + 4, category, "end"));
            AddBar(svg, axis, left, plot, y, BarHeight, value, fill, "bar s0", light: false);
            if (hasSecond) AddBar(svg, axis, left, plot, y + BarHeight, SecondBarHeight, second, colour ?? Markup.SeriesColour(1), "bar s1", light: colour is not null);
        }
        return svg;
    }

    /// <inheritdoc/>
    public XElement Render() => Markup.El("figure", "chart", ToSvg(), Caption is null ? null : Markup.El("figcaption", null, Caption));

    private BarChart AddBar(string category, double value, double second, string? colour)
    {
        ArgumentNullException.ThrowIfNull(category);
        bars.Add((category, value, second, colour is null ? null : Markup.SafeColour(colour, "BarChart")));
        return this;
    }

    private double AutoMax()
    {
        var finite = bars.SelectMany(b => new[] { b.Value, b.Second }).Where(double.IsFinite).ToList();
        double top = finite.Count == 0 ? Min + 1 : Math.Max(finite.Max(), Min + 1e-9);
        double step = ChartAxis.NiceStep((top - Min) / 5);
        return Min + Math.Ceiling((top - Min) / step - 1e-9) * step;
    }

    private void AddBar(XElement svg, ChartAxis axis, double left, double plot, double y, double h, double value, string fill, string cls, bool light)
    {
        double x = left;
        if (double.IsFinite(value))
        {
            double w = Math.Clamp(axis.Fraction(value), 0, 1) * plot;
            var rect = new XElement("rect", new XAttribute("class", cls), new XAttribute("x", Markup.Coord(left)), new XAttribute("y", Markup.Coord(y)),
                new XAttribute("width", Markup.Coord(w)), new XAttribute("height", Markup.Coord(h - 1)), new XAttribute("fill", fill),
                new XAttribute("data-value", Markup.Num(value, "R")));
            if (light) { rect.SetAttributeValue("fill-opacity", "0.4"); rect.SetAttributeValue("stroke", fill); }
            else rect.SetAttributeValue("stroke", "#00000030");
            svg.Add(rect);
            x = left + w;
        }
        string label = double.IsNaN(value) ? "n/a" : Markup.Num(value, ValueFormat);
        svg.Add(Svg.Text(x + 4, y + h / 2 + 4, label, "start", size: h < BarHeight ? 11 : FontSize, fill: "#333a45"));
    }

    private void AddLegend(XElement svg, double x, double y)
    {
        bool perBar = bars.Any(b => b.Colour is not null);
        string a = perBar ? "#7a8290" : Markup.SeriesColour(0), b = perBar ? "#7a8290" : Markup.SeriesColour(1);
        svg.Add(new XElement("rect", new XAttribute("x", Markup.Coord(x)), new XAttribute("y", Markup.Coord(y - 9)), new XAttribute("width", 12), new XAttribute("height", 10), new XAttribute("fill", a)));
        svg.Add(Svg.Text(x + 16, y, SeriesName, "start"));
        double x2 = x + 16 + ChartAxis.TextWidth(SeriesName, FontSize) + 18;
        var second = new XElement("rect", new XAttribute("x", Markup.Coord(x2)), new XAttribute("y", Markup.Coord(y - 9)), new XAttribute("width", 12), new XAttribute("height", 10), new XAttribute("fill", b));
        if (perBar) { second.SetAttributeValue("fill-opacity", "0.4"); second.SetAttributeValue("stroke", b); }
        svg.Add(second);
        svg.Add(Svg.Text(x2 + 16, y, SecondSeriesName, "start"));
    }
}
