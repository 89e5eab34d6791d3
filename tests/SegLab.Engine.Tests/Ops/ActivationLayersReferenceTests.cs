// Batch norm (with the running-statistics update), the hard activations at their kinks and cross-entropy (class
// weights, ignore index, every reduction) against PyTorch: the fixture is written by tools/layers_reference.py
// (torch CPU, float32) and holds inputs, outputs and the gradients of sum(y * gradOut).
using System.Text.Json;
using SegLab.Engine.Autograd;
using static SegLab.Engine.Tests.ReferenceFixture;

namespace SegLab.Engine.Tests;

public class ActivationLayersReferenceTests
{
    private static JsonElement[] Cases => ReferenceFixture.Cases("layers");

    public static TheoryData<string> CaseNames() => Names("layers");

    [Fact]
    public void Fixture_covers_every_family()
    {
        var ops = Cases.Select(c => c.GetProperty("op").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "BatchNorm2d", "HardSwish", "HardSigmoid", "Relu6", "LeakyRelu", "CrossEntropy" }, ops);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float32_matches_pytorch(string name) => Check(name, DType.Float32);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float64_matches_pytorch(string name) => Check(name, DType.Float64);

    private static void Check(string name, DType dtype)
    {
        var c = ReferenceFixture.Case("layers", name);
        var p = c.GetProperty("params");
        Tensor T(string key, params int[] shape) => Tensor.FromArray(Floats(c, key), shape).To(dtype);
        var x = T("input", Ints(c, "inputShape")).RequireGrad();
        var leaves = new List<(string Key, Tensor Leaf)> { ("gradInput", x) };
        Tensor y;
        Tensor? rm = null, rv = null;
        switch (c.GetProperty("op").GetString())
        {
            case "BatchNorm2d":
            {
                int ch = x.Size(1);
                rm = T("runningMean", ch);
                rv = T("runningVar", ch);
                Tensor? w = null, b = null;
                if (p.GetProperty("affine").GetBoolean())
                {
                    w = T("weight", ch).RequireGrad();
                    b = T("bias", ch).RequireGrad();
                    leaves.Add(("gradWeight", w));
                    leaves.Add(("gradBias", b));
                }
                y = Ops.BatchNorm2d(x, w, b, rm, rv, p.GetProperty("training").GetBoolean(), p.GetProperty("momentum").GetDouble(), p.GetProperty("eps").GetDouble());
                break;
            }
            case "HardSwish": y = Ops.HardSwish(x); break;
            case "HardSigmoid": y = Ops.HardSigmoid(x); break;
            case "Relu6": y = Ops.Relu6(x); break;
            case "LeakyRelu": y = Ops.LeakyRelu(x, p.GetProperty("negativeSlope").GetDouble()); break;
            case "CrossEntropy":
            {
                var shape = Ints(c, "inputShape");
                var tshape = shape.Where((_, i) => i != 1).ToArray();
                var target = Tensor.FromArray(Floats(c, "target"), tshape).To(dtype);
                var weights = c.TryGetProperty("classWeights", out _) ? T("classWeights", shape[1]) : null;
                y = Ops.CrossEntropy(x, target, p.GetProperty("ignoreIndex").GetInt32(), weights, Enum.Parse<Reduction>(p.GetProperty("reduction").GetString()!));
                break;
            }
            default: throw new InvalidOperationException($"unknown op in fixture case {name}");
        }
        Assert.Equal(Ints(c, "outputShape"), y.ShapeArray());
        Compare(name, dtype, "output", Floats(c, "output"), y);
        if (rm is not null)
        {
            Compare(name, dtype, "runningMeanAfter", Floats(c, "runningMeanAfter"), rm);
            Compare(name, dtype, "runningVarAfter", Floats(c, "runningVarAfter"), rv!);
        }
        var gOut = Tensor.Zeros(dtype, y.ShapeArray());
        if (y.Rank == 0) gOut.SetFlat(0, 1.25);
        else for (int i = 0; i < gOut.Numel; i++) gOut.SetFlat(i, ((i * 37) % 17 - 8) / 8.0);
        var grads = Tape.Grad(y, leaves.Select(l => l.Leaf).ToArray(), gOut);
        for (int k = 0; k < leaves.Count; k++) Compare(name, dtype, leaves[k].Key, Floats(c, leaves[k].Key), grads[k]);
    }

    // float32 tolerance: PyTorch's float32 result against ours in float32 (or float64 from the same float32 inputs).
    private static void Compare(string name, DType dtype, string what, float[] expected, Tensor actual)
    {
        var a = actual.ToArrayF64();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= 2e-5 + 2e-5 * Math.Abs(expected[i]), $"{name} {dtype}: {what}[{i}]: PyTorch {expected[i]:G9}, SegLab {a[i]:G9}");
    }
}
