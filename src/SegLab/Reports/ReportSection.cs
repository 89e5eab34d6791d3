// Containers of report content: the base shared by the report itself and its sections (paragraphs, callouts,
// preformatted text, any element, nested sections), and a section with a heading and an anchor. Text is always
// escaped: it goes into the markup as XML text nodes, never as markup.
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>Holds report content in order; the report and each of its sections are containers.</summary>
public abstract class ReportContainer
{
    private readonly List<IReportElement> items = [];

    /// <summary>Creates a container whose sections get headings of level <paramref name="childLevel"/>.</summary>
    /// <param name="childLevel">Heading level (2 to 6) of the sections added to this container.</param>
    /// <param name="anchor">Anchor prefix of the sections added to this container ("s" for the report).</param>
    private protected ReportContainer(int childLevel, string anchor)
    {
        ChildLevel = Math.Min(childLevel, 6);
        Anchor = anchor;
    }

    /// <summary>The content, in order.</summary>
    public IReadOnlyList<IReportElement> Items => items;

    private protected int ChildLevel { get; }

    private protected string Anchor { get; }

    /// <summary>Adds a paragraph of plain text (escaped; line breaks are kept).</summary>
    /// <param name="text">The text.</param>
    public ReportContainer Paragraph(string text) => Add(new TextBlock("p", text));

    /// <summary>Adds preformatted text in a monospace block (e.g. a command line or a log excerpt).</summary>
    /// <param name="text">The text.</param>
    public ReportContainer Preformatted(string text) => Add(new TextBlock("pre", text));

    /// <summary>Adds a note callout.</summary>
    /// <param name="text">The note.</param>
    /// <param name="items">Optional list under the text.</param>
    public ReportContainer Note(string text, IEnumerable<string>? items = null) => Add(new Callout(CalloutKind.Note, text, items));

    /// <summary>Adds a warning callout (skipped files, failed sanity checks, ...).</summary>
    /// <param name="text">The warning.</param>
    /// <param name="items">Optional list under the text (e.g. the skipped files); long lists are cut with a count.</param>
    public ReportContainer Warning(string text, IEnumerable<string>? items = null) => Add(new Callout(CalloutKind.Warning, text, items));

    /// <summary>Adds any element (table, chart, image row, legend, callout).</summary>
    /// <param name="element">The element.</param>
    public ReportContainer Add(IReportElement element)
    {
        ArgumentNullException.ThrowIfNull(element);
        items.Add(element);
        return this;
    }

    /// <summary>Adds a section with a heading and returns it, to be filled.</summary>
    /// <param name="heading">The heading text.</param>
    public ReportSection Section(string heading)
    {
        int number = items.OfType<ReportSection>().Count() + 1;
        var section = new ReportSection(heading, ChildLevel, $"{Anchor}{number}");
        items.Add(section);
        return section;
    }

    /// <summary>The rendered content, in order.</summary>
    private protected IEnumerable<XElement> RenderItems() => items.Select(i => i.Render());
}

/// <summary>A section of a report: a heading with an anchor, then its content.</summary>
public sealed class ReportSection : ReportContainer, IReportElement
{
    internal ReportSection(string heading, int level, string id) : base(level + 1, id + "-")
    {
        ArgumentNullException.ThrowIfNull(heading);
        Heading = heading;
        Level = level;
        Id = id;
    }

    /// <summary>The heading text.</summary>
    public string Heading { get; }

    /// <summary>The heading level (2 for a top-level section).</summary>
    public int Level { get; }

    /// <summary>The anchor of the section (e.g. "s2-1"), usable as "#s2-1" inside the report.</summary>
    public string Id { get; }

    /// <inheritdoc/>
    public XElement Render()
    {
        var section = Markup.El("section", null, new XAttribute("id", Id), Markup.El($"h{Level}", null, Heading));
        section.Add(RenderItems());
        return section;
    }
}

/// <summary>What a callout is.</summary>
public enum CalloutKind
{
    /// <summary>Information worth seeing (e.g. how a number was computed).</summary>
    Note,

    /// <summary>Something that may make results untrustworthy (skipped inputs, failed sanity checks).</summary>
    Warning,
}

/// <summary>A boxed note or warning, with an optional list (cut after <see cref="MaxItems"/> entries with a count).</summary>
/// <param name="kind">Note or warning.</param>
/// <param name="text">The message.</param>
/// <param name="items">Optional list under the message.</param>
public sealed class Callout(CalloutKind kind, string text, IEnumerable<string>? items = null) : IReportElement
{
    private readonly string[] entries = items?.ToArray() ?? [];

    /// <summary>Most list entries shown; the rest are counted ("... and 12 more").</summary>
    public int MaxItems { get; init; } = 50;

    /// <inheritdoc/>
    public XElement Render()
    {
        var label = kind == CalloutKind.Warning ? "Warning" : "Note";
        var box = Markup.El("div", $"callout {label.ToLowerInvariant()}",
            Markup.El("p", null, Markup.El("strong", null, label + ": "), text ?? string.Empty));
        if (entries.Length > 0)
        {
            var list = Markup.El("ul", null, entries.Take(MaxItems).Select(e => Markup.El("li", null, e)));
            if (entries.Length > MaxItems) list.Add(Markup.El("li", "more", $"... and {entries.Length - MaxItems} more"));
            box.Add(list);
        }
        return box;
    }
}

/// <summary>A paragraph or preformatted block of escaped text.</summary>
internal sealed class TextBlock(string tag, string text) : IReportElement
{
    public XElement Render() => Markup.El(tag, null, text ?? string.Empty);
}
