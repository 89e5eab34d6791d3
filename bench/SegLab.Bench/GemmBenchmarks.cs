// SGEMM per provider, size and thread count (BenchmarkDotNet, short-run job). `seglab bench gemm` gives the same
// numbers without BenchmarkDotNet. OpenBLAS appears only where libopenblas.so.0 loads.
using BenchmarkDotNet.Attributes;
using SegLab.Engine.Linalg;
using SegLab.Engine.Threading;

namespace SegLab.Bench;

[ShortRunJob]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private IGemmProvider _provider = Gemm.Managed;
    private int _savedThreads;

    /// <summary>managed, and openblas when it loads.</summary>
    public static IEnumerable<string> Providers() => Gemm.OpenBlas is null ? ["managed"] : ["managed", "openblas"];

    /// <summary>One thread, and every processor.</summary>
    public static IEnumerable<int> ThreadCounts() => new[] { 1, Environment.ProcessorCount }.Distinct();

    [ParamsSource(nameof(Providers))]
    public string Provider { get; set; } = "managed";

    [Params(256, 1024, 2048)]
    public int Size { get; set; }

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        _provider = Provider == "openblas" ? Gemm.OpenBlas ?? throw new InvalidOperationException("OpenBLAS does not load") : Gemm.Managed;
        _savedThreads = Parallelism.Threads;
        Parallelism.SetThreads(Threads);
        var rng = new SegLab.Engine.Rng(1);
        _a = Enumerable.Range(0, Size * Size).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _b = Enumerable.Range(0, Size * Size).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _c = new float[Size * Size];
    }

    [GlobalCleanup]
    public void Cleanup() => Parallelism.SetThreads(_savedThreads);

    /// <summary>C = A * B, square, no transposes; 2 Size^3 flops.</summary>
    [Benchmark]
    public void Sgemm() => _provider.Sgemm(false, false, Size, Size, Size, 1, _a, Size, _b, Size, 0, _c, Size);
}
