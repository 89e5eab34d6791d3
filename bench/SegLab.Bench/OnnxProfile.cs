// Per-step profile of SegLab's ONNX import: each step's median wall time over timed forwards (batch 1, random input
// in [0, 1), no tape, TensorScope as seglab eval), with a convolution's multiply-add count and GFLOP/s, and the
// totals by op. For finding where an imported model's time goes (issue 22: the imported ResNet18).
//   dotnet run -c Release --project bench/SegLab.Bench -- onnx-profile [--threads 1] [--repeats 9] FILE.onnx[@HxW]
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;
using SegLab.Onnx;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Bench;

internal static class OnnxProfile
{
    public static int Run(string[] args)
    {
        int threads = 1, repeats = 9;
        string path = "";
        int h = 224, w = 224;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--threads") threads = int.Parse(args[++i]);
            else if (args[i] == "--repeats") repeats = int.Parse(args[++i]);
            else (path, h, w) = OnnxBenchArgs.Model(args[i]);
        }
        Parallelism.SetThreads(threads);
        var graph = OnnxGraph.Load(path);
        var x = Tensor.FromArray(OnnxBenchArgs.Input(3 * h * w), 1, 3, h, w);
        var runs = new List<List<OnnxStepTiming>>();
        var totals = new List<double>();
        for (int r = 0; r < repeats + 2; r++)
        {
            var timings = new List<OnnxStepTiming>();
            graph.StepTimings = timings;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            using (GradMode.NoGrad())
            using (TensorScope.Begin())
                graph.Forward(x);
            if (r >= 2)
            {
                totals.Add(sw.Elapsed.TotalMilliseconds);
                runs.Add(timings);
            }
        }
        graph.StepTimings = null;
        Console.WriteLine($"{System.IO.Path.GetFileName(path)} 1x3x{h}x{w}, {threads} thread(s), {repeats} timed forwards, median total {Median([.. totals]):F2} ms");
        Console.WriteLine("| step | op | inputs | output | MFLOP | median ms | GFLOP/s |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        var byOp = new Dictionary<string, double>();
        double sum = 0, flopsAll = 0;
        for (int s = 0; s < runs[0].Count; s++)
        {
            var t = runs[0][s];
            double ms = Median([.. runs.Select(run => run[s].Milliseconds)]);
            double mflop = ConvMflop(t);
            sum += ms;
            flopsAll += mflop;
            string key = t.Op == "Conv" ? $"Conv {KernelOf(t)}" : t.Op;
            byOp[key] = byOp.GetValueOrDefault(key) + ms;
            Console.WriteLine($"| {s} | {t.Op} | {t.InputShapes} | {t.OutputShape} | {(mflop > 0 ? mflop.ToString("F1") : "")} | {ms:F3} | {(mflop > 0 ? (mflop / ms).ToString("F1") : "")} |");
        }
        Console.WriteLine($"sum of steps {sum:F2} ms, convolutions {flopsAll:F0} MFLOP");
        foreach (var (op, ms) in byOp.OrderByDescending(p => p.Value)) Console.WriteLine($"  {op}: {ms:F2} ms ({100 * ms / sum:F1}%)");
        return 0;
    }

    private static string KernelOf(global::SegLab.Onnx.OnnxStepTiming t)
    {
        var wt = Dims(Inputs(t)[1]);
        return $"{wt[2]}x{wt[3]}";
    }

    // 2 * K * Ho * Wo * C/groups * kh * kw for a Conv step (inputs X, W[, B]), else 0.
    private static double ConvMflop(global::SegLab.Onnx.OnnxStepTiming t)
    {
        if (t.Op != "Conv") return 0;
        var wt = Dims(Inputs(t)[1]);
        var y = Dims(t.OutputShape);
        return 2.0 * y[0] * y[1] * y[2] * y[3] * wt[1] * wt[2] * wt[3] / 1e6;
    }

    private static string[] Inputs(global::SegLab.Onnx.OnnxStepTiming t) =>
        [.. System.Text.RegularExpressions.Regex.Matches(t.InputShapes, @"\[[^\]]*\]|-").Select(m => m.Value)];

    private static long[] Dims(string shape) => [.. shape.Trim('[', ']').Split(',', StringSplitOptions.TrimEntries).Select(long.Parse)];

    private static double Median(IEnumerable<double> v) => OnnxBenchArgs.Median(v);
}
