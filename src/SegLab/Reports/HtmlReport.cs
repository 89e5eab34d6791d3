// The report document: title, subtitle, a metadata block, a table of contents of the top-level sections, and the
// content; rendered as one self-contained HTML file (inline CSS and SVG, images as data URIs, no script, no
// external reference) whose markup also parses as XML, and saved atomically.
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using SegLab.Engine.IO;

namespace SegLab.Reports;

/// <summary>
/// Builds a self-contained HTML report. Usage:
/// <code>
/// var report = new HtmlReport("CGNet on CamVid test", "clean evaluation");
/// report.Meta("model", "cgnet-camvid").Meta("date", HtmlReport.Today());
/// report.Section("Per-class IoU").Add(chart).Add(table);
/// report.Save("eval.html");
/// </code>
/// </summary>
public sealed class HtmlReport : ReportContainer
{
    private readonly List<KeyValuePair<string, string>> meta = [];

    /// <summary>Creates an empty report.</summary>
    /// <param name="title">The title (also the browser tab's title).</param>
    /// <param name="subtitle">An optional line under the title.</param>
    public HtmlReport(string title, string? subtitle = null) : base(2, "s")
    {
        ArgumentNullException.ThrowIfNull(title);
        Title = title;
        Subtitle = subtitle;
    }

    /// <summary>The title.</summary>
    public string Title { get; }

    /// <summary>The line under the title, or null.</summary>
    public string? Subtitle { get; }

    /// <summary>The metadata entries, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata => meta;

    /// <summary>Whether a table of contents of the top-level sections is shown (when there are at least two).</summary>
    public bool TableOfContents { get; set; } = true;

    /// <summary>The SegLab version, as the assembly states it (without a source-revision suffix).</summary>
    public static string SegLabVersion { get; } =
        (typeof(HtmlReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>A one-line description of this machine: processors, OS, architecture, .NET version.</summary>
    public static string Machine() =>
        $"{Environment.ProcessorCount} processors, {RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}, .NET {Environment.Version}";

    /// <summary>The current UTC time as "yyyy-MM-dd HH:mm UTC".</summary>
    public static string Today() => DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Adds a metadata entry (model, dataset, split, date, SegLab version, command line, machine, ...).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value (escaped).</param>
    public HtmlReport Meta(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        meta.Add(new(key, value ?? string.Empty));
        return this;
    }

    /// <summary>Adds the entries every run report carries: SegLab version, machine, and the command line when given.</summary>
    /// <param name="commandLine">The command line that produced the report, or null.</param>
    public HtmlReport RunMeta(string? commandLine = null)
    {
        Meta("SegLab version", SegLabVersion);
        if (commandLine is not null) Meta(CommandLineKey, commandLine);
        return Meta("machine", Machine());
    }

    /// <summary>The metadata key whose value is drawn as a command line (wrapping only between arguments).</summary>
    public const string CommandLineKey = "command line";

    /// <summary>
    /// A command line as &lt;code class="cmd"&gt; with one non-wrapping span per argument, so that a long line wraps
    /// between arguments and never inside an option or a path; an option and its value stay together.
    /// </summary>
    /// <param name="commandLine">The command line, arguments separated by spaces.</param>
    public static XElement CommandLine(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var words = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var args = new List<string>();
        for (int i = 0; i < words.Length; i++)
        {
            bool option = words[i].StartsWith('-') && !words[i].Contains('=');
            if (option && i + 1 < words.Length && !words[i + 1].StartsWith('-')) { args.Add(words[i] + " " + words[i + 1]); i++; }
            else args.Add(words[i]);
        }
        var code = Markup.El("code", "cmd");
        for (int i = 0; i < args.Count; i++)
        {
            if (i > 0) code.Add(" ");
            code.Add(Markup.El("span", "arg", args[i]));
        }
        return code;
    }

    /// <summary>The document as an XML tree (the &lt;html&gt; element).</summary>
    public XElement ToXml()
    {
        var head = Markup.El("head", null,
            new XElement("meta", new XAttribute("charset", "utf-8")),
            new XElement("meta", new XAttribute("name", "viewport"), new XAttribute("content", "width=device-width, initial-scale=1")),
            new XElement("meta", new XAttribute("name", "generator"), new XAttribute("content", "SegLab " + SegLabVersion)),
            Markup.El("title", null, Title),
            Markup.El("style", null, ReportStyle.Css));
        var header = Markup.El("header", null, Markup.El("h1", null, Title));
        if (Subtitle is not null) header.Add(Markup.El("p", "subtitle", Subtitle));
        if (meta.Count > 0)
            header.Add(Markup.El("dl", "meta", meta.Select(kv => Markup.El("div", kv.Value.Length > 40 ? "wide" : null,
                Markup.El("dt", null, kv.Key), Markup.El("dd", null, kv.Key == CommandLineKey ? CommandLine(kv.Value) : kv.Value)))));
        var main = Markup.El("main", null, header);
        var sections = Items.OfType<ReportSection>().ToList();
        if (TableOfContents && sections.Count >= 2)
            main.Add(Markup.El("nav", "toc", Markup.El("ol", null, sections.Select(s =>
                Markup.El("li", null, Markup.El("a", null, new XAttribute("href", "#" + s.Id), s.Heading))))));
        main.Add(RenderItems());
        main.Add(Markup.El("footer", null, $"Generated by SegLab {SegLabVersion}."));
        return new XElement("html", new XAttribute("lang", "en"), head, Markup.El("body", null, main));
    }

    /// <summary>The whole file's text: "&lt;!DOCTYPE html&gt;" then the &lt;html&gt; element.</summary>
    public string ToHtml()
    {
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Indent = false, NewLineHandling = NewLineHandling.None };
        var text = new StringBuilder("<!DOCTYPE html>\n");
        using (var writer = XmlWriter.Create(text, settings)) ToXml().WriteTo(writer);
        return text.Append('\n').ToString();
    }

    /// <summary>Writes the report atomically (UTF-8 without BOM): a temporary file in the same folder, flushed, then renamed.</summary>
    /// <param name="path">The destination file; its folder must exist.</param>
    public void Save(string path) => AtomicFile.WriteText(path, ToHtml());
}
