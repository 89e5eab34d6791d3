// Tests of the report document: XML-parsable markup after the doctype, no external references, hostile text
// escaped everywhere it can enter, sections and anchors, callouts, metadata, and the atomic save.
using System.Xml.Linq;
using SegLab.Reports;

namespace SegLab.Tests.Reports;

public class HtmlReportTests
{
    private const string Hostile = "<script>alert('x')</script> & \"quoted\" <img src=http://evil.example/x.png>";

    [Fact]
    public void Sample_report_parses_as_xml_and_holds_every_kind_of_element()
    {
        var html = SampleReport.Build().ToHtml();
        var root = ReportXml.Parse(html);
        Assert.Equal("html", root.Name.LocalName);
        Assert.NotEmpty(ReportXml.Find(root, "table", "data"));
        Assert.NotEmpty(ReportXml.Find(root, "svg", "barchart"));
        Assert.NotEmpty(ReportXml.Find(root, "svg", "linechart"));
        Assert.NotEmpty(ReportXml.Find(root, "div", "imagerow"));
        Assert.NotEmpty(ReportXml.Find(root, "div", "legend"));
        Assert.NotEmpty(ReportXml.Find(root, "div", "warning"));
        Assert.Empty(root.Descendants("script"));
    }

    [Fact]
    public void No_external_reference_anywhere()
    {
        var html = SampleReport.Build().ToHtml();
        var root = ReportXml.Parse(html);
        foreach (var a in root.DescendantsAndSelf().Attributes().Where(a => a.Name.LocalName is "src" or "href"))
            Assert.True(a.Value.StartsWith("data:image/png;base64,", StringComparison.Ordinal) || a.Value.StartsWith('#'), $"{a.Name}={a.Value[..Math.Min(60, a.Value.Length)]}");
        // Outside the data URIs (whose base64 may hold "//"), no URL of any kind.
        var stripped = System.Text.RegularExpressions.Regex.Replace(html, "data:image/png;base64,[A-Za-z0-9+/=]*", "DATA");
        Assert.DoesNotContain("http", stripped, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("//", stripped, StringComparison.Ordinal);
        Assert.DoesNotContain("url(", stripped, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", stripped, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Hostile_text_is_escaped_wherever_it_enters()
    {
        var report = new HtmlReport(Hostile, Hostile).Meta(Hostile, Hostile);
        var section = report.Section(Hostile);
        section.Paragraph(Hostile).Preformatted(Hostile).Warning(Hostile, [Hostile]).Note(Hostile);
        section.Add(new ReportTable(Hostile).Column(Hostile).Column("v", "F1").Row(Hostile, 1.0));
        section.Add(new BarChart(Hostile) { Caption = Hostile }.Add(Hostile, 50));
        section.Add(new LineChart(Hostile) { XLabel = Hostile, YLabel = Hostile }.Series(Hostile, [(1.0, 2.0), (2.0, 3.0)]));
        section.Add(new ImageRow(Hostile).Add(new ReportImage(1, 1, [1, 2, 3]), Hostile));
        section.Add(new ColourLegend([Hostile], [1, 2, 3], Hostile));
        var html = report.ToHtml();

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img src=http", html, StringComparison.OrdinalIgnoreCase);
        var root = ReportXml.Parse(html);
        Assert.Empty(root.Descendants("script"));
        Assert.Equal(Hostile, root.Descendants("title").Single().Value);
        Assert.Equal(Hostile, root.Descendants("h1").Single().Value);
        Assert.Equal(Hostile, root.Descendants("h2").Single().Value);
        // The text survives intact as text in every place it was put.
        int textNodes = root.DescendantNodes().OfType<XText>().Count(t => t.Value.Contains(Hostile, StringComparison.Ordinal));
        Assert.True(textNodes >= 15, $"hostile text found intact in {textNodes} text nodes");
        Assert.All(root.Descendants("img"), img => Assert.StartsWith("data:", (string?)img.Attribute("src"), StringComparison.Ordinal));
    }

    [Fact]
    public void Colours_that_are_not_plain_colours_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new BarChart().Add("a", 1, "red;background:url(x)"));
        Assert.Throws<ArgumentException>(() => new LineChart().Series("a", [(1.0, 1.0)], "#12345g"));
        Assert.Throws<ArgumentException>(() => new ColourLegend([("a", "\"><script>")]));
        new BarChart().Add("a", 1, "#abc").Add("b", 2, "steelblue").Add("c", 3, "#a0b1c2");
    }

    [Fact]
    public void Sections_nest_with_anchors_and_a_table_of_contents()
    {
        var report = new HtmlReport("t");
        var first = report.Section("first");
        first.Section("inner").Paragraph("x");
        report.Section("second");
        var root = ReportXml.Parse(report.ToHtml());
        Assert.Equal(["s1", "s1-1", "s2"], root.Descendants("section").Select(s => (string?)s.Attribute("id")));
        Assert.Equal("inner", root.Descendants("h3").Single().Value);
        var links = root.Descendants("nav").Single().Descendants("a").Select(a => (string?)a.Attribute("href"));
        Assert.Equal(["#s1", "#s2"], links);
    }

    [Fact]
    public void Metadata_is_kept_in_order_and_empty_elements_are_never_self_closed()
    {
        var report = new HtmlReport("t").Meta("model", "cgnet-camvid").Meta("split", "test").RunMeta("seglab eval --model cgnet-camvid");
        report.Section("empty");
        report.Add(new ReportTable().Column("a").Row((object?)null));
        var html = report.ToHtml();
        var root = ReportXml.Parse(html);
        var keys = root.Descendants("dt").Select(d => d.Value).ToList();
        Assert.Equal(["model", "split", "SegLab version", "command line", "machine"], keys);
        // A "<td/>" or "<section/>" would open an element in an HTML parser; only void elements may self-close.
        var selfClosed = System.Text.RegularExpressions.Regex.Matches(html.Split("<svg")[0], "<([a-z0-9]+)[^<>]*/>").Select(m => m.Groups[1].Value).Distinct();
        Assert.All(selfClosed, name => Assert.Contains(name, new[] { "meta", "img", "br" }));
    }

    [Fact]
    public void Save_is_atomic_and_leaves_no_temporary_file()
    {
        var dir = Directory.CreateTempSubdirectory("seglab-report-");
        try
        {
            var path = Path.Combine(dir.FullName, "report.html");
            File.WriteAllText(path, "old");
            var report = new HtmlReport("saved");
            report.Section("s").Paragraph("body");
            report.Save(path);
            Assert.Equal(["report.html"], dir.GetFiles().Select(f => f.Name));
            var bytes = File.ReadAllBytes(path);
            Assert.NotEqual(0xEF, bytes[0]); // no BOM
            Assert.Equal(report.ToHtml(), System.Text.Encoding.UTF8.GetString(bytes));
            Assert.Throws<DirectoryNotFoundException>(() => report.Save(Path.Combine(dir.FullName, "missing", "r.html")));
            Assert.Equal(["report.html"], dir.GetFiles().Select(f => f.Name));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Style_holds_no_character_that_the_serialiser_would_escape()
    {
        Assert.DoesNotContain('<', ReportStyle.Css);
        Assert.DoesNotContain('>', ReportStyle.Css);
        Assert.DoesNotContain('&', ReportStyle.Css);
        Assert.Contains(ReportStyle.Css, new HtmlReport("t").ToHtml(), StringComparison.Ordinal);
    }

    [Fact]
    public void Long_callout_lists_are_cut_with_a_count()
    {
        var files = Enumerable.Range(0, 120).Select(i => $"bad_{i}.png").ToList();
        var report = new HtmlReport("t");
        report.Warning("120 files could not be read and were skipped.", files);
        var root = ReportXml.Parse(report.ToHtml());
        var items = root.Descendants("li").Select(l => l.Value).ToList();
        Assert.Equal(51, items.Count);
        Assert.Equal("... and 70 more", items[^1]);
    }
}
