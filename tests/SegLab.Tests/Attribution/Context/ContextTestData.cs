// A small in-memory split for the context tests: each 32x32 image has one square of class 1 and one horizontal bar
// of class 2 on class 0, at places that depend on the image, so every image has two objects and the others are
// donor scenes.
using SegLab.Data;
using SegLab.Engine;

namespace SegLab.Tests.Attribution.Context;

internal sealed class ContextTestData(int count, int size = 32) : ISegmentationDataset
{
    public string Name => "context-test";

    public string Root => "<memory>";

    public string Split => "val";

    public ClassTable Classes { get; } = new("context-test", [.. Enumerable.Range(0, 4).Select(i => new ClassInfo(i, $"c{i}", (byte)(60 * i), 0, 0))], 255);

    public int Count => count;

    public string Id(int index) => $"img{index:D2}";

    public SegmentationSample Load(int index)
    {
        int s = size;
        var rng = new Rng(100 + index);
        var img = new float[3 * s * s];
        var lab = new int[s * s];
        int x0 = 2 + (index * 5 % (s / 2)), y0 = 2 + (index * 3 % (s / 3)), side = 6 + (index % 4);
        int barY = s - 6 - (index % 3);
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
            {
                int c = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side ? 1 : y >= barY && y < barY + 3 && x >= 4 && x < s - 4 ? 2 : 0;
                lab[(y * s) + x] = c;
                for (int ch = 0; ch < 3; ch++) img[(ch * s * s) + (y * s) + x] = (float)Math.Clamp(0.2 + (0.25 * c) + (0.1 * ch) + (0.05 * rng.NextNormal()), 0, 1);
            }
        return new SegmentationSample(Id(index), $"<memory>/{Id(index)}", null, s, s, img, lab);
    }
}

/// <summary>A corruption for the tests: every value becomes 1 - value (deterministic), or seeded noise for "noise".</summary>
internal sealed class FakeCorruptions : SegLab.Attribution.Context.IImageCorruptions
{
    public IReadOnlyList<string> Names { get; } = ["invert", "noise"];

    public float[] Apply(string name, int severity, ReadOnlySpan<float> chw01, int height, int width, ulong seed)
    {
        var o = chw01.ToArray();
        var rng = new Rng((long)seed);
        for (int i = 0; i < o.Length; i++) o[i] = name == "invert" ? 1 - o[i] : (float)Math.Clamp(o[i] + (0.1 * severity * rng.NextNormal()), 0, 1);
        return o;
    }
}
