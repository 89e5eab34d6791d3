using SegLab.Data;
using SegLab.Engine;

namespace SegLab.Tests.Training;

/// <summary>Tiny in-memory datasets: each image holds a bright square (class 1) and a dark bar (class 2) on class 0.</summary>
internal sealed class SyntheticDataset : ISegmentationDataset
{
    private readonly int _size;
    private readonly int _seed;
    private readonly int? _nanSample;

    /// <param name="count">Images.</param>
    /// <param name="size">Side of the square images.</param>
    /// <param name="seed">Seed of the squares, bars and noise.</param>
    /// <param name="classes">Classes (at least 2).</param>
    /// <param name="nanSample">An image with a NaN pixel, or null.</param>
    /// <param name="voc">Name class 0 "background" (VOC style: the weak pipeline's background class).</param>
    public SyntheticDataset(int count, int size, int seed, int classes = 3, int? nanSample = null, bool voc = false)
    {
        Count = count;
        _size = size;
        _seed = seed;
        _nanSample = nanSample;
        Classes = new ClassTable("synthetic", Enumerable.Range(0, classes).Select(i => new ClassInfo(i, voc && i == 0 ? "background" : $"c{i}", (byte)(40 * i), 0, 0)).ToArray(), 255);
    }

    public string Name => "synthetic";

    public string Root => "<memory>";

    public string Split => "train";

    public ClassTable Classes { get; }

    public int Count { get; }

    public string Id(int index) => $"s{index:D3}";

    public SegmentationSample Load(int index)
    {
        var rng = new Rng(_seed * 1000 + index);
        int s = _size;
        var img = new float[3 * s * s];
        var lab = new int[s * s];
        int x0 = rng.NextInt(s / 2), y0 = rng.NextInt(s / 2), side = s / 4 + rng.NextInt(s / 4);
        int barY = rng.NextInt(s - 3);
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
            {
                int c = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side ? 1 : y >= barY && y < barY + 3 ? 2 : 0;
                if (Classes.Count < 3 && c == 2) c = 0;
                lab[y * s + x] = (x + y) % 17 == 0 ? 255 : c;
                for (int ch = 0; ch < 3; ch++) img[ch * s * s + y * s + x] = (float)Math.Clamp(0.2 + 0.3 * c + 0.1 * ch + 0.05 * rng.NextNormal(), 0, 1);
            }
        if (index == _nanSample) img[5] = float.NaN;
        return new SegmentationSample(Id(index), "<memory>", "<memory>", s, s, img, lab);
    }
}
