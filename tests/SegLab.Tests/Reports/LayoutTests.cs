// Tests of the small layout elements: headline tiles (value, label, note, 0-100 tint, NaN as "n/a") and the
// side-by-side row.
using SegLab.Reports;

namespace SegLab.Tests.Reports;

public class LayoutTests
{
    [Fact]
    public void Headline_tiles_show_value_label_and_note()
    {
        var tiles = new Headline().Add("clean mIoU", 65.345, note: "233 images", colourScale: true).Add("robust", double.NaN, colourScale: true).Add("images", "233")
            .Render().Elements("div").ToList();
        Assert.Equal(3, tiles.Count);
        Assert.Equal(["65.3", "clean mIoU", "233 images"], tiles[0].Elements("div").Select(d => d.Value));
        Assert.Equal("background:" + ReportTable.ScaleColour(65.345), (string?)tiles[0].Attribute("style"));
        Assert.Equal("n/a", tiles[1].Elements("div").First().Value);
        Assert.Null(tiles[1].Attribute("style"));
    }

    [Fact]
    public void Side_by_side_wraps_each_element()
    {
        var row = new SideBySide(new BarChart().Add("a", 1), new ReportTable().Column("x").Row("y")).Render();
        Assert.Equal(2, row.Elements("div").Count());
        Assert.Single(row.Descendants("svg"));
        Assert.Single(row.Descendants("table"));
    }
}
