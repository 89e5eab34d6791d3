// Elementwise operations through the engine (BenchmarkDotNet).
using BenchmarkDotNet.Attributes;
using SegLab.Engine;

namespace SegLab.Bench;

[ShortRunJob]
public class ElementwiseBenchmarks
{
    private Tensor _a = Tensor.Zeros(1), _b = Tensor.Zeros(1);

    [GlobalSetup]
    public void Setup()
    {
        _a = Tensor.Uniform([1 << 20], -2, 2, 1);
        _b = Tensor.Uniform([1 << 20], -2, 2, 2);
    }

    [Benchmark]
    public Tensor Add() => Ops.Add(_a, _b);

    [Benchmark]
    public Tensor Mul() => Ops.Mul(_a, _b);

    [Benchmark]
    public Tensor Exp() => Ops.Exp(_a);

    [Benchmark]
    public Tensor BroadcastBias() => Ops.Add(_a.Reshape(16, 64, 1024), _b.Reshape(16, 64, 1024).Sum([0, 2], keepDim: true));
}
