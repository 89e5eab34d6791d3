// Elementwise kernels over 1M floats (BenchmarkDotNet): TensorPrimitives on plain float[] (the baseline, what the
// engine calls), beside the engine's own tensor operations, which add allocation and dispatch on top.
// dotnet run -c Release --project bench/SegLab.Bench -- --filter '*Elementwise*'
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using BenchmarkDotNet.Attributes;
using SegLab.Engine;

namespace SegLab.Bench;

[ShortRunJob]
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    private const int N = 1 << 20;
    private float[] _a = [], _b = [], _d = [];
    private Tensor _ta = Tensor.Zeros(1), _tb = Tensor.Zeros(1);

    [GlobalSetup]
    public void Setup()
    {
        _ta = Tensor.Uniform([N], -2, 2, 1);
        _tb = Tensor.Uniform([N], -2, 2, 2);
        _a = _ta.Span.ToArray();
        _b = _tb.Span.ToArray();
        _d = new float[N];
    }

    [Benchmark(Baseline = true)]
    public void Add() => TensorPrimitives.Add(_a, _b, _d);

    [Benchmark]
    public void Mul() => TensorPrimitives.Multiply(_a, _b, _d);

    [Benchmark]
    public void Exp() => TensorPrimitives.Exp(_a, _d);

    [Benchmark]
    public Tensor EngineAdd() => Ops.Add(_ta, _tb);

    [Benchmark]
    public Tensor EngineMul() => Ops.Mul(_ta, _tb);

    [Benchmark]
    public Tensor EngineExp() => Ops.Exp(_ta);
}
