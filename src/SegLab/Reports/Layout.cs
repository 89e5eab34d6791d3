// Layout elements: headline numbers for the top of a report (a row of tiles, each a large value with its label and
// an optional note, tinted by the 0-100 scale when asked), and a row that puts several elements side by side (two
// charts, a chart beside its table), wrapping onto the next line when the page is too narrow.
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// A row of headline numbers. Usage: <c>new Headline().Add("clean mIoU", 65.3).Add("robust mIoU", 12.4, note: "APGD, eps 8/255")</c>.
/// </summary>
public sealed class Headline : IReportElement
{
    private readonly List<(string Label, string Value, string? Note, string? Background)> tiles = [];

    /// <summary>Number of tiles.</summary>
    public int Count => tiles.Count;

    /// <summary>Adds a numeric tile.</summary>
    /// <param name="label">What the number is.</param>
    /// <param name="value">The number (NaN shows "n/a").</param>
    /// <param name="format">.NET numeric format (default "F1").</param>
    /// <param name="note">A small line under the number, or null.</param>
    /// <param name="colourScale">Whether to tint the tile by the 0-100 scale of <see cref="ReportTable.ScaleColour"/>.</param>
    public Headline Add(string label, double value, string format = "F1", string? note = null, bool colourScale = false)
    {
        ArgumentNullException.ThrowIfNull(label);
        bool finite = double.IsFinite(value);
        tiles.Add((label, double.IsNaN(value) ? "n/a" : Markup.Num(value, format), note, colourScale && finite ? ReportTable.ScaleColour(value) : null));
        return this;
    }

    /// <summary>Adds a tile with a text value (e.g. "233 images").</summary>
    /// <param name="label">What the value is.</param>
    /// <param name="value">The value.</param>
    /// <param name="note">A small line under it, or null.</param>
    public Headline Add(string label, string value, string? note = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        tiles.Add((label, value ?? string.Empty, note, null));
        return this;
    }

    /// <inheritdoc/>
    public XElement Render() => Markup.El("div", "headline", tiles.Select(t => Markup.El("div", "tile",
        t.Background is null ? null : new XAttribute("style", "background:" + t.Background),
        Markup.El("div", "value", t.Value), Markup.El("div", "label", t.Label),
        t.Note is null ? null : Markup.El("div", "note", t.Note))));
}

/// <summary>Report elements laid out side by side. Usage: <c>section.Add(new SideBySide(chart, table))</c>.</summary>
public sealed class SideBySide : IReportElement
{
    private readonly IReportElement[] elements;

    /// <summary>Creates the layout.</summary>
    /// <param name="elements">The elements, left to right.</param>
    public SideBySide(params IReportElement[] elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        if (elements.Any(e => e is null)) throw new ArgumentException("SideBySide: null element.");
        this.elements = [.. elements];
    }

    /// <summary>The elements, left to right.</summary>
    public IReadOnlyList<IReportElement> Elements => elements;

    /// <inheritdoc/>
    public XElement Render() => Markup.El("div", "sidebyside", elements.Select(e => Markup.El("div", "cell", e.Render())));
}
