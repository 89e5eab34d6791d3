// Every bad dataset input is a DatasetException naming the file and the problem: missing folder, empty split, image
// without label and label without image, sizes that differ, label values outside the table, unknown mask colours,
// undecodable images, a folder without classes.json.
using SegLab.Data;
using SegLab.Imaging;
using static SegLab.Tests.Data.DatasetLayoutTests;

namespace SegLab.Tests.Data;

public class DatasetErrorTests
{
    private static DatasetException Fails(Func<object> action, params string[] parts)
    {
        var e = Assert.Throws<DatasetException>(action);
        foreach (var part in parts) Assert.Contains(part, e.Message);
        return e;
    }

    [Fact]
    public void Missing_folder_and_missing_split()
    {
        Fails(() => Datasets.Open("/no/such/folder", "val"), "/no/such/folder", "does not exist");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("val/x"));
        Fails(() => Datasets.Open(dir.Path, "val", "camvid"), Path.Combine(dir.Path, "valannot"), "does not exist");
        Fails(() => Datasets.Open(dir.Path, "train", "camvid"), Path.Combine(dir.Path, "train"));
        Directory.CreateDirectory(dir.File("valannot/x"));
        Fails(() => Datasets.Open(dir.Path, "vall"), Path.Combine(dir.Path, "vall"), "does not exist (splits present: val)");
        Fails(() => Datasets.Open(dir.Path, "val", "voc"), "no JPEGImages");
        Assert.Throws<ArgumentException>(() => Datasets.Open(dir.Path, "val", "coco"));
    }

    [Fact]
    public void Empty_split_and_missing_classes_json()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("val/y"));
        Directory.CreateDirectory(dir.File("valannot/y"));
        Fails(() => Datasets.Open(dir.Path, "val"), "no images in", Path.Combine(dir.Path, "val"));
        Fails(() => Datasets.Open(dir.Path, "all", "folder"), "no classes.json");
        Fails(() => Datasets.Open(dir.Path, "all", "folder", "camvid"), "is empty");
    }

    [Fact]
    public void Image_without_label_and_label_without_image()
    {
        using var dir = new TempDir();
        Png.Save(dir.File("val/a.png"), RgbImage(2, 2, 0));
        Directory.CreateDirectory(dir.File("valannot/z"));
        var e = Fails(() => Datasets.Open(dir.Path, "val"), dir.File("val/a.png"), "has no label", dir.File("valannot/a.png"));
        Assert.Equal(dir.File("val/a.png"), e.FilePath);

        Png.Save(dir.File("flat/1_image.png"), RgbImage(2, 2, 0));
        Fails(() => Datasets.Open(dir.File("flat"), "all", "folder", "camvid"), dir.File("flat/1_image.png"), "has no label", "1_target.png");
        File.Move(dir.File("flat/1_image.png"), dir.File("flat/1_target.png"));
        Fails(() => Datasets.Open(dir.File("flat"), "all", "folder", "camvid"), dir.File("flat/1_target.png"), "has no image");

        Png.Save(dir.File("sub/images/p.png"), RgbImage(2, 2, 0));
        Png.Save(dir.File("sub/labels/q.png"), GreyLabel(2, 2, _ => 0));
        Fails(() => Datasets.Open(dir.File("sub"), "all", "folder", "camvid"), dir.File("sub/images/p.png"), "has no label");
        Png.Save(dir.File("sub/labels/p.png"), GreyLabel(2, 2, _ => 0));
        Fails(() => Datasets.Open(dir.File("sub"), "all", "folder", "camvid"), dir.File("sub/labels/q.png"), "has no image");
    }

    [Fact]
    public void Label_of_another_size_names_both_files_and_sizes()
    {
        using var dir = new TempDir();
        Png.Save(dir.File("val/a.png"), RgbImage(5, 3, 0));
        Png.Save(dir.File("valannot/a.png"), GreyLabel(4, 3, _ => 0));
        var d = Datasets.Open(dir.Path, "val");
        var e = Fails(() => d.Load(0), dir.File("valannot/a.png"), "4x3", dir.File("val/a.png"), "5x3");
        Assert.Equal(dir.File("valannot/a.png"), e.FilePath);
    }

    [Fact]
    public void Label_value_outside_the_table_names_file_value_and_pixel()
    {
        using var dir = new TempDir();
        Png.Save(dir.File("val/a.png"), RgbImage(4, 3, 0));
        Png.Save(dir.File("valannot/a.png"), GreyLabel(4, 3, i => i == 9 ? 40 : 11));
        var d = Datasets.Open(dir.Path, "val");
        // pixel 9 of a 4-wide image is x = 1, y = 2
        Fails(() => d.Load(0), dir.File("valannot/a.png"), "value 40", "pixel (1,2)", "ignore id 11");
    }

    [Fact]
    public void Unknown_mask_colour_names_file_colour_and_pixel()
    {
        using var dir = new TempDir();
        Png.Save(dir.File("0_image.png"), RgbImage(2, 2, 0));
        Png.Save(dir.File("0_target.png"), new Image(2, 2, 3, [0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 8, 7]));
        var d = Datasets.Open(dir.Path, "all", classesJson: "voc");
        Fails(() => d.Load(0), dir.File("0_target.png"), "colour (9,8,7)", "pixel (1,1)");
    }

    [Fact]
    public void Undecodable_image_names_the_file_and_keeps_the_codec_error()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("val/a.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2]);
        Png.Save(dir.File("valannot/a.png"), GreyLabel(2, 2, _ => 0));
        var d = Datasets.Open(dir.Path, "val");
        var e = Fails(() => d.Load(0), "Cannot decode image", dir.File("val/a.png"));
        Assert.IsType<PngException>(e.InnerException);
        Assert.Equal(dir.File("val/a.png"), e.FilePath);
    }
}
