// What the ONNX bench verbs (onnx-vs-ort, onnx-profile, onnx-ab) and conv-parts share: a model argument
// FILE.onnx[@HxW], the seeded input in [0, 1), and the median of timings.
using SegLab.Engine;

namespace SegLab.Bench;

internal static class OnnxBenchArgs
{
    /// <summary>FILE.onnx[@HxW] as (path, height, width); 224x224 when no size is given.</summary>
    public static (string Path, int H, int W) Model(string arg)
    {
        var parts = arg.Split('@');
        var hw = parts.Length > 1 ? parts[1].Split('x').Select(int.Parse).ToArray() : [224, 224];
        return (parts[0], hw[0], hw[1]);
    }

    /// <summary>n values uniform in [0, 1) from seed 1: the same input for every engine and run.</summary>
    public static float[] Input(int n)
    {
        var rng = new Rng(1);
        return [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble())];
    }

    /// <summary>The median (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
