// Gradient-check cases for the transformer layers: layer normalisation (with and without affine parameters, a row
// wider than one SIMD vector) and GELU in its tanh form.
namespace SegLab.Engine.Tests.Autograd;

internal static partial class OpTable
{
    public static readonly OpCase[] Transformer =
    [
        new("layer_norm_affine", ["LayerNorm"], [[2, 3, 5], [5], [5]], x => Ops.LayerNorm(x[0], x[1], x[2])),
        new("layer_norm_plain", ["LayerNorm"], [[4, 6]], x => Ops.LayerNorm(x[0], null, null, eps: 1e-3)),
        new("layer_norm_weight_only_wide_row", ["LayerNorm"], [[3, 19], [19]], x => Ops.LayerNorm(x[0], x[1], null)),
        new("layer_norm_bias_only", ["LayerNorm"], [[2, 2, 4], [4]], x => Ops.LayerNorm(x[0], null, x[1])),
        new("layer_norm_then_matmul", ["LayerNorm", "MatMul"], [[2, 3, 4], [4], [4], [4, 3]], x => Ops.MatMul(Ops.LayerNorm(x[0], x[1], x[2]), x[3])),
        new("gelu_tanh", ["GeluTanh"], [[3, 7]], x => Ops.GeluTanh(Ops.Mul(x[0], 2.0))),
    ];
}
