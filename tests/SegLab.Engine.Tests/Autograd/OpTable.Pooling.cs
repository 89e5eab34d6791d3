// Gradient-check cases for pooling, unpooling and resizing (MaxPool2d.cs, AvgPool2d.cs, Interpolate.cs, InterpolateAntialias.cs, Resample.cs).
// Uniform random inputs have no ties, so max pooling is differentiable at the sampled points.
namespace SegLab.Engine.Tests.Autograd;

internal static partial class OpTable
{
    /// <summary>A fixed unpooling pattern: for every element of a [n, c, h, w] map, a distinct flat position in an [outH, outW] plane.</summary>
    private static int[] UnpoolPattern(int n, int c, int h, int w, int outH, int outW)
    {
        var idx = new int[n * c * h * w];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    idx[(p * h + i) * w + j] = (2 * i + (p + j) % 2) * outW + 2 * j + (p + i) % 2;
        return idx;
    }

    public static readonly OpCase[] Pooling =
    [
        new("maxpool_k2s2", ["MaxPool2d"], [[2, 3, 6, 8]], x => Ops.MaxPool2d(x[0], 2, 2)),
        new("maxpool_k3s2p1", ["MaxPool2d"], [[1, 2, 7, 9]], x => Ops.MaxPool2d(x[0], 3, 2, 1)),
        new("maxpool_k3s2p1_ceil", ["MaxPool2d"], [[1, 2, 7, 8]], x => Ops.MaxPool2d(x[0], 3, 2, 1, ceilMode: true)),
        new("maxpool_rect_dilated", ["MaxPool2d"], [[1, 2, 9, 7]], x => Ops.MaxPool2d(x[0], 3, 2, 2, 1, padH: 1, padW: 1, dilationH: 2, dilationW: 1)),
        new("maxpool_dilated_ceil", ["MaxPool2d"], [[1, 1, 8, 8]], x => Ops.MaxPool2d(x[0], 2, 2, 3, 3, 1, 1, 2, 2, ceilMode: true)),
        new("maxpool_with_indices_values", ["MaxPool2dWithIndices"], [[1, 2, 7, 9]], x => Ops.MaxPool2dWithIndices(x[0], 3, 2, 1, ceilMode: true).Values),
        new("maxunpool_pattern", ["MaxUnpool2d"], [[2, 2, 3, 4]], x => Ops.MaxUnpool2d(x[0], UnpoolPattern(2, 2, 3, 4, 7, 9), 7, 9)),
        new("maxpool_then_unpool", ["MaxPool2dWithIndices", "MaxUnpool2d"], [[1, 2, 6, 8]], x =>
        {
            var (v, idx) = Ops.MaxPool2dWithIndices(x[0], 2, 2);
            return Ops.MaxUnpool2d(Ops.Mul(v, v), idx, 6, 8);
        }),
        new("avgpool_k2s2", ["AvgPool2d"], [[2, 3, 6, 8]], x => Ops.AvgPool2d(x[0], 2, 2)),
        new("avgpool_k3s2p1_include_pad", ["AvgPool2d"], [[1, 2, 7, 9]], x => Ops.AvgPool2d(x[0], 3, 2, 1)),
        new("avgpool_k3s2p1_exclude_pad", ["AvgPool2d"], [[1, 2, 7, 9]], x => Ops.AvgPool2d(x[0], 3, 2, 1, countIncludePad: false)),
        new("avgpool_ceil_include_pad", ["AvgPool2d"], [[1, 2, 8, 7]], x => Ops.AvgPool2d(x[0], 3, 2, 1, ceilMode: true)),
        new("avgpool_ceil_exclude_pad_rect", ["AvgPool2d"], [[1, 1, 8, 7]], x => Ops.AvgPool2d(x[0], 3, 2, 2, 3, 1, 1, ceilMode: true, countIncludePad: false)),
        new("adaptive_avg_7x9_to_3x4", ["AdaptiveAvgPool2d"], [[1, 2, 7, 9]], x => Ops.AdaptiveAvgPool2d(x[0], 3, 4)),
        new("adaptive_avg_5x5_to_3x2", ["AdaptiveAvgPool2d"], [[2, 1, 5, 5]], x => Ops.AdaptiveAvgPool2d(x[0], 3, 2)),
        new("adaptive_avg_up_3x2_to_4x5", ["AdaptiveAvgPool2d"], [[1, 2, 3, 2]], x => Ops.AdaptiveAvgPool2d(x[0], 4, 5)),
        new("global_avg", ["GlobalAvgPool2d"], [[2, 3, 4, 5]], x => Ops.GlobalAvgPool2d(x[0])),
        new("bilinear_up_odd", ["Interpolate"], [[1, 2, 4, 5]], x => Ops.Interpolate(x[0], 9, 13, InterpolationMode.Bilinear)),
        new("bilinear_up_odd_align", ["Interpolate"], [[1, 2, 4, 5]], x => Ops.Interpolate(x[0], 9, 13, InterpolationMode.Bilinear, alignCorners: true)),
        new("bilinear_down", ["Interpolate"], [[1, 2, 9, 11]], x => Ops.Interpolate(x[0], 4, 3, InterpolationMode.Bilinear)),
        new("bilinear_down_align", ["Interpolate"], [[1, 2, 9, 11]], x => Ops.Interpolate(x[0], 4, 3, InterpolationMode.Bilinear, alignCorners: true)),
        new("bilinear_to_one_pixel_align", ["Interpolate"], [[1, 1, 3, 4]], x => Ops.Interpolate(x[0], 1, 1, InterpolationMode.Bilinear, alignCorners: true)),
        new("bilinear_scale_2_5", ["Interpolate"], [[1, 2, 3, 4]], x => Ops.Interpolate(x[0], 2.5, InterpolationMode.Bilinear)),
        new("bilinear_wide_vector_path", ["Interpolate"], [[1, 1, 3, 6]], x => Ops.Interpolate(x[0], 5, 21, InterpolationMode.Bilinear)),
        new("bilinear_antialias_down", ["InterpolateAntialias"], [[1, 2, 9, 11]], x => Ops.InterpolateAntialias(x[0], 4, 3)),
        new("bilinear_antialias_up_and_down", ["InterpolateAntialias"], [[1, 1, 4, 9]], x => Ops.InterpolateAntialias(x[0], 7, 4)),
        new("nearest_up", ["Interpolate"], [[1, 2, 4, 5]], x => Ops.Interpolate(x[0], 9, 13, InterpolationMode.Nearest)),
        new("nearest_down", ["Interpolate"], [[1, 2, 9, 11]], x => Ops.Interpolate(x[0], 4, 3, InterpolationMode.Nearest)),
        new("nearest_scale_2", ["Interpolate"], [[1, 2, 3, 4]], x => Ops.Interpolate(x[0], 2.0, InterpolationMode.Nearest)),
        new("resample_two_tap_tables", ["Resample2d"], [[2, 2, 3, 4]], x => Ops.Resample2d(x[0],
            new ResampleAxis([0, 0, 1, 2, 2], [1, 1, 2, 2, 2], [0.0, 0.25, 0.5, 0.75, 0.0]),
            new ResampleAxis([0, 1, 1, 3, 2, 0], [1, 2, 1, 3, 3, 3], [0.5, 0.1, 0.0, 1.0, 0.3, 0.6]))),
        new("resample_nearest_table", ["Resample2d"], [[1, 2, 4, 3]], x => Ops.Resample2d(x[0],
            ResampleAxis.Nearest([3, 2, 0]), ResampleAxis.Nearest([0, 0, 1, 2, 2, 1, 0]))),
    ];
}
