// Tests of the SVG charts: one bar per category with widths proportional to values, a second series beside the
// first, clamping and NaN in bar charts; NaN and non-positive (log axis) points skipped in line charts, ticks.
using System.Xml.Linq;
using SegLab.Reports;

namespace SegLab.Tests.Reports;

public class ChartTests
{
    [Fact]
    public void Bar_chart_has_one_bar_per_category_with_widths_proportional_to_values()
    {
        double[] values = [93.2, 41.5, 7.26, 100, 0.5, 62];
        var chart = new BarChart("IoU");
        for (int i = 0; i < values.Length; i++) chart.Add($"class {i}", values[i]);
        var svg = chart.ToSvg();
        var bars = ReportXml.Find(svg, "rect", "bar");
        Assert.Equal(values.Length, bars.Count);
        double full = ReportXml.Num(bars[3], "width"); // the bar at 100 spans the axis
        Assert.True(full > 200, $"full bar {full} px");
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(values[i] / 100 * full, ReportXml.Num(bars[i], "width"), 0.02);
        // The labels say each category and value, and the bars start at the same x.
        var texts = svg.Descendants("text").Select(t => t.Value).ToList();
        Assert.Contains("class 2", texts);
        Assert.Contains("7.3", texts);
        Assert.Single(bars.Select(b => (string?)b.Attribute("x")).Distinct());
        // Rows do not overlap.
        var ys = bars.Select(b => ReportXml.Num(b, "y")).ToList();
        for (int i = 1; i < ys.Count; i++) Assert.True(ys[i] >= ys[i - 1] + ReportXml.Num(bars[i - 1], "height"));
    }

    [Fact]
    public void Second_series_draws_a_bar_beside_each_first_with_per_bar_colours()
    {
        var chart = new BarChart { SeriesName = "clean", SecondSeriesName = "attacked" }
            .Add("road", 90, 30, "#804080").Add("sky", 80, 60, "#808080");
        var svg = chart.ToSvg();
        var first = ReportXml.Find(svg, "rect", "s0");
        var second = ReportXml.Find(svg, "rect", "s1");
        Assert.Equal(2, first.Count);
        Assert.Equal(2, second.Count);
        Assert.Equal(["#804080", "#808080"], first.Select(b => (string?)b.Attribute("fill")));
        Assert.Equal(["#804080", "#808080"], second.Select(b => (string?)b.Attribute("fill")));
        Assert.Equal(30.0 / 90, ReportXml.Num(second[0], "width") / ReportXml.Num(first[0], "width"), 3);
        Assert.Contains("attacked", svg.Descendants("text").Select(t => t.Value));
        Assert.Throws<InvalidOperationException>(() => chart.Add("car", 5));
    }

    [Fact]
    public void Bars_over_the_axis_are_clamped_and_NaN_draws_no_bar()
    {
        var svg = new BarChart().Add("a", 100).Add("b", 250).Add("c", double.NaN).Add("d", -5).ToSvg();
        var bars = ReportXml.Find(svg, "rect", "bar");
        Assert.Equal(3, bars.Count);
        Assert.Equal(ReportXml.Num(bars[0], "width"), ReportXml.Num(bars[1], "width"));
        Assert.Equal(0, ReportXml.Num(bars[2], "width"));
        var texts = svg.Descendants("text").Select(t => t.Value).ToList();
        Assert.Contains("250.0", texts);
        Assert.Contains("n/a", texts);
    }

    [Fact]
    public void Bar_chart_auto_axis_fits_the_largest_value()
    {
        var svg = new BarChart { Max = double.NaN, ValueFormat = "F2" }.Add("a", 0.37).Add("b", 0.81).ToSvg();
        var ticks = svg.Descendants("text").Select(t => t.Value).ToList();
        Assert.Contains("1.0", ticks);
        Assert.DoesNotContain("100", ticks);
    }

    [Fact]
    public void Line_chart_skips_NaN_points_and_breaks_the_line_there()
    {
        var chart = new LineChart("curve") { XLabel = "eps", YLabel = "mIoU" }
            .Series("a", [(0.0, 60.0), (1.0, 50.0), (2.0, double.NaN), (3.0, 30.0), (4.0, 20.0)])
            .Series("b", [0.0, 1.0, double.NaN], [55.0, 45.0, 35.0]);
        var svg = chart.ToSvg();
        var seriesA = ReportXml.Find(svg, "g", "s0").Single();
        Assert.Equal(4, ReportXml.Find(seriesA, "circle", "pt").Count);
        Assert.Equal(2, seriesA.Elements("polyline").Count());
        var seriesB = ReportXml.Find(svg, "g", "s1").Single();
        Assert.Equal(2, ReportXml.Find(seriesB, "*", "pt").Count); // a square marker: series differ in shape too
        Assert.DoesNotContain("NaN", svg.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, ReportXml.Find(svg, "*", "legend-pt").Count);
        // Higher values are drawn higher (smaller y).
        var ys = ReportXml.Find(seriesA, "circle", "pt").Select(c => ReportXml.Num(c, "cy")).ToList();
        Assert.True(ys[0] < ys[1] && ys[1] < ys[2] && ys[2] < ys[3]);
    }

    [Fact]
    public void Coincident_series_keep_their_markers_side_by_side_and_say_so()
    {
        var chart = new LineChart { YMin = 0, YMax = 100 }
            .Series("a", [(0.0, 50.0), (1.0, 30.0)]).Series("b", [(0.0, 50.0), (1.0, 30.0)]).Series("c", [(0.0, 90.0), (1.0, 80.0)]);
        Assert.Equal(new int?[] { null, 0, null }, chart.Coincident());
        var svg = chart.ToSvg();
        Assert.Equal("a", (string?)ReportXml.Find(svg, "g", "s1").Single().Attribute("data-coincides"));
        Assert.Null(ReportXml.Find(svg, "g", "s2").Single().Attribute("data-coincides"));
        double[] X(string s) => ReportXml.Find(ReportXml.Find(svg, "g", s).Single(), "*", "pt").Select(CentreX).ToArray();
        var (a, b, c) = (X("s0"), X("s1"), X("s2"));
        for (int i = 0; i < 2; i++)
        {
            Assert.True(b[i] - a[i] >= 6, $"markers of a and b at point {i} overlap: {a[i]} and {b[i]}");
            Assert.Equal((a[i] + b[i]) / 2, c[i], 1); // c lies apart: not shifted, and the pair is centred on the true x
        }
        Assert.Contains("b (= a)", svg.Descendants("text").Select(t => t.Value));
        Assert.Contains("b lies on a", chart.Render().Element("figcaption")!.Value, StringComparison.Ordinal);
        // Series that only nearly meet are not called coincident.
        Assert.Equal(new int?[] { null, null }, new LineChart { YMin = 0, YMax = 100 }.Series("a", [(0.0, 50.0), (1.0, 30.0)]).Series("b", [(0.0, 50.0), (1.0, 32.0)]).Coincident());
    }

    private static double CentreX(System.Xml.Linq.XElement marker) => marker.Name.LocalName switch
    {
        "circle" => ReportXml.Num(marker, "cx"),
        "rect" => ReportXml.Num(marker, "x") + ReportXml.Num(marker, "width") / 2,
        _ => ((string)marker.Attribute("points")!).Split(' ').Select(p => double.Parse(p.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)) is var xs
            ? (xs.Min() + xs.Max()) / 2 : 0,
    };

    [Fact]
    public void Log_axis_skips_nonpositive_x_and_spaces_decades_evenly()
    {
        var chart = new LineChart { LogX = true, Markers = true }.Series("a", [(-1.0, 70.0), (0.001, 60.0), (0.01, 40.0), (0.1, 10.0)]);
        var circles = ReportXml.Find(chart.ToSvg(), "circle", "pt").Select(c => ReportXml.Num(c, "cx")).ToList();
        Assert.Equal(3, circles.Count);
        Assert.Equal(circles[1] - circles[0], circles[2] - circles[1], 0.02);
        var labels = chart.ToSvg().Descendants("text").Select(t => t.Value).ToList();
        Assert.Contains("0.001", labels);
        Assert.Contains("0.1", labels);
    }

    [Fact]
    public void Log_axis_draws_x_zero_in_its_own_column()
    {
        var svg = new LineChart { LogX = true }.Series("a", [(0.0, 70.0), (0.001, 60.0), (0.01, 40.0), (0.1, 10.0)]).ToSvg();
        var points = ReportXml.Find(svg, "circle", "pt").Select(c => (X: ReportXml.Num(c, "cx"), Y: ReportXml.Num(c, "cy"))).ToList();
        Assert.Equal(4, points.Count);
        Assert.True(points[0].X + 20 < points[1].X, $"zero column at {points[0].X}, first decade at {points[1].X}");
        Assert.Equal(points[2].X - points[1].X, points[3].X - points[2].X, 0.02);
        Assert.True(points[0].Y < points[1].Y); // 70 is drawn above 60: the y axis includes the x = 0 points
        Assert.Contains("0", svg.Descendants("text").Select(t => t.Value));
        Assert.Single(svg.Descendants("polyline"));
    }

    [Fact]
    public void Points_outside_a_fixed_y_range_are_skipped()
    {
        var svg = new LineChart { YMin = 0, YMax = 100 }.Series("a", [(0.0, -1.0), (1.0, 0.0), (2.0, 50.0), (3.0, 100.0), (4.0, 101.0)]).ToSvg();
        var ys = ReportXml.Find(svg, "circle", "pt").Select(c => ReportXml.Num(c, "cy")).ToList();
        Assert.Equal(3, ys.Count);
        Assert.Equal(ys[1], (ys[0] + ys[2]) / 2, 0.02);
    }

    [Fact]
    public void Explicit_ticks_replace_automatic_ones()
    {
        (double, string)[] ticks = [(1 / 255.0, "1/255"), (2 / 255.0, "2/255"), (4 / 255.0, "4/255"), (8 / 255.0, "8/255")];
        var svg = new LineChart { LogX = true, XTicks = ticks }.Series("apgd", ticks.Select((t, i) => (t.Item1, 60.0 - 10 * i))).ToSvg();
        var labels = svg.Descendants("text").Select(t => t.Value).ToList();
        Assert.All(ticks, t => Assert.Contains(t.Item2, labels));
    }

    [Fact]
    public void Linear_ticks_are_nice_and_invariant()
    {
        var labels = new LineChart().Series("a", [(0.0, 0.13), (10.0, 0.87)]).ToSvg().Descendants("text").Select(t => t.Value).ToList();
        Assert.Contains("0.2", labels);
        Assert.Contains("0.8", labels);
        Assert.Contains("10", labels);
        Assert.DoesNotContain(labels, l => l.Contains(',', StringComparison.Ordinal));
    }
}
