// SGEMM per provider and size (BenchmarkDotNet). `seglab bench gemm` gives the same numbers without BenchmarkDotNet.
using BenchmarkDotNet.Attributes;
using SegLab.Engine.Linalg;

namespace SegLab.Bench;

[ShortRunJob]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private IGemmProvider _provider = Gemm.Managed;

    [Params("managed", "openblas")]
    public string Provider { get; set; } = "managed";

    [Params(256, 1024, 2048)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _provider = Provider == "managed" ? Gemm.Managed : (IGemmProvider?)Gemm.OpenBlas ?? Gemm.Managed;
        var rng = new SegLab.Engine.Rng(1);
        _a = Enumerable.Range(0, Size * Size).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = Enumerable.Range(0, Size * Size).Select(_ => (float)rng.NextDouble()).ToArray();
        _c = new float[Size * Size];
    }

    [Benchmark]
    public void Sgemm() => _provider.Sgemm(false, false, Size, Size, Size, 1, _a, Size, _b, Size, 0, _c, Size);
}
