// A data table for reports: a header row, rows of text or numeric cells (numbers right-aligned in their column's
// invariant format, NaN shown as "n/a"), optional bold summary rows (e.g. the mean), an optional per-column or
// per-cell background scale for values from 0 to 100 (red, amber, green), and a caption.
using System.Globalization;
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// A table. Usage: <c>new ReportTable("Per-class IoU (%)").Column("class").Column("clean", "F1", colourScale: true)
/// .Row("road", 93.24).SummaryRow("mean", 61.3)</c>. Cells are strings, numbers, <see cref="TableCell"/> or null.
/// </summary>
/// <param name="caption">The caption shown above the table, or null.</param>
public sealed class ReportTable(string? caption = null) : IReportElement
{
    private readonly List<(string Header, string? Format, bool Scale)> columns = [];
    private readonly List<(object?[] Cells, bool Summary)> rows = [];

    /// <summary>The caption, or null.</summary>
    public string? Caption { get; } = caption;

    /// <summary>Number of columns.</summary>
    public int ColumnCount => columns.Count;

    /// <summary>Number of rows, summary rows included.</summary>
    public int RowCount => rows.Count;

    /// <summary>Adds a column.</summary>
    /// <param name="header">The header text.</param>
    /// <param name="format">.NET numeric format of the column's numbers ("F1", "0.000", "N0"); null: "0.###". A column with a format is right-aligned.</param>
    /// <param name="colourScale">Whether the column's numbers get a background from the 0-100 scale.</param>
    public ReportTable Column(string header, string? format = null, bool colourScale = false)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (rows.Count > 0) throw new InvalidOperationException("ReportTable: add every column before the first row.");
        columns.Add((header, format, colourScale));
        return this;
    }

    /// <summary>Adds a row of cells, one per column: a string, a number, a <see cref="TableCell"/>, or null (empty).</summary>
    /// <param name="cells">The cells.</param>
    public ReportTable Row(params object?[] cells) => AddRow(cells, summary: false);

    /// <summary>Adds a bold summary row (e.g. the mean over classes), drawn with a rule above it.</summary>
    /// <param name="cells">The cells.</param>
    public ReportTable SummaryRow(params object?[] cells) => AddRow(cells, summary: true);

    /// <summary>
    /// The background of a value on the 0-100 scale: light red at 0, light amber at 50, light green at 100 (clamped),
    /// light enough for dark text to stay readable, on screen and on paper.
    /// </summary>
    /// <param name="value">The value, nominally 0 to 100.</param>
    public static string ScaleColour(double value)
    {
        double t = Math.Clamp(value / 100.0, 0.0, 1.0);
        (byte R, byte G, byte B) low = (0xf4, 0xc7, 0xc3), mid = (0xfc, 0xe8, 0xb2), high = (0xb7, 0xe1, 0xcd);
        var (a, b, u) = t < 0.5 ? (low, mid, t * 2) : (mid, high, t * 2 - 1);
        byte Mix(byte x, byte y) => (byte)Math.Round(x + (y - x) * u);
        return Markup.Hex(Mix(a.R, b.R), Mix(a.G, b.G), Mix(a.B, b.B));
    }

    /// <inheritdoc/>
    public XElement Render()
    {
        if (columns.Count == 0) throw new InvalidOperationException("ReportTable: no columns.");
        var table = Markup.El("table", "data");
        if (Caption is not null) table.Add(Markup.El("caption", null, Caption));
        table.Add(Markup.El("thead", null, Markup.El("tr", null,
            columns.Select(c => Markup.El("th", c.Format is null ? null : "num", new XAttribute("scope", "col"), c.Header)))));
        var body = Markup.El("tbody", null);
        foreach (var (cells, summary) in rows)
            body.Add(Markup.El("tr", summary ? "summary" : null, cells.Select((c, i) => RenderCell(c, columns[i]))));
        table.Add(body);
        return Markup.El("div", "tablewrap", table);
    }

    private ReportTable AddRow(object?[] cells, bool summary)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (columns.Count == 0) throw new InvalidOperationException("ReportTable: add the columns before the rows.");
        if (cells.Length != columns.Count) throw new ArgumentException($"ReportTable: a row of {cells.Length} cells for {columns.Count} columns.");
        rows.Add(((object?[])cells.Clone(), summary));
        return this;
    }

    private static XElement RenderCell(object? cell, (string Header, string? Format, bool Scale) column)
    {
        var c = cell switch
        {
            null => new TableCell(string.Empty),
            TableCell t => t,
            string s => new TableCell(s),
            double or float or int or long or short or byte or decimal or uint or ulong => TableCell.Number(Convert.ToDouble(cell, CultureInfo.InvariantCulture)),
            _ => new TableCell(Convert.ToString(cell, CultureInfo.InvariantCulture) ?? string.Empty),
        };
        if (c.Value is not double v) return Markup.El("td", null, c.Text ?? string.Empty);
        if (double.IsNaN(v)) return Markup.El("td", "num missing", c.Text ?? "n/a");
        var td = Markup.El("td", "num", c.Text ?? Markup.Num(v, c.Format ?? column.Format ?? "0.###"));
        if (c.ColourScale ?? column.Scale) td.SetAttributeValue("style", "background:" + ScaleColour(v));
        return td;
    }
}

/// <summary>A table cell given explicitly: text, or a number with its own format and colour-scale choice.</summary>
/// <param name="Text">Text shown (for a number: shown instead of the formatted value when not null).</param>
/// <param name="Value">The number, or null for a text cell.</param>
/// <param name="Format">.NET numeric format of this cell, or null for the column's.</param>
/// <param name="ColourScale">Whether this cell gets the 0-100 background, or null for the column's choice.</param>
public readonly record struct TableCell(string? Text, double? Value = null, string? Format = null, bool? ColourScale = null)
{
    /// <summary>A numeric cell.</summary>
    /// <param name="value">The number.</param>
    /// <param name="format">Its format, or null for the column's.</param>
    /// <param name="colourScale">Whether it gets the 0-100 background, or null for the column's choice.</param>
    public static TableCell Number(double value, string? format = null, bool? colourScale = null) => new(null, value, format, colourScale);
}
