// Tests of the dataset layouts on small folders built in the test: CamVid, VOC and generic folders (images/ +
// labels/, STEM_image + STEM_target), automatic detection, ordering, decoded values, Limit and Shard.
using SegLab.Data;
using SegLab.Imaging;

namespace SegLab.Tests.Data;

public class DatasetLayoutTests
{
    internal static Image RgbImage(int w, int h, int seed)
    {
        var px = new byte[w * h * 3];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(seed * 40 + i * 11);
        return new Image(w, h, 3, px);
    }

    internal static Image GreyLabel(int w, int h, Func<int, int> value) => new(w, h, 1, [.. Enumerable.Range(0, w * h).Select(i => (byte)value(i))]);

    [Fact]
    public void CamVid_layout_pairs_by_name_sorted_and_decodes_planar_rgb_and_ids()
    {
        using var dir = new TempDir();
        foreach (var (name, seed) in new[] { ("c", 1), ("a", 2), ("b", 3) })
        {
            Png.Save(dir.File($"val/{name}.png"), RgbImage(5, 3, seed));
            Png.Save(dir.File($"valannot/{name}.png"), GreyLabel(5, 3, i => (i + seed) % 12));
        }
        var d = Datasets.Open(dir.Path, "val");
        Assert.Equal(("camvid", "val", 3), (d.Name, d.Split, d.Count));
        Assert.Same(ClassTable.CamVid, d.Classes);
        Assert.Equal(["a", "b", "c"], Enumerable.Range(0, 3).Select(d.Id));
        var s = d.Load(0);
        var source = RgbImage(5, 3, 2);
        Assert.Equal((5, 3), (s.Width, s.Height));
        // Planar: channel c of pixel i at c * 15 + i.
        for (int i = 0; i < 15; i++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(source.Pixels[i * 3 + c] / 255f, s.Image[c * 15 + i]);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (i + 2) % 12), s.Label!);
        Assert.Equal(new[] { 1, 3, 3, 5 }, s.ImageTensor().Shape.ToArray());
    }

    [Fact]
    public void Voc_layout_keeps_palette_indices_as_ids_in_list_order()
    {
        using var dir = new TempDir();
        var root = Path.Combine(dir.Path, "VOCdevkit", "VOC2012");
        var palette = new byte[256 * 3];
        foreach (var id in new[] { "2007_000002", "2007_000001" })
        {
            File.WriteAllBytes(dir.File($"VOCdevkit/VOC2012/JPEGImages/{id}.jpg"), Jpeg.Encode(RgbImage(4, 2, 1)));
            Png.Save(dir.File($"VOCdevkit/VOC2012/SegmentationClass/{id}.png"), new Image(4, 2, 1, [0, 15, 255, 20, 1, 1, 255, 0], palette: palette));
        }
        File.WriteAllText(dir.File("VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt"), "2007_000002\n\n2007_000001\n");
        var d = Datasets.Open(dir.Path, "val");
        Assert.Equal(("voc", root, 2), (d.Name, d.Root, d.Count));
        Assert.Equal("2007_000002", d.Id(0));
        Assert.Equal(new[] { 0, 15, 255, 20, 1, 1, 255, 0 }, d.Load(1).Label!);
        var e = Assert.Throws<DatasetException>(() => Datasets.Open(dir.Path, "train"));
        Assert.Contains("train.txt", e.Message);
        Assert.Contains("splits present: val", e.Message);
    }

    [Fact]
    public void Folder_layout_with_images_and_labels_subfolders_and_classes_json()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("classes.json"), """{ "name": "toy", "ignoreIndex": 255, "classes": [ { "name": "bg", "color": [0,0,0] }, { "name": "fg", "color": [255,0,0] } ] }""");
        foreach (var split in new[] { "train", "val" })
            foreach (var stem in new[] { "x2", "x1" })
            {
                Png.Save(dir.File($"{split}/images/{stem}.png"), RgbImage(3, 2, 4));
                Pnm.Save(dir.File($"{split}/labels/{stem}.pgm"), GreyLabel(3, 2, i => i == 5 ? 255 : i % 2));
            }
        var d = Datasets.Open(dir.Path, "train");
        Assert.Equal((Path.GetFileName(dir.Path), "train", "toy", 2), (d.Name, d.Split, d.Classes.Name, d.Count));
        Assert.Equal(["x1", "x2"], [d.Id(0), d.Id(1)]);
        Assert.Equal(new[] { 0, 1, 0, 1, 0, 255 }, d.Load(0).Label!);
    }

    [Fact]
    public void Folder_layout_with_image_target_pairs_decodes_colour_masks_by_the_table()
    {
        using var dir = new TempDir();
        var voc = ClassTable.Voc;
        // person (192,128,128) = 15, void (224,224,192) = 255, background = 0
        var mask = new Image(3, 1, 3, [192, 128, 128, 224, 224, 192, 0, 0, 0]);
        foreach (var stem in new[] { "10", "2" })
        {
            Png.Save(dir.File($"{stem}_image.png"), RgbImage(3, 1, 0));
            Png.Save(dir.File($"{stem}_target.png"), mask);
        }
        var d = Datasets.Open(dir.Path, "all", classesJson: "voc");
        Assert.Same(voc, d.Classes);
        Assert.Equal(["10", "2"], [d.Id(0), d.Id(1)]);
        Assert.Equal(new[] { 15, 255, 0 }, d.Load(1).Label!);
    }

    [Fact]
    public void Folder_split_list_selects_ids_and_limit_and_shard_make_views()
    {
        using var dir = new TempDir();
        for (int i = 0; i < 5; i++)
        {
            Png.Save(dir.File($"{i}_image.png"), RgbImage(2, 2, i));
            Png.Save(dir.File($"{i}_target.png"), GreyLabel(2, 2, _ => i % 11));
        }
        File.WriteAllText(dir.File("val.txt"), "3\n1\n4\n");
        var val = Datasets.Open(dir.Path, "val", "folder", "camvid");
        Assert.Equal(["1", "3", "4"], Enumerable.Range(0, val.Count).Select(val.Id));
        var all = Datasets.Open(dir.Path, "all", "folder", "camvid");
        Assert.Equal(5, all.Count);
        Assert.Equal(["0", "1"], Enumerable.Range(0, 2).Select(Datasets.Limit(all, 2).Id));
        Assert.Same(all, Datasets.Limit(all, 9));
        var shard = Datasets.Shard(all, 1, 2);
        Assert.Equal(["1", "3"], Enumerable.Range(0, shard.Count).Select(shard.Id));
        Assert.Equal(3, shard.Load(1).Label![0]);
        Assert.Throws<ArgumentException>(() => Datasets.Shard(all, 2, 2));
        File.WriteAllText(dir.File("test.txt"), "7\n");
        Assert.Contains("names '7'", Assert.Throws<DatasetException>(() => Datasets.Open(dir.Path, "test", "folder", "camvid")).Message);
    }
}
