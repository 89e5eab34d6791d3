// conv2d and conv_transpose2d against PyTorch: the fixture is written by tools/conv_reference.py (torch CPU,
// float32) and holds inputs, weights, biases, outputs and the gradients of sum(y * gradOut) for input, weight
// and bias. Loaded from the source tree (the folder holding SegLab.slnx), so nothing is copied to the output.
using System.Text.Json;
using SegLab.Engine.Autograd;
using static SegLab.Engine.Tests.ReferenceFixture;

namespace SegLab.Engine.Tests;

public class ConvPyTorchTests
{
    private static JsonElement[] Cases => ReferenceFixture.Cases("conv");

    public static TheoryData<string> CaseNames() => Names("conv");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float32_matches_pytorch(string name) => Check(name, DType.Float32, 2e-5);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float64_matches_pytorch(string name) => Check(name, DType.Float64, 2e-5);

    [Fact]
    public void The_fixture_covers_both_ops() =>
        Assert.Equal(["conv2d", "conv_transpose2d"], Cases.Select(c => c.GetProperty("op").GetString()!).Distinct().Order(StringComparer.Ordinal));

    private static void Check(string name, DType dtype, double tol)
    {
        var c = ReferenceFixture.Case("conv", name);
        var p = c.GetProperty("params");
        int I(string k) => p.GetProperty(k).GetInt32();
        var x = Tensor.FromArray(Floats(c, "input"), Ints(c, "inputShape")).To(dtype).RequireGrad();
        var w = Tensor.FromArray(Floats(c, "weight"), Ints(c, "weightShape")).To(dtype).RequireGrad();
        var b = c.TryGetProperty("bias", out var bj) ? Tensor.FromArray(bj.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray(), bj.GetArrayLength()).To(dtype).RequireGrad() : null;
        var y = c.GetProperty("op").GetString() == "conv2d"
            ? Ops.Conv2d(x, w, b, I("strideH"), I("strideW"), I("padH"), I("padW"), I("dilationH"), I("dilationW"), I("groups"))
            : Ops.ConvTranspose2d(x, w, b, I("strideH"), I("strideW"), I("padH"), I("padW"), I("outputPadH"), I("outputPadW"), I("dilationH"), I("dilationW"), I("groups"));
        Assert.Equal(Ints(c, "outputShape"), y.ShapeArray());
        var gOut = Tensor.Zeros(dtype, y.ShapeArray());
        for (int i = 0; i < gOut.Numel; i++) gOut.SetFlat(i, ((i * 37) % 17 - 8) / 8.0);
        var grads = Tape.Grad(Ops.Sum(Ops.Mul(y, gOut)), b is null ? [x, w] : [x, w, b]);
        Compare(name, dtype, "output", Floats(c, "output"), y, tol);
        Compare(name, dtype, "gradInput", Floats(c, "gradInput"), grads[0], tol);
        Compare(name, dtype, "gradWeight", Floats(c, "gradWeight"), grads[1], tol);
        if (b is not null) Compare(name, dtype, "gradBias", Floats(c, "gradBias"), grads[2], tol);
    }

    private static void Compare(string name, DType dtype, string what, float[] expected, Tensor actual, double tol)
    {
        var a = actual.ToArrayF64();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * (1 + Math.Abs(expected[i])), $"{name} {dtype}: {what} {i}: PyTorch {expected[i]:G9}, SegLab {a[i]:G9}");
    }
}
