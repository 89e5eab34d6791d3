// Gradient-check cases for convolution and transposed convolution (input, weight and bias gradients).
namespace SegLab.Engine.Tests.Autograd;

internal static partial class OpTable
{
    public static readonly OpCase[] Conv =
    [
        new("conv_3x3_pad_bias", ["Conv2d"], [[2, 3, 5, 6], [4, 3, 3, 3], [4]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 1)),
        new("conv_stride2_nobias", ["Conv2d"], [[1, 2, 7, 6], [3, 2, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 2, 1)),
        new("conv_dilated", ["Conv2d"], [[1, 2, 7, 7], [2, 2, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 2, 2)),
        new("conv_grouped", ["Conv2d"], [[1, 4, 5, 5], [6, 2, 3, 3], [6]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 1, 1, 2)),
        new("conv_depthwise", ["Conv2d"], [[2, 3, 6, 5], [3, 1, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 1, 1, 3)),
        new("conv_depthwise_dilated_bias", ["Conv2d"], [[1, 3, 7, 7], [3, 1, 3, 3], [3]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 2, 2, 3)),
        new("conv_depthwise_stride2", ["Conv2d"], [[1, 2, 7, 6], [2, 1, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 2, 1, 1, 2)),
        new("conv_pointwise", ["Conv2d"], [[2, 3, 4, 3], [5, 3, 1, 1], [5]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 0)),
        new("conv_rect_kernel", ["Conv2d"], [[1, 2, 6, 7], [2, 2, 1, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 2, 0, 1, 1, 1, 1)),
        new("conv_transpose_s2", ["ConvTranspose2d"], [[1, 3, 3, 4], [3, 2, 2, 2]], x => Ops.ConvTranspose2d(x[0], x[1], null, 2, 0)),
        new("conv_transpose_pad_outpad_bias", ["ConvTranspose2d"], [[2, 2, 3, 3], [2, 3, 3, 3], [3]], x => Ops.ConvTranspose2d(x[0], x[1], x[2], 2, 1, 1)),
        new("conv_transpose_grouped", ["ConvTranspose2d"], [[1, 4, 3, 3], [4, 1, 3, 3]], x => Ops.ConvTranspose2d(x[0], x[1], null, 1, 1, 0, 1, 2)),
    ];
}
