// Tests of class tables: the built-in CamVid and VOC tables against the published colours, classes.json read and
// written back, and every schema mistake reported as a DatasetException naming the file and the JSON path.
using SegLab.Data;

namespace SegLab.Tests.Data;

public class ClassTableTests
{
    [Fact]
    public void CamVid_has_eleven_classes_with_the_readme_colours_and_void_11()
    {
        var t = ClassTable.CamVid;
        Assert.Equal((11, 11, "camvid"), (t.Count, t.IgnoreIndex, t.Name));
        Assert.Equal(["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist"], t.Names);
        t.Names[0] = "changed";
        Assert.Equal("Sky", t.Names[0]); // a copy: the shared built-in table cannot be altered
        Assert.Equal((60, 40, 222), (t.Classes[4].R, t.Classes[4].G, t.Classes[4].B));
        Assert.Equal((0, 128, 192), (t.Classes[10].R, t.Classes[10].G, t.Classes[10].B));
        var palette = t.PaletteRgb();
        Assert.Equal(33, palette.Length);
        Assert.Equal(new byte[] { 128, 64, 128 }, palette[9..12]);
        Assert.True(t.IsValidLabel(11));
        Assert.False(t.IsValidLabel(12));
        Assert.False(t.IsValidLabel(-1));
    }

    [Fact]
    public void Voc_has_the_standard_palette_and_void_255()
    {
        var t = ClassTable.Voc;
        Assert.Equal((21, 255), (t.Count, t.IgnoreIndex));
        // Published VOC colours of a few classes.
        var expected = new Dictionary<int, (byte, byte, byte)> { [0] = (0, 0, 0), [1] = (128, 0, 0), [7] = (128, 128, 128), [15] = (192, 128, 128), [20] = (0, 64, 128) };
        foreach (var (id, rgb) in expected) Assert.Equal(rgb, (t.Classes[id].R, t.Classes[id].G, t.Classes[id].B));
        Assert.Equal("person", t.Names[15]);
        Assert.True(t.TryColourToId(224, 224, 192, out int v) && v == 255);
        Assert.True(t.TryColourToId(192, 128, 128, out int p) && p == 15);
        Assert.False(t.TryColourToId(1, 2, 3, out _));
        Assert.Same(ClassTable.Voc, ClassTable.Resolve("VOC"));
        Assert.Same(ClassTable.CamVid, ClassTable.Resolve("camvid"));
    }

    [Fact]
    public void Json_is_read_with_hex_colours_colour_map_and_void_colours()
    {
        using var dir = new TempDir();
        var path = dir.File("streets/classes.json");
        File.WriteAllText(path, """
            { // comments are allowed
              "ignoreIndex": 9,
              "classes": [ { "name": "road", "color": [128, 64, 128] }, { "id": 1, "name": "car", "color": "#00008e" } ],
              "colorMap": [ { "color": [1, 1, 1], "id": 0 }, { "color": "#020202", "id": 1 } ],
              "voidColors": [ [255, 255, 255] ]
            }
            """);
        var t = ClassTable.Load(path);
        Assert.Equal(("streets", 2, 9), (t.Name, t.Count, t.IgnoreIndex));
        Assert.Equal((0, 0, 142), (t.Classes[1].R, t.Classes[1].G, t.Classes[1].B));
        Assert.True(t.TryColourToId(2, 2, 2, out int car) && car == 1);
        Assert.True(t.TryColourToId(255, 255, 255, out int v) && v == 9);
        Assert.False(t.TryColourToId(128, 64, 128, out _)); // an explicit map replaces the display colours
    }

    [Theory]
    [InlineData("camvid")]
    [InlineData("voc")]
    [InlineData("custom")]
    public void Json_written_reads_back_to_the_same_table(string which)
    {
        var table = which switch
        {
            "camvid" => ClassTable.CamVid,
            "voc" => ClassTable.Voc,
            _ => new ClassTable("custom", [new(0, "a \"quoted\" name", 1, 2, 3), new(1, "b", 4, 5, 6)], 7, [(9, 9, 9, 0), (8, 8, 8, 1), (7, 7, 7, 7)]),
        };
        var back = ClassTableJson.Parse(table.ToJson(), "mem.json");
        Assert.Equal(table.Name, back.Name);
        Assert.Equal(table.IgnoreIndex, back.IgnoreIndex);
        Assert.Equal(table.Classes, back.Classes);
        Assert.Equal(table.ColourToId.OrderBy(kv => kv.Key), back.ColourToId.OrderBy(kv => kv.Key));
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("[]", "$: expected an object")]
    [InlineData("{\"classes\": []}", "$.classes: required")]
    [InlineData("{\"classes\": [{\"name\": \"a\", \"color\": [1,2,3]}], \"colour\": 1}", "$.colour: unknown key")]
    [InlineData("{\"classes\": [{\"name\": \"a\", \"colour\": [1,2,3]}]}", "$.classes[0].colour: unknown key")]
    [InlineData("{\"classes\": [{\"name\": \"a\"}]}", "$.classes[0]: missing \"color\"")]
    [InlineData("{\"classes\": [{\"name\": \"a\", \"color\": [1,2,300]}]}", "$.classes[0].color[2]: expected an integer in 0..255")]
    [InlineData("{\"classes\": [{\"name\": \"a\", \"color\": \"#12345\"}]}", "$.classes[0].color: expected a colour")]
    [InlineData("{\"classes\": [{\"id\": 3, \"name\": \"a\", \"color\": [1,2,3]}]}", "$.classes[0].id: is 3 but the entry is at position 0")]
    [InlineData("{\"classes\": [{\"name\": \"a\", \"color\": [1,2,3]}, {\"name\": \"a\", \"color\": [4,5,6]}]}", "the name 'a' is used twice")]
    [InlineData("{\"ignoreIndex\": 1, \"classes\": [{\"name\": \"a\", \"color\": [1,2,3]}, {\"name\": \"b\", \"color\": [4,5,6]}]}", "ignore id 1 must lie in 2..65535")]
    [InlineData("{\"classes\": [{\"name\": \"a\", \"color\": [1,2,3]}, {\"name\": \"b\", \"color\": [1,2,3]}]}", "colour (1,2,3) maps to both class 0 and class 1")]
    [InlineData("{\"classes\": [{\"name\": \"a\", \"color\": [1,2,3]}], \"colorMap\": [{\"color\": [0,0,0], \"id\": 5}]}", "maps to 5, neither a class nor the ignore id 255")]
    public void Schema_mistakes_name_the_file_and_the_json_path(string json, string problem)
    {
        using var dir = new TempDir();
        var path = dir.File("classes.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<DatasetException>(() => ClassTable.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void A_missing_file_or_unknown_name_says_what_to_give()
    {
        var e = Assert.Throws<DatasetException>(() => ClassTable.Resolve("/nowhere/classes.json"));
        Assert.Contains("/nowhere/classes.json", e.Message);
        Assert.Contains("built-in name", e.Message);
    }
}
