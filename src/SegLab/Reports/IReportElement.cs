// The one interface every piece of a report implements (tables, charts, image rows, legends, callouts), and the
// small markup helpers they share: invariant numbers, hex colours, HTML element builders that never emit a
// self-closing non-void element (a "<div/>" would open a div in an HTML parser instead of closing it), and the few
// SVG primitives the charts draw.
using System.Globalization;
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>A block of a report that renders itself as XHTML-compatible markup (no namespace, no external reference).</summary>
public interface IReportElement
{
    /// <summary>The element's markup: one HTML element (which may hold inline SVG).</summary>
    XElement Render();
}

/// <summary>Formatting helpers shared by the report elements.</summary>
internal static class Markup
{
    /// <summary>A number in the invariant culture with the given .NET format ("F1", "0.###", ...).</summary>
    public static string Num(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>An SVG coordinate: at most two decimals, invariant culture.</summary>
    public static string Coord(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>"#rrggbb" of an RGB triple.</summary>
    public static string Hex(byte r, byte g, byte b) => string.Create(CultureInfo.InvariantCulture, $"#{r:x2}{g:x2}{b:x2}");

    /// <summary>"#rrggbb" of entry <paramref name="index"/> of a packed RGB palette.</summary>
    public static string Hex(byte[] palette, int index) => Hex(palette[3 * index], palette[3 * index + 1], palette[3 * index + 2]);

    /// <summary>
    /// An HTML element with a class attribute (when given) and content; an element left without content gets an
    /// empty text node, so that it serialises as &lt;x&gt;&lt;/x&gt;, which HTML and XML parsers read alike.
    /// </summary>
    public static XElement El(string name, string? cssClass, params object?[] content)
    {
        var e = new XElement(name);
        if (cssClass is not null) e.SetAttributeValue("class", cssClass);
        foreach (var c in content)
            if (c is not null) e.Add(c);
        if (!e.Nodes().Any()) e.Add(string.Empty);
        return e;
    }

    /// <summary>
    /// Checks that a CSS colour given by a caller is a plain "#rgb"/"#rrggbb" or a CSS name, so that no
    /// url(...) or other markup can reach an attribute.
    /// </summary>
    public static string SafeColour(string colour, string what)
    {
        ArgumentNullException.ThrowIfNull(colour);
        bool hex = colour.Length is 4 or 7 && colour[0] == '#' && colour.Skip(1).All(Uri.IsHexDigit);
        bool name = colour.Length is > 0 and <= 30 && colour.All(char.IsAsciiLetter);
        if (!hex && !name) throw new ArgumentException($"{what}: colour '{colour}' is not #rgb, #rrggbb or a CSS colour name.");
        return colour;
    }

    /// <summary>A default categorical colour (colour-blind-safe Okabe-Ito order, then Tableau tones).</summary>
    public static string SeriesColour(int index) => SeriesColours[index % SeriesColours.Length];

    private static readonly string[] SeriesColours =
        ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf"];
}

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

    /// <summary>
    /// Marker shape <paramref name="shape"/> (0 circle, 1 square, 2 triangle, 3 diamond, 4 ring, then again) centred
    /// at (x, y), so that series told apart by shape survive grey-scale printing and lines drawn over each other.
    /// </summary>
    public static XElement Marker(int shape, double x, double y, string fill, string cls)
    {
        const double r = 3.6;
        string P(params (double X, double Y)[] pts) => string.Join(" ", pts.Select(p => Markup.Coord(x + p.X) + "," + Markup.Coord(y + p.Y)));
        XElement e = (shape % 5) switch
        {
            1 => new XElement("rect", new XAttribute("x", Markup.Coord(x - r + 0.4)), new XAttribute("y", Markup.Coord(y - r + 0.4)),
                new XAttribute("width", Markup.Coord(2 * r - 0.8)), new XAttribute("height", Markup.Coord(2 * r - 0.8))),
            2 => new XElement("polygon", new XAttribute("points", P((0, -r - 0.8), (r + 0.6, r * 0.8), (-r - 0.6, r * 0.8)))),
            3 => new XElement("polygon", new XAttribute("points", P((0, -r - 0.8), (r + 0.8, 0), (0, r + 0.8), (-r - 0.8, 0)))),
            4 => new XElement("circle", new XAttribute("cx", Markup.Coord(x)), new XAttribute("cy", Markup.Coord(y)), new XAttribute("r", Markup.Coord(r))),
            _ => new XElement("circle", new XAttribute("cx", Markup.Coord(x)), new XAttribute("cy", Markup.Coord(y)), new XAttribute("r", Markup.Coord(r - 0.4))),
        };
        e.SetAttributeValue("class", cls);
        bool ring = shape % 5 == 4;
        e.SetAttributeValue("fill", ring ? "#ffffff" : fill);
        e.SetAttributeValue("stroke", ring ? fill : "#ffffff");
        e.SetAttributeValue("stroke-width", ring ? "2" : "1");
        return e;
    }

    /// <summary>A filled circle (a marker).</summary>
    public static XElement Circle(double x, double y, double r, string fill, string cls) =>
        new("circle", new XAttribute("class", cls), new XAttribute("cx", Markup.Coord(x)), new XAttribute("cy", Markup.Coord(y)),
            new XAttribute("r", Markup.Coord(r)), new XAttribute("fill", fill), new XAttribute("stroke", "#ffffff"), new XAttribute("stroke-width", "1"));
}
