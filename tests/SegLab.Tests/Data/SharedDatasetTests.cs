// Tests on the real data of the shared folder (reported as skipped when it is absent): CamVid val
// (101 samples of 480x360, labels 0..11) and the VOC samples (colour-coded targets read with the built-in VOC table),
// each checked against an independent decode of the files. Only a few samples are decoded, to stay quick.
using SegLab.Data;
using SegLab.Imaging;
using Xunit.Abstractions;

namespace SegLab.Tests.Data;

public class SharedDatasetTests(ITestOutputHelper output)
{
    private static string Folder(string relative)
    {
        var dir = Path.Combine(TestPaths.RequireShared(relative), relative);
        return Directory.Exists(dir) ? dir : throw new DirectoryNotFoundException($"the shared data folder has no {relative}");
    }

    [SkippableFact]
    public void CamVid_val_has_101_samples_of_480x360_with_labels_0_to_11()
    {
        var dir = Folder("data/camvid");
        var d = Datasets.Open(dir, "val");
        Assert.Equal(("camvid", 101), (d.Name, d.Count));
        var names = Directory.GetFiles(Path.Combine(dir, "val"), "*.png").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(names, Enumerable.Range(0, d.Count).Select(d.Id));
        foreach (int index in new[] { 0, 57 })
        {
            var s = d.Load(index);
            Assert.Equal((480, 360), (s.Width, s.Height));
            Assert.InRange(s.Label!.Min(), 0, 11);
            Assert.InRange(s.Label!.Max(), 0, 11);
            // Independent decode of the same files.
            var image = Png.Load(Path.Combine(dir, "val", d.Id(index) + ".png"));
            var label = Png.Load(Path.Combine(dir, "valannot", d.Id(index) + ".png"));
            Assert.Equal(label.Pixels.Select(b => (int)b).ToArray(), s.Label!);
            foreach (var (x, y) in new[] { (0, 0), (479, 359), (240, 180), (13, 301) })
                for (int c = 0; c < 3; c++)
                    Assert.Equal(image[x, y, c] / 255f, s.Image[(c * 360 + y) * 480 + x]);
        }
    }

    [SkippableFact]
    public void Voc_samples_load_by_colour_with_void_255()
    {
        var dir = Folder("data/voc-samples");
        var d = Datasets.Open(dir, "all", classesJson: "voc");
        Assert.Equal(14, d.Count);
        Assert.Equal(Directory.GetFiles(dir, "*_image.png").Select(f => Path.GetFileName(f)[..^"_image.png".Length]).Order(StringComparer.Ordinal),
            Enumerable.Range(0, d.Count).Select(d.Id));
        // The VOC colours of the classes these samples contain, written out here rather than taken from ClassTable.
        var colours = new Dictionary<(byte, byte, byte), int>
        {
            [(0, 0, 0)] = 0, [(128, 0, 0)] = 1, [(0, 128, 0)] = 2, [(128, 128, 0)] = 3, [(128, 0, 128)] = 5, [(0, 128, 128)] = 6,
            [(128, 128, 128)] = 7, [(64, 128, 0)] = 10, [(192, 0, 128)] = 13, [(64, 128, 128)] = 14, [(192, 128, 128)] = 15,
            [(128, 64, 0)] = 17, [(224, 224, 192)] = 255,
        };
        var seen = new HashSet<int>();
        foreach (int index in new[] { 0, 5, 13 })
        {
            var s = d.Load(index);
            var target = Png.Load(Path.Combine(dir, d.Id(index) + "_target.png")).ExpandPalette(withAlpha: false);
            Assert.Equal((target.Width, target.Height), (s.Width, s.Height));
            int matched = 0;
            string? firstMismatch = null;
            for (int y = 0; y < target.Height; y++)
                for (int x = 0; x < target.Width; x++)
                    if (colours.TryGetValue((target[x, y, 0], target[x, y, 1], target[x, y, 2]), out int id))
                    {
                        if (id != s.Label![y * s.Width + x]) firstMismatch ??= $"pixel ({x},{y}): expected {id}, got {s.Label[y * s.Width + x]}";
                        matched++;
                    }
            Assert.Null(firstMismatch);
            output.WriteLine($"{d.Id(index)}: {s.Width}x{s.Height}, {matched} of {s.Width * s.Height} pixels checked, ids {string.Join(",", s.Label!.Distinct().Order())}");
            Assert.True(matched > s.Width * s.Height / 2);
            Assert.DoesNotContain(s.Label!, v => v is < 0 or (> 20 and not 255));
            seen.UnionWith(s.Label!);
        }
        Assert.Contains(255, seen);
        Assert.Contains(0, seen);
    }
}
