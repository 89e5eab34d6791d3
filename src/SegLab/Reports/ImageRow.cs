// Report elements for pictures: a row of images side by side, each with a caption, under a row title (e.g.
// "0016E5_07959: image mIoU 41.2" over image | ground truth | prediction | errors), every image shrunk to a
// thumbnail as it is added and embedded as a PNG data URI; and a colour legend (class name beside its swatch).
// With Zoom, the image is embedded at full size, shown as a thumbnail, and opens enlarged on click through a CSS
// :target lightbox (no script, and no data: link, which browsers refuse to open as a page); click again to close.
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace SegLab.Reports;

/// <summary>
/// Images side by side with captions. Usage: <c>new ImageRow("0016E5_07959: image mIoU 41.2").Add(image, "image")
/// .Add(Overlay.Labels(gt, w, h, palette, 255), "ground truth")</c>.
/// </summary>
/// <param name="title">The row title, or null.</param>
public sealed class ImageRow(string? title = null) : IReportElement
{
    private readonly List<(ReportImage Image, ReportImage Full, string? Caption)> cells = [];

    /// <summary>The row title, or null.</summary>
    public string? Title { get; } = title;

    /// <summary>Largest thumbnail width in pixels (default 320); larger images are shrunk when added.</summary>
    public int MaxWidth { get; init; } = 320;

    /// <summary>Largest thumbnail height in pixels (default 320).</summary>
    public int MaxHeight { get; init; } = 320;

    /// <summary>
    /// Whether each image is embedded at full size (up to <see cref="ZoomMaxWidth"/>) and opens enlarged when clicked;
    /// the page still shows it at thumbnail size.
    /// </summary>
    public bool Zoom { get; init; }

    /// <summary>Largest width of an image embedded for <see cref="Zoom"/> (default 1280).</summary>
    public int ZoomMaxWidth { get; init; } = 1280;

    /// <summary>The thumbnails (the size each image is shown at).</summary>
    public IReadOnlyList<ReportImage> Images => cells.Select(c => c.Image).ToList();

    /// <summary>The images as they will be embedded: the thumbnails, or the full-size images with <see cref="Zoom"/>.</summary>
    public IReadOnlyList<ReportImage> Embedded => cells.Select(c => Zoom ? c.Full : c.Image).ToList();

    /// <summary>Adds an image (shrunk to <see cref="MaxWidth"/> x <see cref="MaxHeight"/> with its own scaling).</summary>
    /// <param name="image">The image.</param>
    /// <param name="caption">The caption under it, or null.</param>
    public ImageRow Add(ReportImage image, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        cells.Add((image.Downscale(MaxWidth, MaxHeight), Zoom ? image.Downscale(ZoomMaxWidth) : image, caption));
        return this;
    }

    /// <inheritdoc/>
    public XElement Render()
    {
        var row = Markup.El("div", "imagerow");
        if (Title is not null) row.Add(Markup.El("h4", "rowtitle", Title));
        row.Add(Markup.El("div", "cells", cells.Select((c, i) => Cell(c.Image, Zoom ? c.Full : c.Image, c.Caption, i))));
        return row;
    }

    private XElement Cell(ReportImage thumb, ReportImage embedded, string? caption, int index)
    {
        string uri = embedded.ToDataUri();
        var img = new XElement("img", new XAttribute("src", uri), new XAttribute("width", thumb.Width),
            new XAttribute("height", thumb.Height), new XAttribute("alt", caption ?? Title ?? "image"),
            thumb.Scaling == ImageScaling.Nearest ? new XAttribute("class", "pixelated") : null);
        var cap = caption is null ? null : Markup.El("figcaption", null, caption);
        if (!Zoom) return Markup.El("figure", null, img, cap);
        string id = ZoomId(uri, caption, index);
        return Markup.El("figure", "zoom", new XAttribute("id", id),
            Markup.El("a", "open", new XAttribute("href", "#" + id), new XAttribute("title", "click to enlarge"), img),
            Markup.El("a", "close", new XAttribute("href", "#_"), new XAttribute("title", "click to close"), Markup.El("span", null, "close"),
                Title is null ? null : Markup.El("span", "zoomtitle", Title)), cap); // enlarged, the row's title says which image it is
    }

    // A stable anchor from the row title, the cell and the image itself (the same report renders the same ids).
    private string ZoomId(string uri, string? caption, int index)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{Title}|{caption}|{index}|{uri}"));
        return "zoom-" + Convert.ToHexString(hash, 0, 6).ToLowerInvariant();
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
