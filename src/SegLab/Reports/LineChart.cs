// A line chart as inline SVG: several named series of (x, y) points with markers, nice axis ticks and labels, an
// optional log-10 x axis (for curves over attack budgets eps) with optional explicit tick labels such as "4/255",
// and a legend. On a log axis, points at x = 0 (eps 0: the clean model) get a column of their own left of a break
// mark. NaN points, x < 0 on a log axis, and points outside a fixed YMin/YMax are skipped: the line breaks there
// instead of bridging them or drawing outside the plot. Each series gets its own marker shape and dash pattern
// besides its colour, so that series lying on top of each other (mIoU and greedy mIoU) all stay visible; markers that
// would cover each other (points of several series within a few pixels) are set side by side, and a series that lies on
// an earlier one at every point says so in the legend ("greedy mIoU (= mIoU)") and in the caption.
// Why SegLab's own SVG and not ScottPlot 5.1.59: these charts are 100-200 lines each, inline in the page (no
// separate files, no native Skia dependency), parse as XML, and tests read their points and ticks from the
// markup; ScottPlot's SVG is a full drawing of fixed size whose elements carry no meaning to a test.
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// A line chart. Usage: <c>new LineChart("mIoU under attack") { XLabel = "eps", YLabel = "mIoU (%)", LogX = true }
/// .Series("APGD", points)</c>.
/// </summary>
/// <param name="title">The title drawn above the plot (null or empty: none).</param>
public sealed class LineChart(string? title = null) : IReportElement
{
    private const double FontSize = 12, ZeroGap = 34, ZeroAt = 10;
    private readonly List<(string Name, (double X, double Y)[] Points, string Colour)> series = [];

    /// <summary>The title, or null.</summary>
    public string? Title { get; } = title;

    /// <summary>Label of the x axis, or null.</summary>
    public string? XLabel { get; init; }

    /// <summary>Label of the y axis, or null.</summary>
    public string? YLabel { get; init; }

    /// <summary>
    /// Whether the x axis is logarithmic (base 10). Points at x = 0 are then drawn in a column labelled "0" left of a
    /// break mark (so that a curve over eps can start at the clean model); points with x &lt; 0 are skipped.
    /// </summary>
    public bool LogX { get; init; }

    /// <summary>Lower end of the y axis, or null to fit the data (points below it are skipped).</summary>
    public double? YMin { get; init; }

    /// <summary>Upper end of the y axis, or null to fit the data (points above it are skipped).</summary>
    public double? YMax { get; init; }

    /// <summary>Explicit x ticks (value and label), or null for automatic ones.</summary>
    public IReadOnlyList<(double Value, string Label)>? XTicks { get; init; }

    /// <summary>Whether the x ticks are whole numbers only (iterations, eps in units of 1/255).</summary>
    public bool IntegerX { get; init; }

    /// <summary>Whether the y ticks are whole numbers only (counts).</summary>
    public bool IntegerY { get; init; }

    /// <summary>Whether points get markers (default true).</summary>
    public bool Markers { get; init; } = true;

    /// <summary>Width of the SVG in pixels (default 640).</summary>
    public int Width { get; init; } = 640;

    /// <summary>Height of the SVG in pixels (default 360).</summary>
    public int Height { get; init; } = 360;

    /// <summary>Caption under the chart, or null.</summary>
    public string? Caption { get; init; }

    /// <summary>Number of series.</summary>
    public int Count => series.Count;

    /// <summary>Adds a series.</summary>
    /// <param name="name">Legend name.</param>
    /// <param name="points">The points, drawn in the given order.</param>
    /// <param name="colour">The colour ("#rrggbb" or a CSS name), or null for the next default colour.</param>
    public LineChart Series(string name, IEnumerable<(double X, double Y)> points, string? colour = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(points);
        series.Add((name, points.ToArray(), colour is null ? Markup.SeriesColour(series.Count) : Markup.SafeColour(colour, "LineChart")));
        return this;
    }

    /// <summary>Adds a series from separate x and y lists of equal length.</summary>
    /// <param name="name">Legend name.</param>
    /// <param name="xs">The x values.</param>
    /// <param name="ys">The y values.</param>
    /// <param name="colour">The colour, or null for the next default colour.</param>
    public LineChart Series(string name, IReadOnlyList<double> xs, IReadOnlyList<double> ys, string? colour = null)
    {
        ArgumentNullException.ThrowIfNull(xs);
        ArgumentNullException.ThrowIfNull(ys);
        if (xs.Count != ys.Count) throw new ArgumentException($"LineChart: {xs.Count} x values and {ys.Count} y values.");
        return Series(name, xs.Zip(ys), colour);
    }

    /// <summary>The chart as an SVG element (no namespace: meant for inline use in HTML).</summary>
    public XElement ToSvg()
    {
        var (xAxis, yAxis) = Axes();
        var on = Coincident();
        string Legend(int s) => on[s] is int t ? $"{series[s].Name} (= {series[t].Name})" : series[s].Name;
        double legendWidth = series.Count == 0 ? 0 : Math.Clamp(Enumerable.Range(0, series.Count).Max(s => ChartAxis.TextWidth(Legend(s), FontSize)) + 36, 70, 260);
        double yLabelWidth = yAxis.Ticks.Count == 0 ? 20 : yAxis.Ticks.Max(t => ChartAxis.TextWidth(t.Label, FontSize));
        double left = yLabelWidth + (YLabel is null ? 12 : 30), top = string.IsNullOrEmpty(Title) ? 12 : 32;
        double right = Width - legendWidth - 10, bottom = Height - (XLabel is null ? 26 : 44);
        double pw = Math.Max(40, right - left), ph = Math.Max(40, bottom - top);
        bool zero = HasZeroColumn();
        double gap = zero ? ZeroGap : 0;
        double Px(double x) => zero && x == 0 ? left + ZeroAt : left + gap + xAxis.Fraction(x) * (pw - gap);
        bool AcceptsX(double x) => (zero && x == 0) || xAxis.Accepts(x);
        double Py(double y) => bottom - yAxis.Fraction(y) * ph;

        var svg = new XElement("svg", new XAttribute("class", "chart linechart"), new XAttribute("width", Width), new XAttribute("height", Height),
            new XAttribute("viewBox", $"0 0 {Width} {Height}"), new XAttribute("role", "img"), new XAttribute("font-size", Markup.Coord(FontSize)));
        if (!string.IsNullOrEmpty(Title)) svg.Add(Svg.Text(4, 18, Title, "start", weight: "600", size: 14));
        foreach (var (v, label) in yAxis.Ticks)
        {
            svg.Add(Svg.Line(left, Py(v), left + pw, Py(v), "#e3e6eb"));
            svg.Add(Svg.Text(left - 5, Py(v) + 4, label, "end", fill: "#5b6472"));
        }
        foreach (var (v, label) in xAxis.Ticks)
        {
            svg.Add(Svg.Line(Px(v), top, Px(v), bottom, "#eef0f3"));
            svg.Add(Svg.Text(Px(v), bottom + 16, label, "middle", fill: "#5b6472"));
        }
        svg.Add(Svg.Line(left, bottom, left + pw, bottom, "#9aa3b0"));
        if (zero)
        {
            svg.Add(Svg.Text(left + ZeroAt, bottom + 16, "0", "middle", fill: "#5b6472"));
            double bx = left + ZeroGap - 12;
            svg.Add(new XElement("rect", new XAttribute("x", Markup.Coord(bx - 1)), new XAttribute("y", Markup.Coord(bottom - 5)),
                new XAttribute("width", 8), new XAttribute("height", 10), new XAttribute("fill", "#ffffff")));
            svg.Add(Svg.Line(bx - 3, bottom + 5, bx + 2, bottom - 5, "#9aa3b0"));
            svg.Add(Svg.Line(bx + 3, bottom + 5, bx + 8, bottom - 5, "#9aa3b0"));
        }
        svg.Add(Svg.Line(left, top, left, bottom, "#9aa3b0"));
        if (XLabel is not null) svg.Add(Svg.Text(left + pw / 2, Height - 8, XLabel, "middle"));
        if (YLabel is not null)
        {
            var t = Svg.Text(0, 0, YLabel, "middle");
            t.SetAttributeValue("transform", $"translate(13 {Markup.Coord(top + ph / 2)}) rotate(-90)");
            svg.Add(t);
        }
        var drawn = series.Select(sr => Runs(sr.Points, AcceptsX, yAxis)).ToArray();
        for (int s = 0; s < series.Count; s++)
        {
            var (name, _, colour) = series[s];
            var group = new XElement("g", new XAttribute("class", $"series s{s}"));
            if (on[s] is int t) group.SetAttributeValue("data-coincides", series[t].Name);
            foreach (var run in drawn[s])
            {
                if (run.Count > 1) group.Add(Dashed(Svg.Polyline(run.Select(p => (Px(p.X), Py(p.Y))), colour, "line"), s));
                if (Markers || run.Count == 1)
                    foreach (var p in run) group.Add(Svg.Marker(s, Px(p.X) + MarkerShift(s, p, drawn, Py), Py(p.Y), colour, "pt"));
            }
            svg.Add(group);
            double ly = top + 6 + s * 18, lx = right + 14;
            svg.Add(Dashed(Svg.Line(lx, ly, lx + 18, ly, colour, 2), s));
            svg.Add(Svg.Marker(s, lx + 9, ly, colour, "legend-pt"));
            svg.Add(Svg.Text(lx + 24, ly + 4, Legend(s), "start"));
        }
        return svg;
    }

    /// <inheritdoc/>
    public XElement Render()
    {
        var on = Coincident();
        var notes = Enumerable.Range(0, series.Count).Where(s => on[s] is not null)
            .Select(s => $"{series[s].Name} lies on {series[on[s]!.Value].Name} at every point (its markers are set beside).").ToList();
        string? caption = Caption is null && notes.Count == 0 ? null : string.Join(" ", new[] { Caption }.Concat(notes).Where(c => !string.IsNullOrEmpty(c)));
        return Markup.El("figure", "chart", ToSvg(), caption is null ? null : Markup.El("figcaption", null, caption));
    }

    /// <summary>
    /// For each series, the first earlier series it lies on at every drawable point (same x, y within
    /// <see cref="CoincidentY"/> of the y range), or null.
    /// </summary>
    public IReadOnlyList<int?> Coincident()
    {
        var (_, yAxis) = Axes();
        var pts = series.Select(sr => sr.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && yAxis.Accepts(p.Y)).ToArray()).ToArray();
        var result = new int?[series.Count];
        for (int s = 1; s < series.Count; s++)
            for (int t = 0; t < s && result[s] is null; t++)
                if (pts[s].Length > 0 && pts[s].Length == pts[t].Length
                    && pts[s].Zip(pts[t]).All(z => z.First.X == z.Second.X && Math.Abs(yAxis.Fraction(z.First.Y) - yAxis.Fraction(z.Second.Y)) <= CoincidentY))
                    result[s] = t;
        return result;
    }

    /// <summary>Share of the y range within which two points count as one to the eye (0.4% of the plot height: about a pixel).</summary>
    public const double CoincidentY = 0.004;

    // Markers of several series at one x whose y lie within a marker's size of each other are spread horizontally,
    // in series order, MarkerGap pixels apart, centred on the true x.
    private static double MarkerShift(int s, (double X, double Y) p, List<List<(double X, double Y)>>[] drawn, Func<double, double> py)
    {
        const double Overlap = 6, MarkerGap = 7;
        var group = new List<int>();
        for (int t = 0; t < drawn.Length; t++)
            if (t == s || drawn[t].Any(run => run.Any(q => q.X == p.X && Math.Abs(py(q.Y) - py(p.Y)) < Overlap))) group.Add(t);
        return group.Count < 2 ? 0 : (group.IndexOf(s) - (group.Count - 1) / 2.0) * MarkerGap;
    }

    /// <summary>Dash pattern of series <paramref name="s"/>: solid, dashed, dotted, dash-dot, then again.</summary>
    private static XElement Dashed(XElement line, int s)
    {
        string? dash = (s % 4) switch { 1 => "7 4", 2 => "2 3", 3 => "8 3 2 3", _ => null };
        if (dash is not null) line.SetAttributeValue("stroke-dasharray", dash);
        return line;
    }

    /// <summary>The drawable points split into runs at every skipped point.</summary>
    private static List<List<(double X, double Y)>> Runs((double X, double Y)[] points, Func<double, bool> acceptsX, ChartAxis y)
    {
        var runs = new List<List<(double X, double Y)>> { new() };
        foreach (var p in points)
        {
            if (acceptsX(p.X) && y.Accepts(p.Y)) runs[^1].Add(p);
            else if (runs[^1].Count > 0) runs.Add([]);
        }
        return runs.Where(r => r.Count > 0).ToList();
    }

    private bool HasZeroColumn() => LogX && series.Any(s => s.Points.Any(p => p.X == 0 && double.IsFinite(p.Y)));

    private (ChartAxis X, ChartAxis Y) Axes()
    {
        var drawable = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!LogX || p.X > 0)).ToList();
        ChartAxis xAxis;
        if (XTicks is not null && (drawable.Count > 0 || XTicks.Any(t => double.IsFinite(t.Value) && (!LogX || t.Value > 0))))
            xAxis = ChartAxis.Explicit(drawable.Count > 0 ? drawable.Min(p => p.X) : double.PositiveInfinity,
                drawable.Count > 0 ? drawable.Max(p => p.X) : double.NegativeInfinity, LogX, XTicks);
        else
        {
            double x0 = drawable.Count > 0 ? drawable.Min(p => p.X) : LogX ? 1 : 0, x1 = drawable.Count > 0 ? drawable.Max(p => p.X) : LogX ? 10 : 1;
            xAxis = LogX ? ChartAxis.Logarithmic(x0, x1) : ChartAxis.Linear(x0, x1, integer: IntegerX);
        }
        var forY = HasZeroColumn() ? drawable.Concat(series.SelectMany(s => s.Points).Where(p => p.X == 0 && double.IsFinite(p.Y))).ToList() : drawable;
        double y0 = YMin ?? (forY.Count > 0 ? forY.Min(p => p.Y) : 0), y1 = YMax ?? (forY.Count > 0 ? forY.Max(p => p.Y) : 1);
        var yAxis = ChartAxis.Linear(y0, y1, exact: YMin is not null && YMax is not null, integer: IntegerY);
        return (xAxis, yAxis);
    }
}
