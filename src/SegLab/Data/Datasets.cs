// Opening datasets by folder and layout ("camvid", "voc", "folder" or "auto"), and views of them (first n samples,
// one shard of k). The layouts and their pairing rules are in DatasetLayouts and docs/data.md.
namespace SegLab.Data;

/// <summary>Opens datasets and makes subsets of them.</summary>
public static class Datasets
{
    /// <summary>The layout names <see cref="Open"/> accepts.</summary>
    public static IReadOnlyList<string> Layouts { get; } = ["auto", "camvid", "voc", "folder"];

    /// <summary>
    /// Opens one split of a dataset folder. Layouts: "camvid" (DIR/SPLIT/*.png + DIR/SPLITannot/*.png),
    /// "voc" (JPEGImages, SegmentationClass, ImageSets/Segmentation/SPLIT.txt), "folder" (images/ + labels/ or
    /// STEM_image + STEM_target files, with a classes.json), or "auto", which picks the first that fits in that order
    /// (voc, camvid, folder). Files are listed and paired now; pixels are decoded by <see cref="ISegmentationDataset.Load"/>.
    /// </summary>
    /// <param name="dir">The dataset folder.</param>
    /// <param name="split">The split, e.g. "train" or "val" ("all" for a folder dataset without splits).</param>
    /// <param name="layout">"auto", "camvid", "voc" or "folder".</param>
    /// <param name="classesJson">A classes.json path or a built-in table name ("camvid", "voc"); null: the layout's
    /// own table (CamVid, VOC, or DIR/classes.json for folders).</param>
    /// <exception cref="DatasetException">The folder, split or a file is missing, the split is empty, or files do not pair.</exception>
    public static ISegmentationDataset Open(string dir, string split, string layout = "auto", string? classesJson = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(layout);
        if (!Directory.Exists(dir)) throw new DatasetException($"Dataset folder {dir} does not exist.", dir);
        dir = Path.GetFullPath(dir);
        string kind = layout.ToLowerInvariant();
        if (kind == "auto") kind = DatasetLayouts.Detect(dir, split);
        ClassTable? table = classesJson is null ? null : ClassTable.Resolve(classesJson);
        return kind switch
        {
            "camvid" => DatasetLayouts.CamVid(dir, split, table ?? ClassTable.CamVid),
            "voc" => DatasetLayouts.Voc(dir, split, table ?? ClassTable.Voc),
            "folder" => DatasetLayouts.Folder(dir, split, table),
            _ => throw new ArgumentException($"Unknown dataset layout '{layout}' (expected {string.Join(", ", Layouts)})."),
        };
    }

    /// <summary>The first <paramref name="n"/> samples (all of them when there are fewer).</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="n">Number of samples, at least 0.</param>
    public static ISegmentationDataset Limit(ISegmentationDataset dataset, int n)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        return n >= dataset.Count ? dataset : Subset(dataset, [.. Enumerable.Range(0, n)]);
    }

    /// <summary>Shard <paramref name="index"/> of <paramref name="count"/>: samples index, index + count, index + 2 count, ...</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="index">The shard, 0..count-1.</param>
    /// <param name="count">Number of shards, at least 1.</param>
    public static ISegmentationDataset Shard(ISegmentationDataset dataset, int index, int count)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (count < 1 || index < 0 || index >= count) throw new ArgumentException($"Shard {index} of {count}: need 0 <= index < count.");
        var indices = new List<int>();
        for (int i = index; i < dataset.Count; i += count) indices.Add(i);
        return Subset(dataset, [.. indices]);
    }

    /// <summary>The samples at <paramref name="indices"/>, in that order.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="indices">Indices into <paramref name="dataset"/>.</param>
    public static ISegmentationDataset Subset(ISegmentationDataset dataset, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        foreach (int i in indices)
            if ((uint)i >= (uint)dataset.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"index outside 0..{dataset.Count - 1}");
        return new SubsetDataset(dataset, [.. indices]);
    }

    private sealed class SubsetDataset(ISegmentationDataset inner, int[] indices) : ISegmentationDataset
    {
        public string Name => inner.Name;
        public string Root => inner.Root;
        public string Split => inner.Split;
        public ClassTable Classes => inner.Classes;
        public int Count => indices.Length;
        public string Id(int index) => inner.Id(indices[index]);
        public SegmentationSample Load(int index) => inner.Load(indices[index]);
        public (string Image, string? Label) Files(int index) => inner.Files(indices[index]);
    }
}
