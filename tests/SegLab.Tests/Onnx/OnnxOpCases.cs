// The table of ONNX parity cases: every supported op, with the attribute and input forms of the opsets that changed
// them, each a small graph on one input "x". OnnxOpParityTests runs every case on ONNX Runtime and on SegLab.
namespace SegLab.Tests.Onnx;

/// <summary>One parity case: a model and the shape of its input "x".</summary>
internal sealed record OnnxCase(string Name, Func<OnnxBuilder> Build, int[] Input)
{
    public override string ToString() => Name;
}

internal static class OnnxOpCases
{
    private static readonly int[] X = [2, 4, 6, 7];

    private static OnnxCase Case(string name, long opset, int[] input, Action<OnnxBuilder> body) => new(name, () =>
    {
        var b = new OnnxBuilder(opset).Input("x", input.Select(d => (long?)d).ToArray()).Output("y");
        body(b);
        return b;
    }, input);

    private static OnnxCase Unary(string op, long opset, params (string, object)[] attrs) =>
        Case($"{op}_{opset}" + string.Concat(attrs.Select(a => "_" + a.Item1)), opset, X, b => b.Node(op, ["x"], ["y"], attrs));

    private static OnnxCase Binary(string op, long opset, long[] otherDims) =>
        Case($"{op}_{opset}_[{string.Join(",", otherDims)}]", opset, X, b => b.Random("w", otherDims, 0.5, 1.5).Node(op, ["x", "w"], ["y"]));

    public static IEnumerable<OnnxCase> All()
    {
        foreach (long opset in new long[] { 8, 13 })
        {
            yield return Case($"Conv_{opset}_bias_pads", opset, X, b => b.Random("w", [5, 4, 3, 3]).Random("b", [5])
                .Node("Conv", ["x", "w", "b"], ["y"], ("pads", new long[] { 1, 1, 1, 1 })));
            yield return Case($"Conv_{opset}_groups_dilation_stride_asymmetric", opset, X, b => b.Random("w", [6, 2, 3, 2])
                .Node("Conv", ["x", "w"], ["y"], ("group", 2L), ("dilations", new long[] { 2, 1 }), ("strides", new long[] { 2, 1 }),
                    ("pads", new long[] { 1, 0, 2, 1 }), ("kernel_shape", new long[] { 3, 2 })));
        }
        yield return Case("Conv_11_depthwise", 11, X, b => b.Random("w", [4, 1, 3, 3]).Node("Conv", ["x", "w"], ["y"], ("group", 4L), ("pads", new long[] { 1, 1, 1, 1 })));
        foreach (var mode in new[] { "SAME_UPPER", "SAME_LOWER", "VALID" })
            yield return Case($"Conv_11_auto_pad_{mode}", 11, X, b => b.Random("w", [3, 4, 4, 3])
                .Node("Conv", ["x", "w"], ["y"], ("auto_pad", mode), ("strides", new long[] { 2, 2 })));
        yield return Case("ConvTranspose_11_stride2_pads_output_padding", 11, X, b => b.Random("w", [4, 3, 3, 3]).Random("b", [3])
            .Node("ConvTranspose", ["x", "w", "b"], ["y"], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }), ("output_padding", new long[] { 1, 1 })));
        yield return Case("ConvTranspose_13_asymmetric_groups", 13, X, b => b.Random("w", [4, 1, 2, 3]).Random("b", [2])
            .Node("ConvTranspose", ["x", "w", "b"], ["y"], ("strides", new long[] { 2, 3 }), ("group", 2L), ("pads", new long[] { 0, 1, 1, 0 })));
        yield return Case("ConvTranspose_17_output_shape", 17, X, b => b.Random("w", [4, 2, 3, 3])
            .Node("ConvTranspose", ["x", "w"], ["y"], ("strides", new long[] { 2, 2 }), ("output_shape", new long[] { 12, 14 })));

        foreach (long opset in new long[] { 8, 9, 15 })
            yield return Case($"BatchNormalization_{opset}", opset, X, b => b.Random("s", [4]).Random("bb", [4]).Random("m", [4]).Random("v", [4], 0.5, 2)
                .Node("BatchNormalization", ["x", "s", "bb", "m", "v"], ["y"], ("epsilon", 1e-3f)));

        foreach (long opset in new long[] { 8, 14 })
        {
            yield return Unary("Relu", opset);
            yield return Unary("Sigmoid", opset);
            yield return Unary("Tanh", opset);
            yield return Unary("LeakyRelu", opset, ("alpha", 0.2f));
            yield return Unary("HardSigmoid", opset, ("alpha", 0.3f), ("beta", 0.4f));
            yield return Case($"PRelu_{opset}_per_channel", opset, X, b => b.Random("s", [4, 1, 1]).Node("PRelu", ["x", "s"], ["y"]));
            yield return Case($"PRelu_{opset}_per_column", opset, X, b => b.Random("s", [7]).Node("PRelu", ["x", "s"], ["y"]));
            foreach (var op in new[] { "Add", "Sub", "Mul", "Div" })
            {
                yield return Binary(op, opset, [1, 4, 1, 1]);
                yield return Binary(op, opset, [7]);
                yield return Binary(op, opset, [2, 1, 6, 1]);
            }
        }
        yield return Unary("HardSwish", 14);
        yield return Unary("HardSigmoid", 14);
        yield return Unary("Clip", 8, ("min", -0.5f), ("max", 1.0f));
        yield return Case("Clip_13_inputs", 13, X, b => b.Float("lo", [-0.3f]).Float("hi", [0.7f]).Node("Clip", ["x", "lo", "hi"], ["y"]));
        yield return Case("Clip_13_max_only", 13, X, b => b.Float("hi", [0.7f]).Node("Clip", ["x", "", "hi"], ["y"]));

        foreach (var c in ShapeCases()) yield return c;
        foreach (var c in PoolCases()) yield return c;
        foreach (var c in ResizeCases()) yield return c;
        foreach (var c in LinearCases()) yield return c;
    }

    private static IEnumerable<OnnxCase> ShapeCases()
    {
        yield return Case("Concat_11_with_initializer", 11, X, b => b.Random("w", [2, 3, 6, 7]).Node("Concat", ["x", "w", "x"], ["y"], ("axis", 1L)));
        yield return Case("Split_11_attr", 11, X, b => b.Node("Split", ["x"], ["a", "c"], ("axis", 1L), ("split", new long[] { 1, 3 }))
            .Node("Mul", ["a", "a"], ["a2"]).Node("Concat", ["c", "a2"], ["y"], ("axis", 1L)));
        yield return Case("Split_13_input", 13, X, b => b.Int64("sp", [4, 3], 2).Node("Split", ["x", "sp"], ["a", "c"], ("axis", -1L))
            .Node("Slice", ["a", "s0", "s1", "s2"], ["a3"]).Int64("s0", [1], 1).Int64("s1", [4], 1).Int64("s2", [3], 1).Node("Concat", ["a3", "c"], ["y"], ("axis", 3L)));
        yield return Case("Split_18_num_outputs", 18, X, b => b.Node("Split", ["x"], ["a", "c", "d"], ("axis", 3L), ("num_outputs", 3L))
            .Node("Concat", ["d", "c", "a"], ["y"], ("axis", 3L)));
        yield return Case("Slice_9_attrs", 9, X, b => b.Node("Slice", ["x"], ["y"], ("starts", new long[] { 1, -5 }), ("ends", new long[] { 3, 1000 }), ("axes", new long[] { 1, 3 })));
        yield return Case("Slice_13_steps", 13, X, b => b.Int64("st", [0, 5, 1], 3).Int64("en", [long.MaxValue, 0, 6], 3).Int64("ax", [1, 3, 2], 3).Int64("sp", [2, -2, 2], 3)
            .Node("Slice", ["x", "st", "en", "ax", "sp"], ["y"]));
        yield return Case("Reshape_13_zero_and_minus_one", 13, X, b => b.Int64("s", [0, -1, 7], 3).Node("Reshape", ["x", "s"], ["y"]));
        yield return Case("Flatten_13_axis2", 13, X, b => b.Node("Flatten", ["x"], ["y"], ("axis", 2L)));
        yield return Case("Transpose_13", 13, X, b => b.Node("Transpose", ["x"], ["y"], ("perm", new long[] { 0, 3, 1, 2 })));
        yield return Case("Squeeze_Unsqueeze_11_attrs", 11, X, b => b.Node("Unsqueeze", ["x"], ["u"], ("axes", new long[] { 0, 3 }))
            .Node("Squeeze", ["u"], ["y"], ("axes", new long[] { 3 })));
        yield return Case("Squeeze_Unsqueeze_13_inputs", 13, X, b => b.Int64("a", [-1], 1).Node("Unsqueeze", ["x", "a"], ["u"]).Node("Squeeze", ["u", "a"], ["y"]));
        yield return Case("Gather_13_axis1", 13, X, b => b.Int64("i", [3, 0, 0, 2], 2, 2).Node("Gather", ["x", "i"], ["y"], ("axis", 1L)));
        yield return Case("Gather_13_scalar_negative", 13, X, b => b.Int64("i", [-1]).Node("Gather", ["x", "i"], ["y"], ("axis", 2L)));
        yield return Case("Pad_10_constant_attr", 10, X, b => b.Node("Pad", ["x"], ["y"], ("pads", new long[] { 0, 0, 1, 2, 0, 1, 0, 3 }), ("value", 0.5f)));
        yield return Case("Pad_13_reflect", 13, X, b => b.Int64("p", [0, 0, 2, 1, 0, 0, 1, 3], 8).Node("Pad", ["x", "p"], ["y"], ("mode", "reflect")));
        yield return Case("Pad_13_edge_crop", 13, X, b => b.Int64("p", [0, 0, -1, 2, 0, 0, 2, -2], 8).Node("Pad", ["x", "p"], ["y"], ("mode", "edge")));
        yield return Case("Identity_Dropout_Cast_13", 13, X, b => b.Node("Identity", ["x"], ["i"]).Node("Dropout", ["i"], ["d"])
            .Node("Cast", ["d"], ["y"], ("to", 1L)));
        yield return Case("Constant_13_operand", 13, X, b => b.Node("Constant", [], ["c"], ("value", OnnxBuilder.FloatTensor("", [0.5f, -1, 2, 3], 4, 1, 1)))
            .Node("Mul", ["x", "c"], ["y"]));
        // PyTorch's dynamic reshape: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
        yield return Case("Shape_subgraph_reshape_13", 13, X, b => b.Node("Shape", ["x"], ["s"]).Int64("zero", [0]).Int64("one", [1])
            .Node("Gather", ["s", "zero"], ["n"], ("axis", 0L)).Node("Gather", ["s", "one"], ["c"], ("axis", 0L))
            .Int64("ax", [0], 1).Node("Unsqueeze", ["n", "ax"], ["n1"]).Node("Unsqueeze", ["c", "ax"], ["c1"]).Int64("m1", [-1], 1)
            .Node("Concat", ["n1", "c1", "m1"], ["shape"], ("axis", 0L)).Node("Reshape", ["x", "shape"], ["y"]));
        // Upsampling to twice the input's spatial size, computed from its shape (Shape -> Slice -> Mul -> Concat -> Resize sizes).
        yield return Case("Shape_subgraph_resize_13", 13, X, b => b.Node("Shape", ["x"], ["s"]).Int64("a", [0], 1).Int64("z", [2], 1).Int64("e", [4], 1)
            .Node("Slice", ["s", "a", "z"], ["nc"]).Node("Slice", ["s", "z", "e"], ["hw"]).Int64("two", [2], 1).Node("Mul", ["hw", "two"], ["hw2"])
            .Node("Concat", ["nc", "hw2"], ["sizes"], ("axis", 0L)).Node("Resize", ["x", "", "", "sizes"], ["y"], ("mode", "linear")));
    }

    private static IEnumerable<OnnxCase> PoolCases()
    {
        yield return Case("MaxPool_8_k3s2p1", 8, X, b => b.Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })));
        yield return Case("MaxPool_12_ceil_dilated", 12, X, b => b.Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }),
            ("ceil_mode", 1L), ("dilations", new long[] { 1, 2 })));
        // Pads only at the end (the CNTK ResNet18's stem pool): run as ceil mode on the unpadded input.
        yield return Case("MaxPool_8_k3s2_pads_end", 8, X, b => b.Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 0, 1, 1 })));
        yield return Case("MaxPool_8_k2x3s2x3_pads_end", 8, X, b => b.Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 3 }), ("strides", new long[] { 2, 3 }), ("pads", new long[] { 0, 0, 1, 2 })));
        // Stride 1: the padded output is one larger than ceil mode's, so the explicit padding stays.
        yield return Case("MaxPool_8_k2s1_pads_end_padded", 8, X, b => b.Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("pads", new long[] { 0, 0, 1, 1 })));
        yield return Case("MaxPool_12_asymmetric_same_upper", 12, X, b => b.Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 3 }), ("strides", new long[] { 2, 2 }), ("auto_pad", "SAME_UPPER")));
        yield return Case("AveragePool_8_exclude_pad", 8, X, b => b.Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })));
        yield return Case("AveragePool_11_include_pad_ceil", 11, X, b => b.Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 3, 2 }), ("strides", new long[] { 2, 2 }),
            ("pads", new long[] { 1, 1, 1, 1 }), ("count_include_pad", 1L), ("ceil_mode", 1L)));
        yield return Case("AveragePool_8_whole_input", 8, X, b => b.Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 6, 7 })));
        yield return Case("GlobalAveragePool_8", 8, X, b => b.Node("GlobalAveragePool", ["x"], ["y"]));
    }

    private static IEnumerable<OnnxCase> ResizeCases()
    {
        int[] s = [1, 2, 5, 6];
        yield return Case("Upsample_8_nearest_attr", 8, s, b => b.Node("Upsample", ["x"], ["y"], ("scales", new float[] { 1, 1, 2, 3 })));
        yield return Case("Upsample_9_linear_input", 9, s, b => b.Float("sc", [1, 1, 2, 2], 4).Node("Upsample", ["x", "sc"], ["y"], ("mode", "linear")));
        yield return Case("Resize_10_nearest", 10, s, b => b.Float("sc", [1, 1, 2, 1.5f], 4).Node("Resize", ["x", "sc"], ["y"]));
        yield return Case("Resize_10_linear", 10, s, b => b.Float("sc", [1, 1, 2, 3], 4).Node("Resize", ["x", "sc"], ["y"], ("mode", "linear")));
        foreach (var coords in new[] { "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric" })
        {
            yield return Case($"Resize_11_linear_sizes_{coords}", 11, s, b => b.Float("roi", [], 0).Float("sc", [], 0).Int64("sz", [1, 2, 9, 4], 4)
                .Node("Resize", ["x", "roi", "sc", "sz"], ["y"], ("mode", "linear"), ("coordinate_transformation_mode", coords)));
            yield return Case($"Resize_13_linear_scales_{coords}", 13, s, b => b.Float("sc", [1, 1, 1.6f, 2.5f], 4)
                .Node("Resize", ["x", "", "sc"], ["y"], ("mode", "linear"), ("coordinate_transformation_mode", coords)));
        }
        foreach (var nearest in new[] { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil" })
            yield return Case($"Resize_13_nearest_{nearest}", 13, s, b => b.Float("sc", [1, 1, 1.5f, 2.5f], 4)
                .Node("Resize", ["x", "", "sc"], ["y"], ("nearest_mode", nearest), ("coordinate_transformation_mode", "half_pixel")));
        yield return Case("Resize_13_nearest_asymmetric_floor", 13, s, b => b.Float("sc", [1, 1, 2, 2], 4)
            .Node("Resize", ["x", "", "sc"], ["y"], ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor")));
        yield return Case("Resize_19_half_pixel_symmetric", 19, s, b => b.Float("sc", [1, 1, 1.7f, 2.2f], 4)
            .Node("Resize", ["x", "", "sc"], ["y"], ("mode", "linear"), ("coordinate_transformation_mode", "half_pixel_symmetric")));
        yield return Case("Resize_18_axes", 18, s, b => b.Int64("sz", [7, 11], 2)
            .Node("Resize", ["x", "", "", "sz"], ["y"], ("mode", "linear"), ("axes", new long[] { 2, 3 })));
        yield return Case("Resize_13_linear_down", 13, [1, 2, 9, 11], b => b.Int64("sz", [1, 2, 4, 5], 4)
            .Node("Resize", ["x", "", "", "sz"], ["y"], ("mode", "linear")));
    }

    private static IEnumerable<OnnxCase> LinearCases()
    {
        yield return Case("Softmax_11_axis1_flattens", 11, X, b => b.Node("Softmax", ["x"], ["y"], ("axis", 1L)));
        yield return Case("Softmax_13_axis1", 13, X, b => b.Node("Softmax", ["x"], ["y"], ("axis", 1L)));
        yield return Case("Softmax_13_default_last", 13, X, b => b.Node("Softmax", ["x"], ["y"]));
        yield return Case("MatMul_13_batched", 13, X, b => b.Random("w", [7, 5]).Node("MatMul", ["x", "w"], ["y"]));
        yield return Case("MatMul_13_vector", 13, X, b => b.Random("w", [7]).Node("MatMul", ["x", "w"], ["y"]));
        yield return Case("Gemm_8_transB_alpha_beta", 8, [3, 10], b => b.Random("w", [4, 10]).Random("c", [4])
            .Node("Gemm", ["x", "w", "c"], ["y"], ("transB", 1L), ("alpha", 0.5f), ("beta", 2.0f)));
        yield return Case("Gemm_13_transA_no_c", 13, [10, 3], b => b.Random("w", [10, 4]).Node("Gemm", ["x", "w"], ["y"], ("transA", 1L)));
        yield return Case("Flatten_Gemm_classifier_13", 13, X, b => b.Random("w", [3, 168]).Random("c", [3])
            .Node("Flatten", ["x"], ["f"]).Node("Gemm", ["f", "w", "c"], ["y"], ("transB", 1L)));
        yield return Case("ReduceMean_13_axes_keepdims", 13, X, b => b.Node("ReduceMean", ["x"], ["y"], ("axes", new long[] { 2, 3 })));
        yield return Case("ReduceMean_13_no_keepdims", 13, X, b => b.Node("ReduceMean", ["x"], ["y"], ("axes", new long[] { 1 }), ("keepdims", 0L)));
        yield return Case("ReduceMean_18_input_axes", 18, X, b => b.Int64("a", [-1, 1], 2).Node("ReduceMean", ["x", "a"], ["y"]));
    }
}
