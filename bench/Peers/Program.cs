// bench/Peers: SegLab side by side with libtorch 2.10 (TorchSharp 0.107.0) and ONNX Runtime 1.32 (issue 22).
//   Peers run [--rounds 3] [--threads 1,2] [--repeats 5] [--warmup 2] [--quick] [--rows cgnet/forward,...]
//             [--models DIR] [--out FILE.jsonl]
//   Peers child --engine E --row MODEL/WORKLOAD --threads T [--repeats N] [--warmup N] [--verify DIR] --models DIR
//   Peers input MODEL/WORKLOAD PREFIX   the row's input and labels as PREFIX.input.f32, PREFIX.labels.i32
//   Peers weights DIR           SegLab's weights of the UNet, DeepLabV3 and deeplabv3-resnet18, for tools/export_peers.py
// Start it through bench/Peers/run.sh, which builds, applies the TorchSharp workaround and exports the peers' models.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SegLab.Engine.IO;
using SegLab.Engine.Serialization;
using SegLab.Peers;

return args.Length == 0 ? Usage() : args[0] switch
{
    "run" => Harness.Run(args[1..]),
    "child" => Child.Run(args[1..]),
    "weights" => WriteWeights(args[1..]),
    "input" => WriteInput(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Peers run [--rounds 3] [--threads 1,2] [--quick] ... | Peers child ... | Peers weights DIR (see bench/Peers/README.md)");
    return 2;
}

// The row's network input as raw float32 (N x 3 x H x W, row-major) and its labels as raw int32, for looking into a
// check's disagreement outside the harness (e.g. against a float64 PyTorch reference).
static int WriteInput(string[] args)
{
    if (args.Length != 2) return Usage();
    var parts = args[0].Split('/');
    var row = Workloads.Find(parts[0], parts.Length > 1 ? parts[1] : "");
    var (input, shape, labels) = Workloads.Inputs(row);
    var bytes = new byte[input.Length * 4];
    Buffer.BlockCopy(input, 0, bytes, 0, bytes.Length);
    AtomicFile.Write(args[1] + ".input.f32", bytes);
    bytes = new byte[labels.Length * 4];
    Buffer.BlockCopy(labels, 0, bytes, 0, bytes.Length);
    AtomicFile.Write(args[1] + ".labels.i32", bytes);
    Console.WriteLine($"{args[1]}.input.f32: [{string.Join(", ", shape)}]; {args[1]}.labels.i32");
    return 0;
}

static int WriteWeights(string[] args)
{
    if (args.Length != 1) return Usage();
    Directory.CreateDirectory(args[0]);
    foreach (var model in Workloads.SegLabWeightModels)
    {
        var m = Workloads.SegLabModel(model);
        string path = Path.Combine(args[0], model + ".safetensors");
        SafeTensors.Save(path, m.Network.StateDict()); // tools/export_peers.py renames them to the PyTorch twin's names
        Console.WriteLine($"{path}: {m.Network.NamedParameters().Count()} parameters, {m.Network.NamedBuffers().Count()} buffers");
    }
    return 0;
}

namespace SegLab.Peers
{
    /// <summary>One timed measurement (a child's record) or an aggregate over rounds (the harness's record).</summary>
    internal sealed record Measurement(string Engine, string Model, string Workload, int Threads, int Batch, string Size,
        double MedianMs, double MinMs, double PeakMemoryMB, int Rounds, int Repeats, double[] RoundMediansMs,
        double LoadedMemoryMB = 0, double FirstStepManagedMB = 0);

    internal static class Json
    {
        public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    }

    internal static class Child
    {
        // Runs one workload on one engine in this process: with --verify, writes the logits (and input gradient)
        // as raw float32 into DIR and prints nothing else; otherwise warm-ups, timed repeats, one JSON record.
        public static int Run(string[] args)
        {
            string? engine = null, rowKey = null, verify = null, models = null;
            int threads = 1, repeats = 5, warmup = 2;
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"peers child: {args[i]} needs a value.");
                switch (args[i])
                {
                    case "--engine": engine = Next(); break;
                    case "--row": rowKey = Next(); break;
                    case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--repeats": repeats = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--verify": verify = Next(); break;
                    case "--models": models = Next(); break;
                    default: throw new ArgumentException($"peers child: unknown option {args[i]}.");
                }
            }
            if (engine is null || rowKey is null || models is null) throw new ArgumentException("peers child: --engine, --row and --models are required.");
            var parts = rowKey.Split('/');
            var row = Workloads.Find(parts[0], parts.Length > 1 ? parts[1] : "");
            var prepared = Engines.Prepare(engine, row, threads, models);
            if (verify is not null)
            {
                var (logits, grad) = prepared.Check();
                Directory.CreateDirectory(verify);
                WriteFloats(Path.Combine(verify, $"{engine}.logits.f32"), logits);
                if (grad is not null) WriteFloats(Path.Combine(verify, $"{engine}.grad.f32"), grad);
                return 0;
            }
            // Resident memory once the model and inputs are loaded (before any step), and what the first step
            // allocated on the managed heap (SegLab's tensors; the peers allocate natively, so theirs is about 0).
            double loaded = Workloads.ResidentMemoryMB();
            long before = GC.GetTotalAllocatedBytes(true);
            prepared.Step();
            double firstStep = (GC.GetTotalAllocatedBytes(true) - before) / 1048576.0;
            for (int i = 1; i < warmup; i++) prepared.Step();
            var ms = new double[repeats];
            for (int i = 0; i < repeats; i++)
            {
                var sw = Stopwatch.StartNew();
                prepared.Step();
                ms[i] = sw.Elapsed.TotalMilliseconds;
            }
            var sorted = ms.Order().ToArray();
            var m = new Measurement(engine, row.Model, row.Workload, threads, row.Batch, row.Size, Stats.Median(sorted), sorted[0],
                Workloads.PeakMemoryMB(), 1, repeats, ms, loaded, firstStep);
            Console.WriteLine(JsonSerializer.Serialize(m, Json.Options));
            return 0;
        }

        private static void WriteFloats(string path, float[] v)
        {
            var bytes = new byte[v.Length * 4];
            Buffer.BlockCopy(v, 0, bytes, 0, bytes.Length);
            AtomicFile.Write(path, bytes);
        }
    }

    internal static class Stats
    {
        public static double Median(IReadOnlyList<double> v)
        {
            var s = v.Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
    }
}
