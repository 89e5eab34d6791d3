// The parity oracle: one ONNX model run by ONNX Runtime (the reference, tests only) and by SegLab's importer on the
// same random input, outputs compared elementwise to 1e-4 relative (with a floor of 1e-6 of the output's largest
// magnitude, so that values near zero are compared on the output's own scale).
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SegLab.Engine;
using SegLab.Onnx;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Tests.Onnx;

internal static class OnnxParity
{
    public const double Tolerance = 1e-4;

    /// <summary>A fixed random input of <paramref name="shape"/> in [-2, 2).</summary>
    public static float[] RandomInput(int[] shape, long seed = 7)
    {
        var rng = new Rng(seed);
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        return data;
    }

    /// <summary>Runs the model on ONNX Runtime: every output by name, as (shape, values).</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> RunReference(byte[] model, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var feeds = inputs.Select(kv => NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(kv.Value.Data, kv.Value.Shape))).ToList();
        using var results = session.Run(feeds);
        return results.ToDictionary(r => r.Name, r =>
        {
            var t = r.AsTensor<float>();
            return (t.Dimensions.ToArray(), t.ToArray());
        });
    }

    /// <summary>Writes the model to a temporary file and imports it.</summary>
    public static OnnxGraph Import(byte[] model, DType floatType = DType.Float32)
    {
        string dir = Path.Combine(Path.GetTempPath(), "seglab-onnx-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "model.onnx");
        File.WriteAllBytes(path, model);
        try
        {
            return OnnxGraph.Load(path, floatType);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Asserts that SegLab's outputs equal ONNX Runtime's; returns the largest relative difference.</summary>
    public static double AssertMatches(byte[] model, IReadOnlyDictionary<string, int[]> inputShapes, long seed = 7)
    {
        var inputs = inputShapes.ToDictionary(kv => kv.Key, kv => (kv.Value, RandomInput(kv.Value, seed++)));
        var reference = RunReference(model, inputs);
        var graph = Import(model);
        var ours = graph.Run(inputs.ToDictionary(kv => kv.Key, kv => Tensor.FromArray((float[])kv.Value.Item2.Clone(), kv.Value.Value)));
        double worst = 0;
        foreach (var (name, (shape, want)) in reference)
        {
            var got = ours[name];
            Assert.Equal(shape, got.ShapeArray());
            worst = Math.Max(worst, Compare(name, got.ToArray(), want));
        }
        return worst;
    }

    /// <summary>Elementwise comparison; fails naming the first element off by more than the tolerance.</summary>
    public static double Compare(string what, float[] got, float[] want)
    {
        Assert.Equal(want.Length, got.Length);
        double scale = want.Length == 0 ? 0 : want.Max(v => Math.Abs((double)v));
        double worst = 0;
        for (int i = 0; i < want.Length; i++)
        {
            double denom = Math.Max(Math.Abs((double)want[i]), 1e-2 * scale) + 1e-12;
            double rel = Math.Abs(got[i] - (double)want[i]) / denom;
            if (double.IsNaN(got[i]) != double.IsNaN(want[i]) || rel > Tolerance)
                Assert.Fail($"{what}: element {i} is {got[i]}, ONNX Runtime gives {want[i]} (relative difference {rel:g3} > {Tolerance}).");
            worst = Math.Max(worst, rel);
        }
        return worst;
    }
}
