// Report elements for pictures: a row of images side by side, each with a caption, under a row title (e.g.
// "0016E5_07959: image mIoU 41.2" over image | ground truth | prediction | errors), every image shrunk to a
// thumbnail as it is added and embedded as a PNG data URI; and a colour legend (class name beside its swatch).
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// Images side by side with captions. Usage: <c>new ImageRow("0016E5_07959: image mIoU 41.2").Add(image, "image")
/// .Add(Overlay.Labels(gt, w, h, palette, 255), "ground truth")</c>.
/// </summary>
/// <param name="title">The row title, or null.</param>
public sealed class ImageRow(string? title = null) : IReportElement
{
    private readonly List<(ReportImage Image, string? Caption)> cells = [];

    /// <summary>The row title, or null.</summary>
    public string? Title { get; } = title;

    /// <summary>Largest thumbnail width in pixels (default 320); larger images are shrunk when added.</summary>
    public int MaxWidth { get; init; } = 320;

    /// <summary>Largest thumbnail height in pixels (default 320).</summary>
    public int MaxHeight { get; init; } = 320;

    /// <summary>The thumbnails, as they will be embedded.</summary>
    public IReadOnlyList<ReportImage> Images => cells.Select(c => c.Image).ToList();

    /// <summary>Adds an image (shrunk to <see cref="MaxWidth"/> x <see cref="MaxHeight"/> with its own scaling).</summary>
    /// <param name="image">The image.</param>
    /// <param name="caption">The caption under it, or null.</param>
    public ImageRow Add(ReportImage image, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        cells.Add((image.Downscale(MaxWidth, MaxHeight), caption));
        return this;
    }

    /// <inheritdoc/>
    public XElement Render()
    {
        var row = Markup.El("div", "imagerow");
        if (Title is not null) row.Add(Markup.El("h4", "rowtitle", Title));
        row.Add(Markup.El("div", "cells", cells.Select(c => Markup.El("figure", null,
            new XElement("img", new XAttribute("src", c.Image.ToDataUri()), new XAttribute("width", c.Image.Width),
                new XAttribute("height", c.Image.Height), new XAttribute("alt", c.Caption ?? Title ?? "image"),
                c.Image.Scaling == ImageScaling.Nearest ? new XAttribute("class", "pixelated") : null),
            c.Caption is null ? null : Markup.El("figcaption", null, c.Caption)))));
        return row;
    }
}

/// <summary>A colour legend: a swatch and a name per entry.</summary>
public sealed class ColourLegend : IReportElement
{
    private readonly List<(string Name, string Colour)> entries;

    /// <summary>A legend of explicit entries.</summary>
    /// <param name="entries">Names and colours ("#rrggbb" or CSS names).</param>
    public ColourLegend(IEnumerable<(string Name, string Colour)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        this.entries = entries.Select(e => (e.Name, Markup.SafeColour(e.Colour, "ColourLegend"))).ToList();
    }

    /// <summary>A legend of classes from their names and palette, optionally ending with the ignore entry (black).</summary>
    /// <param name="classNames">One name per class.</param>
    /// <param name="paletteRgb">RGB triples, at least one per class.</param>
    /// <param name="ignoreName">Name of the ignore entry, or null for none.</param>
    public ColourLegend(IReadOnlyList<string> classNames, byte[] paletteRgb, string? ignoreName = "ignored")
        : this(ClassEntries(classNames, paletteRgb, ignoreName))
    {
    }

    /// <summary>Number of entries.</summary>
    public int Count => entries.Count;

    /// <inheritdoc/>
    public XElement Render() => Markup.El("div", "legend", entries.Select(e => Markup.El("span", "item",
        Markup.El("span", "swatch", new XAttribute("style", "background:" + e.Colour)), e.Name)));

    private static IEnumerable<(string, string)> ClassEntries(IReadOnlyList<string> names, byte[] palette, string? ignoreName)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(palette);
        if (palette.Length < 3 * names.Count) throw new ArgumentException($"ColourLegend: palette of {palette.Length / 3} colours for {names.Count} classes.");
        var list = names.Select((n, i) => (n, Markup.Hex(palette, i))).ToList();
        if (ignoreName is not null) list.Add((ignoreName, Markup.Hex(Overlay.IgnoreColour.R, Overlay.IgnoreColour.G, Overlay.IgnoreColour.B)));
        return list;
    }
}
