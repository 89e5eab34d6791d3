// In-process A/B of engine switches on an imported model: forwards alternate between the defaults (A) and the
// switched configuration (B), so a loaded machine slows both alike; prints medians of wall time and of process CPU
// time per forward. For issue 22's kernel changes on the shared 2-core VM.
//   dotnet run -c Release --project bench/SegLab.Bench -- onnx-ab --switch minband [--threads 1] [--repeats 15] FILE.onnx[@HxW]
using System.Diagnostics;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;
using SegLab.Onnx;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Bench;

internal static class OnnxAb
{
    // B's settings: each switch restores an earlier behaviour (on the calling thread).
    private static readonly Dictionary<string, Action<bool>> Switches = new()
    {
        ["unpacked"] = on => Ops.UsePackedUnfold = !on,
        ["minband"] = on => Ops.ConvMinBandColumns = on ? 0 : Ops.ConvBandElements / 512,
        ["band19"] = on => Ops.ConvBandElements = on ? 1 << 19 : 1 << 17,
        ["band21"] = on => Ops.ConvBandElements = on ? 1 << 21 : 1 << 17,
        ["band15"] = on => Ops.ConvBandElements = on ? 1 << 15 : 1 << 17,
    };

    public static int Run(string[] args)
    {
        int threads = 1, repeats = 15;
        var names = new List<string>();
        string path = "";
        int h = 224, w = 224;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--threads") threads = int.Parse(args[++i]);
            else if (args[i] == "--repeats") repeats = int.Parse(args[++i]);
            else if (args[i] == "--switch") names.AddRange(args[++i].Split(','));
            else (path, h, w) = OnnxBenchArgs.Model(args[i]);
        }
        Parallelism.SetThreads(threads);
        var graph = OnnxGraph.Load(path);
        var x = Tensor.FromArray(OnnxBenchArgs.Input(3 * h * w), 1, 3, h, w);
        var wall = new[] { new List<double>(), new List<double>() };
        var cpu = new[] { new List<double>(), new List<double>() };
        float[][] outputs = new float[2][];
        var proc = Process.GetCurrentProcess();
        for (int r = 0; r < 2 * (repeats + 2); r++)
        {
            int v = r % 2;
            foreach (var n in names) Switches[n](v == 1);
            proc.Refresh();
            var cpu0 = proc.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            using (GradMode.NoGrad())
            using (TensorScope.Begin())
                outputs[v] = graph.Forward(x).ToArray();
            double ms = sw.Elapsed.TotalMilliseconds;
            proc.Refresh();
            if (r >= 4)
            {
                wall[v].Add(ms);
                cpu[v].Add((proc.TotalProcessorTime - cpu0).TotalMilliseconds);
            }
        }
        foreach (var n in names) Switches[n](false);
        double maxDiff = outputs[0].Zip(outputs[1], (a, b) => Math.Abs(a - b)).Max(), scale = outputs[0].Max(Math.Abs);
        Console.WriteLine($"{Path.GetFileName(path)} 1x3x{h}x{w}, {threads} thread(s), {repeats} forwards each, interleaved; B = {string.Join(",", names)} (earlier behaviour)");
        Console.WriteLine($"  A (defaults): wall median {Median(wall[0]):F2} ms (min {wall[0].Min():F2}), CPU median {Median(cpu[0]):F2} ms");
        Console.WriteLine($"  B (switched): wall median {Median(wall[1]):F2} ms (min {wall[1].Min():F2}), CPU median {Median(cpu[1]):F2} ms");
        Console.WriteLine($"  outputs: largest difference {maxDiff:G3} of largest magnitude {scale:G3}");
        return 0;
    }

    private static double Median(IEnumerable<double> v) => OnnxBenchArgs.Median(v);
}
