// Builders of the few SVG primitives the charts draw (text, line, polyline, circle), with coordinates written in
// the invariant culture and text added as escaped text nodes.
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>SVG element builders for the charts.</summary>
internal static class Svg
{
    /// <summary>A text element anchored at (x, y) ("start", "middle" or "end").</summary>
    public static XElement Text(double x, double y, string text, string anchor, string? weight = null, double? size = null, string? fill = null)
    {
        var e = new XElement("text", new XAttribute("x", Markup.Coord(x)), new XAttribute("y", Markup.Coord(y)));
        if (anchor != "start") e.SetAttributeValue("text-anchor", anchor);
        if (weight is not null) e.SetAttributeValue("font-weight", weight);
        if (size is double s) e.SetAttributeValue("font-size", Markup.Coord(s));
        e.SetAttributeValue("fill", fill ?? "#1d2330");
        e.Add(text ?? string.Empty);
        return e;
    }

    /// <summary>A one-pixel line.</summary>
    public static XElement Line(double x1, double y1, double x2, double y2, string stroke, double width = 1) =>
        new("line", new XAttribute("x1", Markup.Coord(x1)), new XAttribute("y1", Markup.Coord(y1)),
            new XAttribute("x2", Markup.Coord(x2)), new XAttribute("y2", Markup.Coord(y2)),
            new XAttribute("stroke", stroke), new XAttribute("stroke-width", Markup.Coord(width)));

    /// <summary>An open polyline through the points.</summary>
    public static XElement Polyline(IEnumerable<(double X, double Y)> points, string stroke, string cls) =>
        new("polyline", new XAttribute("class", cls), new XAttribute("fill", "none"), new XAttribute("stroke", stroke),
            new XAttribute("stroke-width", "2"), new XAttribute("stroke-linejoin", "round"),
            new XAttribute("points", string.Join(" ", points.Select(p => Markup.Coord(p.X) + "," + Markup.Coord(p.Y)))));

    /// <summary>A filled circle (a marker).</summary>
    public static XElement Circle(double x, double y, double r, string fill, string cls) =>
        new("circle", new XAttribute("class", cls), new XAttribute("cx", Markup.Coord(x)), new XAttribute("cy", Markup.Coord(y)),
            new XAttribute("r", Markup.Coord(r)), new XAttribute("fill", fill), new XAttribute("stroke", "#ffffff"), new XAttribute("stroke-width", "1"));
}
