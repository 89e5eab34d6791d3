// Pooling, unpooling and resizing against PyTorch: the fixture is written by tools/pooling_reference.py
// (torch CPU, float32) and holds inputs, outputs, input gradients of sum(y * gradOut) and max-pool indices.
using System.Text.Json;
using SegLab.Engine.Autograd;
using static SegLab.Engine.Tests.ReferenceFixture;

namespace SegLab.Engine.Tests;

public class PoolingReferenceTests
{
    private static JsonElement[] Cases => ReferenceFixture.Cases("pooling");

    public static TheoryData<string> CaseNames() => Names("pooling");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float32_matches_pytorch(string name) => Check(name, DType.Float32);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float64_matches_pytorch(string name) => Check(name, DType.Float64);

    [Theory]
    [InlineData("bilinear_7x9_to_20x31_ac0")]
    [InlineData("bilinear_7x9_to_20x31_ac1")]
    [InlineData("bilinear_scale_2.5")]
    public void Single_channel_float32_bilinear_is_bit_exact(string name)
    {
        var c = Case(name);
        var (y, _, _) = Run(c, DType.Float32);
        var expected = Floats(c, "output");
        var actual = y.ToArray();
        int mismatches = 0;
        for (int i = 0; i < expected.Length; i++) if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i])) mismatches++;
        Assert.True(mismatches == 0, $"{name}: {mismatches} of {expected.Length} elements differ from PyTorch in the last bit");
    }

    private static void Check(string name, DType dtype)
    {
        var c = Case(name);
        var (y, gx, indices) = Run(c, dtype);
        Assert.Equal(Ints(c, "outputShape"), y.ShapeArray());
        double tol = 1e-6;
        var expected = Floats(c, "output");
        var actual = y.ToArrayF64();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{name} {dtype}: output {i}: PyTorch {expected[i]:G9}, SegLab {actual[i]:G9}");
        var eg = Floats(c, "gradInput");
        var ag = gx.ToArrayF64();
        for (int i = 0; i < eg.Length; i++)
            Assert.True(Math.Abs(eg[i] - ag[i]) <= 1e-5, $"{name} {dtype}: gradient {i}: PyTorch {eg[i]:G9}, SegLab {ag[i]:G9}");
        if (c.TryGetProperty("indices", out _)) Assert.Equal(Ints(c, "indices"), indices);
    }

    private static (Tensor Y, Tensor Gx, int[]? Indices) Run(JsonElement c, DType dtype)
    {
        var x = Tensor.FromArray(Floats(c, "input"), Ints(c, "inputShape")).To(dtype).RequireGrad();
        var p = c.GetProperty("params");
        int I(string k) => p.GetProperty(k).GetInt32();
        bool B(string k) => p.GetProperty(k).GetBoolean();
        InterpolationMode M() => Enum.Parse<InterpolationMode>(p.GetProperty("mode").GetString()!);
        int[]? indices = null;
        Tensor y;
        switch (c.GetProperty("op").GetString())
        {
            case "MaxPool2dWithIndices":
                (y, indices) = Ops.MaxPool2dWithIndices(x, I("kernelH"), I("kernelW"), I("strideH"), I("strideW"), I("padH"), I("padW"), I("dilationH"), I("dilationW"), B("ceilMode"));
                var viaValues = Ops.MaxPool2d(x, I("kernelH"), I("kernelW"), I("strideH"), I("strideW"), I("padH"), I("padW"), I("dilationH"), I("dilationW"), B("ceilMode"));
                Assert.Equal(y.ToArrayF64(), viaValues.ToArrayF64());
                break;
            case "AvgPool2d":
                y = Ops.AvgPool2d(x, I("kernelH"), I("kernelW"), I("strideH"), I("strideW"), I("padH"), I("padW"), B("ceilMode"), B("countIncludePad"));
                break;
            case "AdaptiveAvgPool2d":
                y = Ops.AdaptiveAvgPool2d(x, I("outH"), I("outW"));
                break;
            case "GlobalAvgPool2d":
                y = Ops.GlobalAvgPool2d(x);
                break;
            case "Interpolate":
                y = Ops.Interpolate(x, I("outH"), I("outW"), M(), B("alignCorners"));
                break;
            case "InterpolateScale":
                y = Ops.Interpolate(x, p.GetProperty("scale").GetDouble(), M(), B("alignCorners"));
                break;
            case "InterpolateAntialias":
                y = Ops.InterpolateAntialias(x, I("outH"), I("outW"));
                break;
            case "MaxUnpool2d":
                y = Ops.MaxUnpool2d(x, Ints(c, "unpoolIndices"), I("outH"), I("outW"));
                break;
            default:
                throw new InvalidOperationException($"unknown op in fixture case {c.GetProperty("name").GetString()}");
        }
        var gOut = Tensor.Zeros(dtype, y.ShapeArray());
        for (int i = 0; i < gOut.Numel; i++) gOut.SetFlat(i, ((i * 37) % 17 - 8) / 8.0);
        var gx = Tape.Grad(Ops.Sum(Ops.Mul(y, gOut)), [x])[0];
        return (y, gx, indices);
    }

    private static JsonElement Case(string name) => ReferenceFixture.Case("pooling", name);
}
