// SegLab's ONNX import against ONNX Runtime on the same files: forward time (batch 1, random input in [0, 1)) at
// the given thread counts, interleaved (every round runs each model and thread count on both, in turn), medians over
// rounds of per-round medians. ONNX Runtime with its default graph optimisations and IntraOpNumThreads = threads;
// SegLab as seglab eval runs a forward: no tape, storage reused across forwards (TensorScope).
//   dotnet run -c Release --project bench/SegLab.Bench -- onnx-vs-ort [--rounds 5] [--repeats 5] [--threads 1,2] FILE.onnx[@HxW] ...
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;
using SegLab.Onnx;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Bench;

internal static class OnnxRuntimeComparison
{
    public static int Run(string[] args)
    {
        int rounds = 5, repeats = 5;
        int[] threads = [1, 2];
        var models = new List<(string Path, int H, int W)>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--rounds") rounds = int.Parse(args[++i]);
            else if (args[i] == "--repeats") repeats = int.Parse(args[++i]);
            else if (args[i] == "--threads") threads = [.. args[++i].Split(',').Select(int.Parse)];
            else models.Add(OnnxBenchArgs.Model(args[i]));
        }
        var times = new Dictionary<(string, int, string), List<double>>();
        for (int r = 0; r < rounds; r++)
            foreach (var (path, h, w) in models)
                foreach (int t in threads)
                {
                    Add(times, (path, t, "ort"), Ort(path, h, w, t, repeats));
                    Add(times, (path, t, "seglab"), SegLab(path, h, w, t, repeats));
                }
        Console.WriteLine("| model | input | threads | ONNX Runtime fwd ms | SegLab fwd ms | SegLab / ONNX Runtime |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (path, h, w) in models)
            foreach (int t in threads)
            {
                double o = Median(times[(path, t, "ort")]), s = Median(times[(path, t, "seglab")]);
                Console.WriteLine($"| {System.IO.Path.GetFileName(path)} | 1x3x{h}x{w} | {t} | {o:F1} | {s:F1} | {s / o:F2} |");
            }
        return 0;
    }

    private static void Add(Dictionary<(string, int, string), List<double>> d, (string, int, string) k, double v)
    {
        if (!d.TryGetValue(k, out var l)) d[k] = l = [];
        l.Add(v);
    }

    private static double Median(List<double> v) => OnnxBenchArgs.Median(v);

    private static float[] Input(int n) => OnnxBenchArgs.Input(n);

    // Median of `repeats` forwards after two warm-ups.
    private static double Time(Action forward, int repeats)
    {
        forward();
        forward();
        var ms = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            forward();
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        return Median(ms);
    }

    private static double Ort(string path, int h, int w, int threads, int repeats)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        string name = session.InputMetadata.Keys.First();
        var input = new DenseTensor<float>(Input(3 * h * w), [1, 3, h, w]);
        var feeds = new[] { NamedOnnxValue.CreateFromTensor(name, input) };
        return Time(() => { using var _ = session.Run(feeds); }, repeats);
    }

    private static double SegLab(string path, int h, int w, int threads, int repeats)
    {
        Parallelism.SetThreads(threads);
        var graph = OnnxGraph.Load(path);
        var x = Tensor.FromArray(Input(3 * h * w), 1, 3, h, w);
        return Time(() =>
        {
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            graph.Forward(x);
        }, repeats);
    }
}
