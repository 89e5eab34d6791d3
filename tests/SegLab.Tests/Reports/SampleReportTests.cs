// Writes the sample report (to SEGLAB_REPORT_SAMPLE when set, else to a temporary folder removed afterwards) and
// checks the file: it parses, it embeds every image row, and rows of five thumbnails stay small (20 rows when
// written for a look, 4 in an ordinary test run, to keep the suite quick).
namespace SegLab.Tests.Reports;

public class SampleReportTests
{
    [Fact]
    public void Sample_report_is_written_and_stays_small()
    {
        var target = Environment.GetEnvironmentVariable("SEGLAB_REPORT_SAMPLE");
        var dir = target is null ? Directory.CreateTempSubdirectory("seglab-sample-").FullName : null;
        var path = target ?? Path.Combine(dir!, "sample.html");
        try
        {
            int rows = target is null ? 4 : 20;
            SampleReport.Build(imageRows: rows).Save(path);
            var html = File.ReadAllText(path);
            var root = ReportXml.Parse(html);
            Assert.Equal(rows + 1, ReportXml.Find(root, "div", "imagerow").Count); // the worst images and one heat-map row
            Assert.Equal(5 * rows + 3, root.Descendants("img").Count());
            Assert.True(html.Length < rows * 600_000, $"report of {html.Length} characters for {rows} rows of 5 thumbnails");
        }
        finally
        {
            if (dir is not null) Directory.Delete(dir, recursive: true);
        }
    }
}
