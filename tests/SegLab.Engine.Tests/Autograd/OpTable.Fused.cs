// Gradient-check cases for fused operations.
namespace SegLab.Engine.Tests.Autograd;

internal static partial class OpTable
{
    public static readonly OpCase[] Fused =
    [
        new("batch_norm_prelu_affine", ["BatchNormPrelu"], [[2, 3, 2, 3], [3], [3], [3]],
            x => Ops.BatchNormPrelu(x[0], x[1], x[2], Tensor.FromArray(new double[] { 0.1, -0.2, 0.3 }, 3).To(x[0].DType), Tensor.FromArray(new double[] { 0.5, 1.5, 2 }, 3).To(x[0].DType), x[3], 1e-3)),
        new("batch_norm_prelu_plain_shared_slope", ["BatchNormPrelu"], [[2, 2, 5], [1]],
            x => Ops.BatchNormPrelu(x[0], null, null, Tensor.FromArray(new double[] { 0.2, -0.1 }, 2).To(x[0].DType), Tensor.FromArray(new double[] { 1.2, 0.7 }, 2).To(x[0].DType), x[1])),
        new("cat_batch_norm_prelu_three_parts", ["CatBatchNormPrelu"], [[2, 1, 2, 3], [2, 2, 2, 3], [2, 1, 2, 3], [4], [4], [4]],
            x => Ops.CatBatchNormPrelu([x[0], x[1], x[2]], x[3], x[4], Tensor.FromArray(new double[] { 0.1, -0.2, 0.3, 0 }, 4).To(x[0].DType), Tensor.FromArray(new double[] { 0.5, 1.5, 2, 1 }, 4).To(x[0].DType), x[5], 1e-3)),
        new("cat_batch_norm_prelu_same_part_twice", ["CatBatchNormPrelu"], [[1, 2, 3, 7], [1]], // 21-value planes: vector body and tail
            x => Ops.CatBatchNormPrelu([x[0], x[0]], null, null, Tensor.FromArray(new double[] { 0.2, -0.1, 0, 0.3 }, 4).To(x[0].DType), Tensor.FromArray(new double[] { 1.2, 0.7, 1, 2 }, 4).To(x[0].DType), x[1])),
        new("batch_norm_relu_train_affine", ["BatchNormRelu"], [[3, 2, 2, 3], [2], [2]],
            x => Ops.BatchNormRelu(x[0], x[1], x[2], Stats(x[0], 2, 0), Stats(x[0], 2, 1), training: true)),
        new("batch_norm_relu_train_plain_wide_plane", ["BatchNormRelu"], [[2, 2, 3, 7]], // 21-value planes: vector body and tail
            x => Ops.BatchNormRelu(x[0], null, null, Stats(x[0], 2, 0), Stats(x[0], 2, 1), training: true, momentum: 0.5)),
        new("add_channel_scaled", ["AddChannelScaled"], [[2, 3, 2, 5], [2, 3, 2, 5], [2, 3]],
            x => Ops.AddChannelScaled(x[0], x[1], x[2])),
        new("add_channel_scaled_4d_scale_wide_plane", ["AddChannelScaled"], [[1, 2, 3, 7], [1, 2, 3, 7], [1, 2, 1, 1]], // 21-value planes: vector body and tail
            x => Ops.AddChannelScaled(x[0], x[1], x[2])),
        new("batch_norm_relu_eval", ["BatchNormRelu"], [[2, 3, 2, 5], [3], [3]],
            x => Ops.BatchNormRelu(x[0], x[1], x[2], Stats(x[0], 3, 0.2), Stats(x[0], 3, 1.5), training: false, eps: 1e-3)),
    ];
}
