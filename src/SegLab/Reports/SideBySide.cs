// A layout element that puts several report elements next to each other (two charts, a chart beside its table),
// wrapping onto the next line when the page is too narrow.
using System.Xml.Linq;

namespace SegLab.Reports;

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
