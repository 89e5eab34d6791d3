using System.Reflection;

namespace SegLab.Engine.Tests.Autograd;

public class GradientCheckTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in OpTable.All) data.Add(c.Name);
        return data;
    }

    private static OpCase Case(string name) => OpTable.All.Single(c => c.Name == name);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Gradient_matches_central_differences_in_float64(string name)
    {
        var c = Case(name);
        var (worst, where) = GradCheck.Run(c.Fn, c.MakeInputs(DType.Float64));
        Assert.True(worst < 1, $"{name}: gradient mismatch at {where} (score {worst:G3})");
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float32_forward_matches_float64(string name)
    {
        var c = Case(name);
        var y64 = c.Fn(c.MakeInputs(DType.Float64));
        var y32 = c.Fn(c.MakeInputs(DType.Float32));
        Assert.Equal(DType.Float32, y32.DType);
        Assert.Equal(y64.ShapeArray(), y32.ShapeArray());
        for (int i = 0; i < y64.Numel; i++)
        {
            double a = y64.ToArrayF64()[i], b = y32.ToArray()[i];
            Assert.True(Math.Abs(a - b) <= 1e-5 + 1e-5 * Math.Abs(a), $"{name}: element {i} float64 {a} vs float32 {b}");
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float32_gradient_matches_float64_gradient(string name)
    {
        var c = Case(name);
        Tensor[] Grads(DType dt)
        {
            var xs = c.MakeInputs(dt).Select(x => x.RequireGrad()).ToArray();
            var y = c.Fn(xs);
            var w = Tensor.Uniform(new Rng(99), y.ShapeArray(), -1, 1, dt);
            return SegLab.Engine.Autograd.Tape.Grad(Ops.Sum(Ops.Mul(y, w)), xs);
        }
        var g64 = Grads(DType.Float64);
        var g32 = Grads(DType.Float32);
        for (int k = 0; k < g64.Length; k++)
        {
            Assert.Equal(DType.Float32, g32[k].DType);
            var a = g64[k].ToArrayF64();
            var b = g32[k].ToArray();
            for (int i = 0; i < a.Length; i++)
                Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4 + 1e-4 * Math.Abs(a[i]), $"{name}: input {k} element {i}: float64 {a[i]} vs float32 {b[i]}");
        }
    }

    [Fact]
    public void Every_public_op_is_in_the_gradient_table()
    {
        var covered = OpTable.All.SelectMany(c => c.Ops).Concat(OpTable.Exempt).ToHashSet();
        var ops = typeof(Ops).GetMethods(BindingFlags.Public | BindingFlags.Static).Select(m => m.Name).Distinct();
        var missing = ops.Where(o => !covered.Contains(o)).ToList();
        Assert.True(missing.Count == 0, "Ops without a gradient-check case: " + string.Join(", ", missing));
    }

    [Fact]
    public void Case_names_are_unique()
    {
        var dup = OpTable.All.GroupBy(c => c.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(dup);
    }

    [Fact]
    public void The_checker_catches_a_wrong_gradient()
    {
        // A deliberately wrong rule: y = x^2 with a recorded gradient of x instead of 2x.
        static Tensor WrongSquare(Tensor[] x)
        {
            var y = x[0] * x[0].Detach();
            return y;
        }
        var (worst, _) = GradCheck.Run(WrongSquare, [Tensor.Uniform([4], 0.5, 1.5, 3)]);
        Assert.True(worst > 100, $"the checker should reject a wrong gradient, score {worst}");
    }

    [Fact]
    public void Cast_to_float32_and_back_passes_the_gradient_through()
    {
        var x = Tensor.FromArray(new double[] { 1, -2, 3 }, 3).RequireGrad();
        var y = Ops.Sum(Ops.Mul(x.To(DType.Float32), Tensor.FromArray(new float[] { 2, 3, 4 }, 3)));
        y.Backward();
        Assert.Equal(DType.Float32, y.DType);
        Assert.Equal(new double[] { 2, 3, 4 }, x.Grad!.ToArrayF64());
        Assert.Equal(DType.Float64, x.Grad.DType);
    }
}
