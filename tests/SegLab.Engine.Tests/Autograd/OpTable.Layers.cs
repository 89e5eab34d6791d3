// Gradient-check cases for normalisation, activations, dropout and cross-entropy. Running statistics are built
// fresh inside each Fn (the training update mutates them), cross-entropy targets are constants with ignored pixels,
// dropout uses a fixed seed inside the Fn so every finite-difference evaluation sees the same mask, and activation
// inputs stay away from the kinks ("awayFromZero" scaled so |x| avoids 0, +-3 and 6 by at least the FD step).
namespace SegLab.Engine.Tests.Autograd;

internal static partial class OpTable
{
    private static Tensor Stats(Tensor like, int c, double v) => Tensor.Full(like.DType, v, c);

    private static Tensor Targets(Tensor like, int[] shape, int classes, int ignore)
    {
        var t = Tensor.Zeros(like.DType, shape);
        for (int i = 0; i < t.Numel; i++) t.SetFlat(i, i % 5 == 3 ? ignore : (i * 7 + 3) % classes);
        return t;
    }

    public static readonly OpCase[] Layers =
    [
        new("batch_norm_train_affine", ["BatchNorm2d"], [[3, 2, 2, 3], [2], [2]],
            x => Ops.BatchNorm2d(x[0], x[1], x[2], Stats(x[0], 2, 0), Stats(x[0], 2, 1), training: true)),
        new("batch_norm_train_plain", ["BatchNorm2d"], [[2, 3, 2, 2]],
            x => Ops.BatchNorm2d(x[0], null, null, Stats(x[0], 3, 0), Stats(x[0], 3, 1), training: true, eps: 1e-3)),
        new("batch_norm_eval", ["BatchNorm2d"], [[2, 3, 2, 2], [3], [3]],
            x => Ops.BatchNorm2d(x[0], x[1], x[2], Stats(x[0], 3, 0.2), Stats(x[0], 3, 1.5), training: false)),
        new("batch_norm_eval_plain", ["BatchNorm2d"], [[2, 3, 2, 2]],
            x => Ops.BatchNorm2d(x[0], null, null, Stats(x[0], 3, -0.3), Stats(x[0], 3, 0.7), training: false)),
        new("batch_norm_train_weight_only_wide_plane", ["BatchNorm2d"], [[2, 2, 3, 7], [2]], // 21-value planes: vector body and tail
            x => Ops.BatchNorm2d(x[0], x[1], null, Stats(x[0], 2, 0), Stats(x[0], 2, 1), training: true, momentum: 0.5)),
        new("batch_norm_eval_bias_only", ["BatchNorm2d"], [[2, 2, 3, 3], [2]],
            x => Ops.BatchNorm2d(x[0], null, x[1], Stats(x[0], 2, 0.1), Stats(x[0], 2, 2), training: false)),
        new("batch_norm_2d_input", ["BatchNorm2d"], [[5, 3], [3], [3]],
            x => Ops.BatchNorm2d(x[0], x[1], x[2], Stats(x[0], 3, 0), Stats(x[0], 3, 1), training: true)),
        new("prelu_per_channel", ["Prelu"], [[2, 3, 2, 2], [3]], x => Ops.Prelu(x[0], x[1]), "awayFromZero"),
        new("prelu_shared", ["Prelu"], [[2, 3, 4], [1]], x => Ops.Prelu(x[0], x[1]), "awayFromZero"),
        new("prelu_per_channel_wide", ["Prelu"], [[2, 2, 11], [2]], x => Ops.Prelu(x[0], x[1]), "awayFromZero"),
        new("leaky_relu", ["LeakyRelu"], [[3, 5]], x => Ops.LeakyRelu(x[0], 0.1), "awayFromZero"),
        new("leaky_relu_negative_slope", ["LeakyRelu"], [[2, 9]], x => Ops.LeakyRelu(x[0], -0.3), "awayFromZero"),
        new("relu6", ["Relu6"], [[4, 5]], x => Ops.Relu6(Ops.Mul(x[0], 4.0)), "awayFromZero"),
        new("hardsigmoid", ["HardSigmoid"], [[4, 5]], x => Ops.HardSigmoid(Ops.Mul(x[0], 2.5)), "awayFromZero"),
        new("hardswish", ["HardSwish"], [[4, 5]], x => Ops.HardSwish(Ops.Mul(x[0], 2.5)), "awayFromZero"),
        new("dropout", ["Dropout"], [[4, 6]], x => Ops.Dropout(x[0], 0.3, training: true, new Rng(5))),
        new("dropout2d", ["Dropout2d"], [[2, 4, 3]], x => Ops.Dropout2d(x[0], 0.5, training: true, new Rng(6))),
        new("dropout_nchw_composite", ["Dropout", "BatchNorm2d", "HardSwish"], [[2, 3, 2, 3]],
            x => Ops.HardSwish(Ops.Dropout(Ops.BatchNorm2d(x[0], null, null, Stats(x[0], 3, 0), Stats(x[0], 3, 1), training: true), 0.4, training: true, new Rng(7)))),
        new("cross_entropy_mean_ignore", ["CrossEntropy"], [[2, 4, 3, 3]],
            x => Ops.CrossEntropy(x[0], Targets(x[0], [2, 3, 3], 4, 255), ignoreIndex: 255)),
        new("cross_entropy_weighted", ["CrossEntropy"], [[2, 4, 3, 2]],
            x => Ops.CrossEntropy(x[0], Targets(x[0], [2, 3, 2], 4, -100), classWeights: Tensor.FromArray(new double[] { 0.5, 2, 1, 0.25 }, 4).To(x[0].DType))),
        new("cross_entropy_weighted_ignore_wide_plane", ["CrossEntropy"], [[2, 3, 3, 7]], // 21-pixel planes: vector body and tail
            x => Ops.CrossEntropy(Ops.Mul(x[0], 3.0), Targets(x[0], [2, 3, 7], 3, 255), ignoreIndex: 255, classWeights: Tensor.FromArray(new double[] { 1.5, 0.5, 3 }, 3).To(x[0].DType))),
        new("cross_entropy_nc_mean_weighted_ignore", ["CrossEntropy"], [[6, 4]],
            x => Ops.CrossEntropy(x[0], Targets(x[0], [6], 4, -100), classWeights: Tensor.FromArray(new double[] { 0.5, 2, 1, 0.25 }, 4).To(x[0].DType))),
        new("cross_entropy_sum_weighted_nchw", ["CrossEntropy"], [[2, 4, 2, 3]],
            x => Ops.CrossEntropy(x[0], Targets(x[0], [2, 2, 3], 4, 9), ignoreIndex: 9, classWeights: Tensor.FromArray(new double[] { 0.5, 2, 1, 0.25 }, 4).To(x[0].DType), reduction: Reduction.Sum)),
        new("cross_entropy_none_weighted_nc", ["CrossEntropy"], [[5, 3]],
            x => Ops.CrossEntropy(x[0], Targets(x[0], [5], 3, -1), ignoreIndex: -1, classWeights: Tensor.FromArray(new double[] { 2, 0.5, 1 }, 3).To(x[0].DType), reduction: Reduction.None)),
        new("cross_entropy_sum", ["CrossEntropy"], [[3, 5]],
            x => Ops.CrossEntropy(x[0], Targets(x[0], [3], 5, -100), reduction: Reduction.Sum)),
        new("cross_entropy_none", ["CrossEntropy"], [[2, 3, 2, 2]],
            x => Ops.CrossEntropy(x[0], Targets(x[0], [2, 2, 2], 3, 7), ignoreIndex: 7, reduction: Reduction.None)),
    ];
}
