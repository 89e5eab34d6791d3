// Test helpers for reports: parse a report's text as XML (after its "<!DOCTYPE html>" line), find elements by
// name and class, and decode embedded PNG data URIs with the repository's own decoder.
using System.Xml.Linq;
using SegLab.Imaging;

namespace SegLab.Tests.Reports;

internal static class ReportXml
{
    public const string Doctype = "<!DOCTYPE html>\n";

    /// <summary>The report's markup as an XML document; fails the test when it does not parse.</summary>
    public static XElement Parse(string html)
    {
        Assert.StartsWith(Doctype, html, StringComparison.Ordinal);
        return XElement.Parse(html[Doctype.Length..]);
    }

    /// <summary>Descendants named <paramref name="name"/> ("*": any name) whose class list holds <paramref name="cssClass"/> (any when null).</summary>
    public static List<XElement> Find(XElement root, string name, string? cssClass = null) =>
        (name == "*" ? root.DescendantsAndSelf() : root.DescendantsAndSelf(name)).Where(e => cssClass is null || ((string?)e.Attribute("class") ?? "").Split(' ').Contains(cssClass)).ToList();

    /// <summary>A numeric attribute, invariant culture.</summary>
    public static double Num(XElement e, string attribute) =>
        double.Parse((string?)e.Attribute(attribute) ?? throw new InvalidOperationException($"no {attribute}"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Decodes a "data:image/png;base64," URI.</summary>
    public static Image DecodeDataUri(string uri)
    {
        const string Prefix = "data:image/png;base64,";
        Assert.StartsWith(Prefix, uri, StringComparison.Ordinal);
        return Png.Decode(Convert.FromBase64String(uri[Prefix.Length..]));
    }
}
