// Gradient-check cases for convolution and transposed convolution (input, weight and bias gradients), one or
// more per kernel path: general im2col (stride, padding, dilation, rectangular), 1x1 GEMM, depthwise SIMD
// (plain, dilated, strided), grouped, and the transposed conv's fold and flipped-filter paths. Tiny shapes:
// the checker does two forward passes per input element.
namespace SegLab.Engine.Tests.Autograd;

internal static partial class OpTable
{
    public static readonly OpCase[] Conv =
    [
        new("conv_3x3_pad_bias_batch2", ["Conv2d"], [[2, 3, 5, 6], [4, 3, 3, 3], [4]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 1)),
        new("conv_stride2_nobias", ["Conv2d"], [[1, 2, 7, 6], [3, 2, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 2, 1)),
        new("conv_dilated", ["Conv2d"], [[1, 2, 7, 7], [2, 2, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 2, 2)),
        new("conv_stride2_dilated_batch2_bias", ["Conv2d"], [[2, 2, 8, 7], [3, 2, 3, 3], [3]], x => Ops.Conv2d(x[0], x[1], x[2], 2, 2, 2)),
        new("conv_pad_beyond_kernel", ["Conv2d"], [[1, 2, 4, 3], [2, 2, 2, 2]], x => Ops.Conv2d(x[0], x[1], null, 1, 2)),
        new("conv_grouped", ["Conv2d"], [[1, 4, 5, 5], [6, 2, 3, 3], [6]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 1, 1, 2)),
        new("conv_grouped_stride2", ["Conv2d"], [[1, 4, 6, 5], [4, 2, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 2, 1, 1, 2)),
        new("conv_channel_multiplier", ["Conv2d"], [[1, 2, 5, 4], [4, 1, 3, 3], [4]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 1, 1, 2)),
        new("conv_depthwise", ["Conv2d"], [[2, 3, 6, 5], [3, 1, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 1, 1, 3)),
        new("conv_depthwise_dilated_bias", ["Conv2d"], [[1, 3, 7, 7], [3, 1, 3, 3], [3]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 2, 2, 3)),
        new("conv_depthwise_stride2", ["Conv2d"], [[1, 2, 7, 6], [2, 1, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 2, 1, 1, 2)),
        new("conv_depthwise_stride2_dilated_bias", ["Conv2d"], [[1, 2, 9, 8], [2, 1, 3, 3], [2]], x => Ops.Conv2d(x[0], x[1], x[2], 2, 2, 2, 2)),
        new("conv_depthwise_wide_simd", ["Conv2d"], [[1, 2, 3, 21], [2, 1, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 1, 1, 2)),
        new("conv_pointwise", ["Conv2d"], [[2, 3, 4, 3], [5, 3, 1, 1], [5]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 0)),
        new("conv_pointwise_stride2", ["Conv2d"], [[1, 3, 5, 5], [2, 3, 1, 1]], x => Ops.Conv2d(x[0], x[1], null, 2, 0)),
        new("conv_rect_kernel", ["Conv2d"], [[1, 2, 6, 7], [2, 2, 1, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 2, 0, 1, 1, 1, 1)),
        new("conv_rect_kernel_dilation_bias", ["Conv2d"], [[1, 2, 7, 6], [3, 2, 3, 2], [3]], x => Ops.Conv2d(x[0], x[1], x[2], 2, 1, 2, 1, 1, 2, 1)),
        new("conv_transpose_s2", ["ConvTranspose2d"], [[1, 3, 3, 4], [3, 2, 2, 2]], x => Ops.ConvTranspose2d(x[0], x[1], null, 2, 0)),
        new("conv_transpose_pad_outpad_bias", ["ConvTranspose2d"], [[2, 2, 3, 3], [2, 3, 3, 3], [3]], x => Ops.ConvTranspose2d(x[0], x[1], x[2], 2, 1, 1)),
        new("conv_transpose_s1_pad1", ["ConvTranspose2d"], [[1, 2, 4, 3], [2, 2, 3, 3], [2]], x => Ops.ConvTranspose2d(x[0], x[1], x[2], 1, 1)),
        new("conv_transpose_dilated_outpad", ["ConvTranspose2d"], [[1, 2, 3, 3], [2, 2, 3, 3]], x => Ops.ConvTranspose2d(x[0], x[1], null, 1, 0, 1, 2)),
        new("conv_transpose_grouped", ["ConvTranspose2d"], [[1, 4, 3, 3], [4, 1, 3, 3]], x => Ops.ConvTranspose2d(x[0], x[1], null, 1, 1, 0, 1, 2)),
        new("conv_transpose_depthwise_s2", ["ConvTranspose2d"], [[1, 2, 3, 4], [2, 1, 3, 3], [2]], x => Ops.ConvTranspose2d(x[0], x[1], x[2], 2, 1, 1, 1, 2)),
        new("conv_transpose_rect", ["ConvTranspose2d"], [[1, 2, 3, 4], [2, 3, 2, 3]], x => Ops.ConvTranspose2d(x[0], x[1], null, 2, 3, 1, 0, 1, 2, 1, 1, 1)),
    ];
}
