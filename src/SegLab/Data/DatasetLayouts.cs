// How files on disk become (id, image, label) lists: the CamVid layout (SegNet's copy), the PASCAL VOC 2012 layout,
// and a generic folder layout (images/ + labels/ with equal stems, or STEM_image + STEM_target files in one folder),
// with layout detection. Every problem is a DatasetException naming the folder or file.
namespace SegLab.Data;

/// <summary>Lists and pairs the files of the supported dataset layouts.</summary>
internal static class DatasetLayouts
{
    private static readonly string[] LabelFolders = ["labels", "masks", "annotations", "targets"];
    private static readonly string[] ImageSuffixes = ["_image", "_img"];
    private static readonly string[] LabelSuffixes = ["_target", "_label", "_mask"];

    /// <summary>The layout that fits <paramref name="dir"/>: voc, then camvid, else folder.</summary>
    public static string Detect(string dir, string split)
    {
        if (VocRoot(dir) is not null) return "voc";
        if (Directory.Exists(Path.Combine(dir, split)) && Directory.Exists(Path.Combine(dir, split + "annot"))) return "camvid";
        // Another split in the CamVid layout: camvid, so that the error names the splits present.
        return CamVidSplits(dir).Count > 0 && !Directory.Exists(Path.Combine(dir, "images")) ? "camvid" : "folder";
    }

    /// <summary>The names X with folders DIR/X and DIR/Xannot.</summary>
    private static List<string> CamVidSplits(string dir) =>
        [.. Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>()
            .Where(n => !n.EndsWith("annot", StringComparison.Ordinal) && Directory.Exists(Path.Combine(dir, n + "annot")))
            .Order(StringComparer.Ordinal)];

    /// <summary>DIR/SPLIT/*.png with labels of the same name in DIR/SPLITannot, sorted by name.</summary>
    public static FileListDataset CamVid(string dir, string split, ClassTable classes)
    {
        string images = Path.Combine(dir, split), labels = Path.Combine(dir, split + "annot");
        if (!Directory.Exists(images)) throw new DatasetException($"CamVid split '{split}': folder {images} does not exist (splits present: {string.Join(", ", CamVidSplits(dir))}).", images);
        if (!Directory.Exists(labels)) throw new DatasetException($"CamVid split '{split}': label folder {labels} does not exist.", labels);
        var files = new List<(string, string, string?)>();
        foreach (var image in ImageFiles(images))
        {
            var label = Path.Combine(labels, Path.GetFileName(image));
            if (!File.Exists(label)) label = Path.Combine(labels, Path.GetFileNameWithoutExtension(image) + ".png");
            if (!File.Exists(label)) throw new DatasetException($"Image {image} has no label (expected {label}).", image);
            files.Add((Path.GetFileNameWithoutExtension(image), image, label));
        }
        if (files.Count == 0) throw new DatasetException($"CamVid split '{split}': no images in {images}.", images);
        return new FileListDataset("camvid", dir, split, classes, files);
    }

    /// <summary>The VOC root under <paramref name="dir"/> (itself, VOC2012/ or VOCdevkit/VOC2012/), or null.</summary>
    public static string? VocRoot(string dir)
    {
        foreach (var root in new[] { dir, Path.Combine(dir, "VOC2012"), Path.Combine(dir, "VOCdevkit", "VOC2012") })
            if (Directory.Exists(Path.Combine(root, "JPEGImages")) && Directory.Exists(Path.Combine(root, "ImageSets", "Segmentation")))
                return root;
        return null;
    }

    /// <summary>The ids of ImageSets/Segmentation/SPLIT.txt, in file order; JPEGImages/ID.jpg with SegmentationClass/ID.png.</summary>
    public static FileListDataset Voc(string dir, string split, ClassTable classes)
    {
        var root = VocRoot(dir) ?? throw new DatasetException($"VOC dataset {dir}: no JPEGImages and ImageSets/Segmentation folders (also looked in VOC2012/ and VOCdevkit/VOC2012/).", dir);
        var sets = Path.Combine(root, "ImageSets", "Segmentation");
        var list = Path.Combine(sets, split + ".txt");
        if (!File.Exists(list))
        {
            var known = Directory.EnumerateFiles(sets, "*.txt").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal);
            throw new DatasetException($"VOC split '{split}': list {list} does not exist (splits present: {string.Join(", ", known)}).", list);
        }
        var files = new List<(string, string, string?)>();
        foreach (var line in File.ReadLines(list))
        {
            var id = line.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (id is null) continue;
            var image = Path.Combine(root, "JPEGImages", id + ".jpg");
            var label = Path.Combine(root, "SegmentationClass", id + ".png");
            if (!File.Exists(image)) throw new DatasetException($"VOC split '{split}': image {image} listed in {list} does not exist.", image);
            if (!File.Exists(label)) throw new DatasetException($"Image {image} has no label (expected {label}).", image);
            files.Add((id, image, label));
        }
        if (files.Count == 0) throw new DatasetException($"VOC split '{split}': {list} lists no images.", list);
        return new FileListDataset("voc", root, split, classes, files);
    }

    /// <summary>
    /// A generic folder. The split's folder is DIR/SPLIT when it exists; else DIR filtered by the ids of DIR/SPLIT.txt
    /// when that exists; else DIR itself. In that folder, images/ pairs with labels/ (or masks/, annotations/, targets/)
    /// by equal stems; without images/, files STEM_image.EXT pair with STEM_target.EXT (or _label, _mask). The
    /// class table is <paramref name="classes"/>, else classes.json in the split's folder or in DIR.
    /// </summary>
    public static FileListDataset Folder(string dir, string split, ClassTable? classes)
    {
        string root = Path.Combine(dir, split);
        HashSet<string>? listed = null;
        string? list = null;
        if (!Directory.Exists(root))
        {
            root = dir;
            list = Path.Combine(dir, split + ".txt");
            if (File.Exists(list)) listed = [.. File.ReadLines(list).Select(l => l.Trim()).Where(l => l.Length > 0)];
        }
        classes ??= FindClasses(root, dir);
        var pairs = Directory.Exists(Path.Combine(root, "images")) ? SubfolderPairs(root) : SuffixPairs(root);
        if (listed is not null)
        {
            var missing = listed.Except(pairs.Select(p => p.Id)).Order(StringComparer.Ordinal).FirstOrDefault();
            if (missing is not null) throw new DatasetException($"Split list {list} names '{missing}', which has no image in {root}.", list);
            pairs = [.. pairs.Where(p => listed.Contains(p.Id))];
        }
        if (pairs.Count == 0) throw new DatasetException($"Split '{split}' of {dir} is empty.", root);
        return new FileListDataset(Path.GetFileName(dir), dir, split, classes, pairs);
    }

    private static ClassTable FindClasses(string root, string dir)
    {
        foreach (var candidate in new[] { Path.Combine(root, "classes.json"), Path.Combine(dir, "classes.json") })
            if (File.Exists(candidate)) return ClassTable.Load(candidate);
        throw new DatasetException($"Folder dataset {dir}: no classes.json (looked in {root} and {dir}); give one, or a built-in table name (camvid, voc).", dir);
    }

    private static List<(string Id, string Image, string? Label)> SubfolderPairs(string root)
    {
        string images = Path.Combine(root, "images");
        var labelDir = LabelFolders.Select(f => Path.Combine(root, f)).FirstOrDefault(Directory.Exists)
            ?? throw new DatasetException($"Folder {images} has no label folder beside it (expected one of {string.Join(", ", LabelFolders)}).", images);
        var labels = ByStem(ImageFiles(labelDir), labelDir);
        var pairs = new List<(string, string, string?)>();
        foreach (var image in ImageFiles(images))
        {
            var stem = Path.GetFileNameWithoutExtension(image);
            if (!labels.Remove(stem, out var label)) throw new DatasetException($"Image {image} has no label in {labelDir} (expected {Path.Combine(labelDir, stem)}.png).", image);
            pairs.Add((stem, image, label));
        }
        if (labels.Count > 0)
        {
            var orphan = labels.Values.Order(StringComparer.Ordinal).First();
            throw new DatasetException($"Label {orphan} has no image in {images}.", orphan);
        }
        return pairs;
    }

    private static List<(string Id, string Image, string? Label)> SuffixPairs(string root)
    {
        var all = ImageFiles(root);
        var images = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in all)
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (Suffixed(name, ImageSuffixes) is { } imageStem) images[imageStem] = file;
            else if (Suffixed(name, LabelSuffixes) is { } labelStem) labels[labelStem] = file;
        }
        var pairs = new List<(string, string, string?)>();
        foreach (var (stem, image) in images)
        {
            if (!labels.Remove(stem, out var label))
                throw new DatasetException($"Image {image} has no label (expected {Path.Combine(root, stem)}{LabelSuffixes[0]}.png).", image);
            pairs.Add((stem, image, label));
        }
        if (labels.Count > 0)
        {
            var (stem, orphan) = labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).First();
            throw new DatasetException($"Label {orphan} has no image (expected {Path.Combine(root, stem)}{ImageSuffixes[0]}.png or .jpg).", orphan);
        }
        if (pairs.Count == 0 && all.Count > 0)
            throw new DatasetException($"Folder {root}: {all.Count} image files but no images/ + labels/ folders and no STEM_image + STEM_target pairs.", root);
        return pairs;
    }

    private static string? Suffixed(string name, string[] suffixes)
    {
        foreach (var s in suffixes)
            if (name.Length > s.Length && name.EndsWith(s, StringComparison.Ordinal)) return name[..^s.Length];
        return null;
    }

    private static Dictionary<string, string> ByStem(List<string> files, string dir)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            var stem = Path.GetFileNameWithoutExtension(f);
            if (!map.TryAdd(stem, f)) throw new DatasetException($"Folder {dir}: two files share the stem '{stem}' ({map[stem]}, {f}).", f);
        }
        return map;
    }

    /// <summary>The image files of a folder (by extension), sorted by name (ordinal).</summary>
    private static List<string> ImageFiles(string dir) =>
        [.. Directory.EnumerateFiles(dir)
            .Where(f => Imaging.ImageIO.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)];
}
