// An in-memory dataset for loader and transform tests: sample i is a small image whose values encode i, with a
// label map of ids derived from i; chosen indices fail like bad files, and loads are counted.
using SegLab.Data;

namespace SegLab.Tests.Data;

/// <summary>A synthetic dataset of <paramref name="count"/> samples of <paramref name="width"/>x<paramref name="height"/>.</summary>
internal sealed class MemoryDataset(int count, int width = 6, int height = 4, params int[] bad) : ISegmentationDataset
{
    private int _loads;

    public string Name => "memory";
    public string Root => "/memory";
    public string Split => "test";
    public ClassTable Classes => ClassTable.CamVid;
    public int Count => count;

    /// <summary>Number of Load calls so far.</summary>
    public int Loads => Volatile.Read(ref _loads);

    /// <summary>Size of sample i (default: all equal); set to make samples of different sizes.</summary>
    public Func<int, (int W, int H)>? SizeOf { get; init; }

    public string Id(int index) => $"s{index:D3}";

    public static string PathOf(int index) => $"/memory/s{index:D3}.png";

    public SegmentationSample Load(int index)
    {
        Interlocked.Increment(ref _loads);
        if (Array.IndexOf(bad, index) >= 0) throw new DatasetException($"Cannot decode image {PathOf(index)}: broken on purpose.", PathOf(index));
        var (w, h) = SizeOf?.Invoke(index) ?? (width, height);
        var image = new float[3 * w * h];
        for (int i = 0; i < image.Length; i++) image[i] = (index * 31 + i * 7) % 256 / 255f;
        var label = new int[w * h];
        for (int i = 0; i < label.Length; i++) label[i] = (index + i) % 12;
        return new SegmentationSample(Id(index), PathOf(index), PathOf(index) + ".label", w, h, image, label);
    }
}
