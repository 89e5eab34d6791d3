// The table of differentiable operations: every public differentiable Ops method has at least one case here,
// and each case runs through the float64 gradient check and the float32-vs-float64 forward check.
namespace SegLab.Engine.Tests.Autograd;

/// <summary>One gradient-check case.</summary>
/// <param name="Name">Unique case name.</param>
/// <param name="Ops">The Ops methods the case exercises.</param>
/// <param name="Shapes">Shapes of the inputs.</param>
/// <param name="Fn">The computation.</param>
/// <param name="Domain">Input sampling: "any" (-2..2), "positive" (0.5..2), "awayFromZero" (|x| in 0.2..2).</param>
internal sealed record OpCase(string Name, string[] Ops, int[][] Shapes, Func<Tensor[], Tensor> Fn, string Domain = "any")
{
    public Tensor[] MakeInputs(DType dtype)
    {
        var rng = new Rng(Name.GetHashCode(StringComparison.Ordinal) & 0x7fff);
        return Shapes.Select(s =>
        {
            var t = Tensor.Uniform(rng, s, -2, 2, dtype);
            for (int i = 0; i < t.Numel; i++)
            {
                double v = t.GetFlat(i);
                if (Domain == "positive") t.SetFlat(i, 0.5 + Math.Abs(v) * 0.75);
                else if (Domain == "awayFromZero") t.SetFlat(i, Math.Sign(v == 0 ? 1 : v) * (0.2 + Math.Abs(v) * 0.9));
            }
            return t;
        }).ToArray();
    }

    public override string ToString() => Name;
}

/// <summary>
/// The operation table, split over partial files (OpTable.*.cs), one per family of operations. Every
/// <c>static readonly OpCase[]</c> field of this class is part of the table; every <c>string[]</c> field
/// whose name starts with NonDifferentiable or CheckedElsewhere exempts Ops methods from the coverage test.
/// </summary>
internal static partial class OpTable
{
    private static OpCase[]? s_all;

    /// <summary>Every case of every partial file.</summary>
    public static OpCase[] All => s_all ??= typeof(OpTable)
        .GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
        .Where(f => f.FieldType == typeof(OpCase[]) && f.IsInitOnly)
        .SelectMany(f => (OpCase[])f.GetValue(null)!)
        .ToArray();

    /// <summary>Ops methods exempt from the gradient table, with the reason in the field name.</summary>
    public static IEnumerable<string> Exempt => typeof(OpTable)
        .GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
        .Where(f => f.FieldType == typeof(string[]) && (f.Name.StartsWith("NonDifferentiable", StringComparison.Ordinal) || f.Name.StartsWith("CheckedElsewhere", StringComparison.Ordinal)))
        .SelectMany(f => (string[])f.GetValue(null)!);

    /// <summary>Ops methods that have no gradient by design (comparisons, indices, helpers).</summary>
    public static readonly string[] NonDifferentiable = ["Greater", "Equal", "Argmax"];

    /// <summary>Differentiable ops checked by dedicated tests (a float32 round trip defeats float64 finite differences).</summary>
    public static readonly string[] CheckedElsewhere = ["To"];

    public static readonly OpCase[] Core =
    [
        new("add_same", ["Add"], [[3, 4], [3, 4]], x => Ops.Add(x[0], x[1])),
        new("add_broadcast_bias", ["Add"], [[2, 3, 4, 5], [1, 3, 1, 1]], x => Ops.Add(x[0], x[1])),
        new("add_broadcast_outer", ["Add"], [[4, 1], [1, 5]], x => Ops.Add(x[0], x[1])),
        new("add_broadcast_rank", ["Add"], [[5], [2, 3, 5]], x => Ops.Add(x[0], x[1])),
        new("add_scalar", ["Add"], [[3, 4]], x => Ops.Add(x[0], 2.5)),
        new("sub_broadcast", ["Sub"], [[2, 3, 4], [3, 1]], x => Ops.Sub(x[0], x[1])),
        new("sub_scalar_left", ["Sub"], [[2, 3]], x => 1.5 - x[0]),
        new("mul_broadcast", ["Mul"], [[2, 3, 4], [2, 1, 4]], x => Ops.Mul(x[0], x[1])),
        new("mul_channel_scale", ["Mul"], [[2, 3, 4, 5], [2, 3, 1, 1]], x => Ops.Mul(x[0], x[1])),
        new("mul_channel_scale_first", ["Mul"], [[2, 3, 1, 1], [2, 3, 4, 5]], x => Ops.Mul(x[0], x[1])),
        new("mul_trailing_block", ["Mul"], [[2, 3, 4], [2, 1, 1]], x => Ops.Mul(x[0], x[1])),
        new("mul_scalar", ["Mul"], [[2, 3]], x => Ops.Mul(x[0], -3.0)),
        new("div_broadcast", ["Div"], [[2, 3, 4], [1, 4]], x => Ops.Div(x[0], x[1]), "awayFromZero"),
        new("div_scalar_left", ["Div"], [[5]], x => 2.0 / x[0], "awayFromZero"),
        new("pow_tensor", ["Pow"], [[2, 3], [2, 3]], x => Ops.Pow(x[0], x[1]), "positive"),
        new("pow_broadcast_exponent", ["Pow"], [[2, 3], [1]], x => Ops.Pow(x[0], x[1]), "positive"),
        new("pow_const", ["Pow"], [[2, 3]], x => Ops.Pow(x[0], 3.0)),
        new("pow_const_frac", ["Pow"], [[2, 3]], x => Ops.Pow(x[0], 0.5), "positive"),
        new("minimum", ["Minimum"], [[3, 4], [3, 4]], x => Ops.Minimum(x[0], x[1])),
        new("minimum_broadcast", ["Minimum"], [[3, 4], [4]], x => Ops.Minimum(x[0], x[1])),
        new("maximum", ["Maximum"], [[3, 4], [3, 1]], x => Ops.Maximum(x[0], x[1])),
        new("neg", ["Neg"], [[2, 5]], x => Ops.Neg(x[0])),
        new("exp", ["Exp"], [[2, 5]], x => Ops.Exp(x[0])),
        new("log", ["Log"], [[2, 5]], x => Ops.Log(x[0]), "positive"),
        new("sqrt", ["Sqrt"], [[2, 5]], x => Ops.Sqrt(x[0]), "positive"),
        new("abs", ["Abs"], [[2, 5]], x => Ops.Abs(x[0]), "awayFromZero"),
        new("sign_times_x", ["Sign"], [[2, 5]], x => Ops.Mul(Ops.Sign(x[0]), x[0]), "awayFromZero"),
        new("clamp", ["Clamp"], [[4, 5]], x => Ops.Clamp(x[0], -0.9, 1.1)),
        new("clamp_lower_only", ["Clamp"], [[4, 5]], x => Ops.Clamp(x[0], -0.9, double.NaN)),
        new("where", ["Where"], [[3, 4], [3, 4], [3, 4]], x => Ops.Where(Ops.Greater(x[0], x[0].ZerosLike()), x[1], x[2])),
        new("where_broadcast", ["Where"], [[3, 1], [3, 4], [4]], x => Ops.Where(Ops.Greater(x[0], x[0].ZerosLike()), x[1], x[2])),
        new("relu", ["Relu"], [[3, 7]], x => Ops.Relu(x[0]), "awayFromZero"),
        new("sigmoid", ["Sigmoid"], [[3, 7]], x => Ops.Sigmoid(x[0])),
        new("tanh", ["Tanh"], [[3, 7]], x => Ops.Tanh(x[0])),
        new("softmax_last", ["Softmax"], [[3, 7]], x => Ops.Softmax(x[0], -1)),
        new("softmax_channels_nchw", ["Softmax"], [[2, 4, 3, 2]], x => Ops.Softmax(x[0], 1)),
        new("log_softmax_last", ["LogSoftmax"], [[3, 7]], x => Ops.LogSoftmax(x[0], 1)),
        new("log_softmax_channels_nchw", ["LogSoftmax"], [[2, 4, 3, 2]], x => Ops.LogSoftmax(x[0], 1)),
        new("sum_all", ["Sum"], [[3, 4]], x => Ops.Sum(x[0])),
        new("sum_axes", ["Sum"], [[2, 3, 4]], x => Ops.Sum(x[0], [0, 2])),
        new("sum_keepdim", ["Sum"], [[2, 3, 4]], x => Ops.Sum(x[0], [1], keepDim: true)),
        new("mean_all", ["Mean"], [[3, 4]], x => Ops.Mean(x[0])),
        new("mean_axes", ["Mean"], [[2, 3, 4]], x => Ops.Mean(x[0], [-1])),
        new("sum_to", ["SumTo"], [[2, 3, 4]], x => Ops.SumTo(x[0], [3, 1])),
        new("max_all", ["Max"], [[3, 4]], x => Ops.Max(x[0])),
        new("max_axis", ["Max"], [[2, 5, 3]], x => Ops.Max(x[0], 1)),
        new("max_axis_keepdim", ["Max"], [[2, 5, 3]], x => Ops.Max(x[0], -1, keepDim: true)),
        new("matmul_2d", ["MatMul"], [[3, 5], [5, 4]], x => Ops.MatMul(x[0], x[1])),
        new("matmul_odd", ["MatMul"], [[1, 7], [7, 1]], x => Ops.MatMul(x[0], x[1])),
        new("matmul_batched", ["MatMul"], [[2, 3, 4], [2, 4, 5]], x => Ops.MatMul(x[0], x[1])),
        new("matmul_broadcast_batch", ["MatMul"], [[2, 1, 3, 4], [3, 4, 2]], x => Ops.MatMul(x[0], x[1])),
        new("reshape", ["Reshape"], [[2, 6]], x => Ops.Mul(Ops.Reshape(x[0], 3, -1), Ops.Reshape(x[0], 3, 4))),
        new("flatten", ["Flatten"], [[2, 3, 4]], x => Ops.Flatten(x[0], 1)),
        new("unsqueeze_squeeze", ["Unsqueeze", "Squeeze"], [[3, 4]], x => Ops.Squeeze(Ops.Mul(Ops.Unsqueeze(x[0], 1), Ops.Unsqueeze(x[0], 1)), 1)),
        new("permute", ["Permute"], [[2, 3, 4]], x => Ops.Permute(x[0], 2, 0, 1)),
        new("transpose", ["Transpose"], [[2, 3, 4]], x => Ops.Transpose(x[0], 0, 2)),
        new("broadcast_to", ["BroadcastTo"], [[3, 1]], x => Ops.BroadcastTo(x[0], [2, 3, 4])),
        new("slice", ["Slice"], [[4, 6]], x => Ops.Slice(x[0], 1, 1, 5)),
        new("slice_step", ["Slice"], [[7, 3]], x => Ops.Slice(x[0], 0, 1, 7, 2)),
        new("select", ["Select"], [[4, 3, 2]], x => Ops.Select(x[0], 1, -1)),
        new("cat", ["Cat"], [[2, 3], [2, 1], [2, 2]], x => Ops.Cat(x, 1)),
        new("stack", ["Stack"], [[2, 3], [2, 3]], x => Ops.Stack(x, 1)),
        new("composite_mlp", ["MatMul", "Add", "Tanh", "LogSoftmax"], [[4, 3], [3, 5], [5]],
            x => Ops.LogSoftmax(Ops.Tanh(Ops.Add(Ops.MatMul(x[0], x[1]), x[2])), 1)),
    ];
}
