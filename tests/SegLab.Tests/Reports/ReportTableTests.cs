// Tests of report tables: numeric cells right-aligned in their column's invariant format, per-cell overrides,
// NaN as "n/a", the 0-100 colour scale, summary rows, and rows that do not fit the columns.
using SegLab.Reports;

namespace SegLab.Tests.Reports;

public class ReportTableTests
{
    private static List<List<System.Xml.Linq.XElement>> Cells(ReportTable table) =>
        table.Render().Descendants("tbody").Single().Elements("tr").Select(r => r.Elements("td").ToList()).ToList();

    [Fact]
    public void Numbers_are_formatted_and_right_aligned_text_is_not()
    {
        var table = new ReportTable("IoU").Column("class").Column("IoU", "F1").Column("pixels", "N0").Column("free");
        table.Row("road", 93.25f, 1234567, 0.12345).Row("sky", 7, 12, "text");
        var cells = Cells(table);
        Assert.Equal(["road", "93.2", "1,234,567", "0.123"], cells[0].Select(c => c.Value));
        Assert.Equal(["sky", "7.0", "12", "text"], cells[1].Select(c => c.Value));
        Assert.Null(cells[0][0].Attribute("class"));
        Assert.Equal("num", (string?)cells[0][1].Attribute("class"));
        Assert.Equal("num", (string?)cells[0][3].Attribute("class"));
        Assert.Null(cells[1][3].Attribute("class"));
        var headers = table.Render().Descendants("th").Select(h => (string?)h.Attribute("class")).ToList();
        Assert.Equal([null, "num", "num", null], headers);
        Assert.Equal("IoU", table.Render().Descendants("caption").Single().Value);
    }

    [Fact]
    public void Cells_can_override_format_and_scale_and_NaN_shows_na()
    {
        var table = new ReportTable().Column("a", "F1").Column("b", "F1", colourScale: true);
        table.Row(TableCell.Number(1.23456, "F3", colourScale: true), TableCell.Number(50, colourScale: false));
        table.Row(double.NaN, 100.0);
        table.SummaryRow(new TableCell("mean"), 0.0);
        var cells = Cells(table);
        Assert.Equal("1.235", cells[0][0].Value);
        Assert.Equal("background:" + ReportTable.ScaleColour(1.23456), (string?)cells[0][0].Attribute("style"));
        Assert.Null(cells[0][1].Attribute("style"));
        Assert.Equal("n/a", cells[1][0].Value);
        Assert.Null(cells[1][0].Attribute("style"));
        Assert.Equal("background:" + ReportTable.ScaleColour(100), (string?)cells[1][1].Attribute("style"));
        var summary = table.Render().Descendants("tr").Last();
        Assert.Equal("summary", (string?)summary.Attribute("class"));
        Assert.Equal("mean", summary.Elements("td").First().Value);
    }

    [Fact]
    public void Colour_scale_runs_from_red_through_amber_to_green_and_clamps()
    {
        Assert.Equal("#f4c7c3", ReportTable.ScaleColour(0));
        Assert.Equal("#fce8b2", ReportTable.ScaleColour(50));
        Assert.Equal("#b7e1cd", ReportTable.ScaleColour(100));
        Assert.Equal(ReportTable.ScaleColour(0), ReportTable.ScaleColour(-20));
        Assert.Equal(ReportTable.ScaleColour(100), ReportTable.ScaleColour(140));
        Assert.NotEqual(ReportTable.ScaleColour(25), ReportTable.ScaleColour(75));
    }

    [Fact]
    public void Malformed_tables_are_refused()
    {
        var table = new ReportTable().Column("a").Column("b", "F1");
        Assert.Throws<ArgumentException>(() => table.Row("only one"));
        table.Row("x", 1);
        Assert.Throws<InvalidOperationException>(() => table.Column("late"));
        Assert.Throws<InvalidOperationException>(() => new ReportTable().Render());
    }
}
