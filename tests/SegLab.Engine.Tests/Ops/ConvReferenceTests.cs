// Convolution and transposed convolution against naive direct loops (float64 accumulation) on odd sizes, one
// case per kernel path (general im2col, 1x1 GEMM, depthwise SIMD, grouped, strided fold, flipped-filter
// input gradient), float32, forward and the gradients of sum(y * gOut) for input, weight and bias. Also the
// error messages.
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests;

public class ConvReferenceTests
{
    /// <summary>A convolution problem: input [N, C, H, W], K filters of kh x kw, stride, padding, dilation, groups.</summary>
    public sealed record Spec(string Name, int N, int C, int H, int W, int K, int Kh, int Kw, int Sh = 1, int Sw = 1, int Ph = 0, int Pw = 0,
        int Dh = 1, int Dw = 1, int Groups = 1, bool Bias = true, int Oph = 0, int Opw = 0)
    {
        public override string ToString() => Name;
    }

    private static readonly Spec[] s_conv =
    [
        new("general_3x3_pad1_batch2", 2, 3, 13, 17, 5, 3, 3, Ph: 1, Pw: 1),
        new("general_rect_stride_dilation", 1, 4, 15, 19, 6, 3, 5, Sh: 2, Sw: 3, Ph: 2, Pw: 1, Dh: 2, Bias: false),
        new("general_pad_beyond_kernel", 1, 3, 9, 11, 4, 2, 2, Ph: 2, Pw: 3),
        new("general_stride2_even_kernel", 2, 3, 10, 13, 4, 4, 4, Sh: 2, Sw: 2, Ph: 1, Pw: 1),
        // one image, many filters: its input gradient splits bands over threads (ConvThreadsTests)
        new("general_stride2_many_filters", 1, 2, 9, 11, 32, 3, 3, Sh: 2, Sw: 2, Ph: 1, Pw: 1),
        // stride 2 wide enough for the vector gather and scatter of Im2Col (8 columns per step) and their tails
        new("general_7x7_stride2_wide", 2, 3, 11, 53, 5, 7, 7, Sh: 2, Sw: 2, Ph: 3, Pw: 3),
        // a stride-2 stem with few input channels runs as a stride-1 convolution on the 2x2 phases (SpaceToDepth.cs)
        new("stem_5x5_stride2_phases", 2, 2, 12, 41, 7, 5, 5, Sh: 2, Sw: 2, Ph: 2, Pw: 2),
        new("general_stride2_dilated_wide", 1, 2, 9, 47, 4, 3, 3, Sh: 2, Sw: 2, Ph: 2, Pw: 1, Dh: 2, Dw: 2, Bias: false),
        // "same" stride-1 convolutions on small planes through im2col (K > 24: not the direct kernel): one block
        // copy per tap; a dilation larger than the plane leaves taps wholly outside it
        new("general_same_small_plane", 2, 4, 5, 9, 30, 3, 3, Ph: 1, Pw: 1),
        new("general_same_dilation_beyond_plane", 1, 3, 6, 7, 28, 3, 3, Ph: 8, Pw: 8, Dh: 8, Dw: 8, Bias: false),
        new("general_same_rect_dilated", 1, 2, 7, 10, 26, 5, 3, Ph: 4, Pw: 2, Dh: 2, Dw: 2),
        // outer taps that read only padding are dropped (Ops.PruneTaps): rows only (the 1x3 centre then takes the
        // direct kernel), and a grouped strided convolution that becomes 1x1
        new("pruned_rows_dilation_beyond_height", 1, 3, 5, 20, 7, 3, 3, Ph: 6, Pw: 6, Dh: 6, Dw: 6),
        new("pruned_grouped_strided_to_1x1", 2, 4, 5, 6, 4, 3, 3, Sh: 2, Sw: 2, Ph: 7, Pw: 7, Dh: 7, Dw: 7, Groups: 2),
        // large enough for the managed GEMM's blocked path: the weights are packed once per call (ConvWeights)
        // and shared by both images' products, forward and input gradient (the fold path, stride 2)
        new("general_packed_weights_stride2", 2, 16, 12, 12, 40, 3, 3, Sh: 2, Sw: 2, Ph: 1, Pw: 1),
        new("pointwise_packed_weights", 2, 40, 10, 10, 48, 1, 1),
        new("pointwise_1x1", 2, 7, 11, 23, 9, 1, 1),
        new("pointwise_1x1_stride2", 1, 5, 9, 13, 3, 1, 1, Sh: 2, Sw: 2, Bias: false),
        new("depthwise_3x3_dil2", 2, 5, 19, 37, 5, 3, 3, Ph: 2, Pw: 2, Dh: 2, Dw: 2, Groups: 5),
        new("depthwise_3x3_stride2", 1, 4, 17, 35, 4, 3, 3, Sh: 2, Sw: 2, Ph: 1, Pw: 1, Groups: 4, Bias: false),
        new("depthwise_5x3_dil3_stride12", 1, 3, 21, 29, 3, 5, 3, Sh: 1, Sw: 2, Ph: 6, Pw: 1, Dh: 3, Dw: 1, Groups: 3),
        new("depthwise_big_padding", 1, 2, 7, 9, 2, 3, 3, Ph: 4, Pw: 3, Groups: 2),
        new("depthwise_wide_simd", 1, 2, 5, 67, 2, 3, 3, Ph: 1, Pw: 1, Groups: 2),
        // the 3x3 stride-1 register kernel at one vector per row exactly, and just below it (the generic loop)
        new("depthwise_3x3_one_vector", 1, 3, 6, 8, 3, 3, 3, Ph: 1, Pw: 1, Groups: 3),
        new("depthwise_3x3_below_one_vector", 1, 3, 6, 7, 3, 3, 3, Ph: 1, Pw: 1, Groups: 3),
        new("grouped_3", 2, 6, 11, 13, 9, 3, 3, Ph: 1, Pw: 1, Groups: 3),
        new("grouped_channel_multiplier", 1, 3, 10, 12, 6, 3, 3, Ph: 1, Pw: 1, Groups: 3),
        new("grouped_strided_dilated", 1, 4, 13, 11, 4, 3, 3, Sh: 2, Sw: 2, Ph: 2, Pw: 2, Dh: 2, Dw: 2, Groups: 2, Bias: false),
        // Direct stride-1 kernel (Kernels/ConvDirect.cs: output width >= 16): channel counts off the block of 6,
        // column tails, dilation, rectangular kernels, padding beyond the kernel; its dX runs it on the flipped kernel.
        new("direct_3x3_tail", 2, 5, 9, 37, 13, 3, 3, Ph: 1, Pw: 1),
        new("direct_rect_dilated", 1, 3, 12, 40, 7, 3, 5, Ph: 2, Pw: 4, Dh: 2, Dw: 2, Bias: false),
        new("direct_no_padding", 1, 2, 6, 20, 6, 3, 3),
        new("direct_big_padding", 1, 2, 5, 16, 4, 3, 3, Ph: 3, Pw: 3),
        new("direct_one_channel_out", 1, 4, 7, 33, 1, 3, 3, Ph: 1, Pw: 1),
    ];

    // For transposed specs C is C_in and K is C_out.
    private static readonly Spec[] s_transposed =
    [
        new("t_k2_s2", 1, 4, 7, 9, 3, 2, 2, Sh: 2, Sw: 2, Bias: false),
        new("t_k3_s2_pad1_outpad1", 2, 3, 6, 5, 4, 3, 3, Sh: 2, Sw: 2, Ph: 1, Pw: 1, Oph: 1, Opw: 1),
        new("t_k3_s1_pad1", 1, 5, 8, 11, 3, 3, 3, Ph: 1, Pw: 1),
        new("t_rect_dil2_outpad", 1, 2, 5, 7, 3, 3, 2, Sh: 1, Sw: 3, Ph: 1, Pw: 0, Dh: 2, Dw: 1, Oph: 1, Opw: 2),
        new("t_grouped", 1, 4, 6, 7, 6, 3, 3, Sh: 2, Sw: 1, Ph: 1, Pw: 1, Groups: 2),
        new("t_depthwise_s2", 2, 3, 5, 19, 3, 3, 3, Sh: 2, Sw: 2, Ph: 1, Pw: 1, Oph: 1, Opw: 1, Groups: 3),
    ];

    public static TheoryData<Spec> ConvSpecs() => [.. s_conv];

    public static TheoryData<Spec> TransposedSpecs() => [.. s_transposed];

    [Theory]
    [MemberData(nameof(ConvSpecs))]
    public void Conv2d_matches_direct_loops(Spec s)
    {
        var rng = new Rng(s.Name.Length * 7919 + s.H);
        var x = Tensor.Uniform(rng, [s.N, s.C, s.H, s.W], -1, 1).RequireGrad();
        var w = Tensor.Uniform(rng, [s.K, s.C / s.Groups, s.Kh, s.Kw], -1, 1).RequireGrad();
        var b = s.Bias ? Tensor.Uniform(rng, [s.K], -1, 1).RequireGrad() : null;
        var y = Ops.Conv2d(x, w, b, s.Sh, s.Sw, s.Ph, s.Pw, s.Dh, s.Dw, s.Groups);
        int ho = (s.H + 2 * s.Ph - s.Dh * (s.Kh - 1) - 1) / s.Sh + 1, wo = (s.W + 2 * s.Pw - s.Dw * (s.Kw - 1) - 1) / s.Sw + 1;
        Assert.Equal(new[] { s.N, s.K, ho, wo }, y.ShapeArray());
        var gOut = Tensor.Uniform(rng, y.ShapeArray(), -1, 1);
        var grads = Tape.Grad(Ops.Sum(Ops.Mul(y, gOut)), b is null ? [x, w] : [x, w, b]);

        var (ry, rgx, rgw, rgb) = NaiveConv(s, x.ToArrayF64(), w.ToArrayF64(), b?.ToArrayF64(), gOut.ToArrayF64(), ho, wo);
        AssertClose(s.Name + " output", ry, y.ToArrayF64());
        AssertClose(s.Name + " dX", rgx, grads[0].ToArrayF64());
        AssertClose(s.Name + " dW", rgw, grads[1].ToArrayF64());
        if (b is not null) AssertClose(s.Name + " dB", rgb, grads[2].ToArrayF64());
    }

    // The convolution switches are per thread: flipping one here leaves the tests running beside it alone.
    private static void WithSwitch<T>(Func<T> get, Action<T> set, T value, Action run)
    {
        T saved = get();
        set(value);
        try
        {
            run();
        }
        finally
        {
            set(saved);
        }
    }

    [Theory]
    [MemberData(nameof(ConvSpecs))]
    public void Conv2d_matches_direct_loops_with_one_row_bands(Spec s) =>
        WithSwitch(() => Ops.ConvBandElements, v => Ops.ConvBandElements = v, 1, () => Conv2d_matches_direct_loops(s));

    // The band unfolded straight into the managed GEMM's packed-B layout, and the plain unfold + SGEMM: both against
    // the naive loops, whichever provider is selected.
    [Theory]
    [MemberData(nameof(ConvSpecs))]
    public void Conv2d_matches_direct_loops_with_and_without_the_packed_unfold(Spec s)
    {
        WithSwitch(() => Ops.UsePackedUnfold, v => Ops.UsePackedUnfold = v, true, () => Conv2d_matches_direct_loops(s));
        WithSwitch(() => Ops.UsePackedUnfold, v => Ops.UsePackedUnfold = v, false, () => Conv2d_matches_direct_loops(s));
    }

    // Shapes big enough for the packed path (m*n*k >= 32768), several bands and a narrower last one, a partial sliver.
    [Theory]
    [InlineData(16, 20, 23, 24, 1)]
    [InlineData(40, 9, 37, 33, 2)]
    public void Packed_unfold_matches_the_plain_unfold(int c, int h, int w, int k, int stride)
    {
        var rng = new Rng(11);
        var x = Tensor.Uniform(rng, [2, c, h, w], -1, 1);
        var wt = Tensor.Uniform(rng, [k, c, 3, 3], -1, 1);
        var b = Tensor.Uniform(rng, [k], -1, 1);
        float[] Run(bool packed) => WithResult(() => Ops.UsePackedUnfold, v => Ops.UsePackedUnfold = v, packed, () =>
            WithResult(() => Ops.ConvBandElements, v => Ops.ConvBandElements = v, 1, () =>
                WithResult(() => Ops.ConvMinBandColumns, v => Ops.ConvMinBandColumns = v, 3 * w, () =>
                    WithResult(() => Ops.UseDirectConv, v => Ops.UseDirectConv = v, false, () => Ops.Conv2d(x, wt, b, stride, 1, 1, 1).ToArray()))));
        float[] p = Run(true), q = Run(false);
        Assert.Equal(q.Length, p.Length);
        for (int i = 0; i < p.Length; i++)
            Assert.True(Math.Abs(p[i] - q[i]) <= 1e-5 * (1 + Math.Abs(q[i])), $"y[{i}]: {p[i]} vs {q[i]}");
    }

    private static TR WithResult<TV, TR>(Func<TV> get, Action<TV> set, TV value, Func<TR> body)
    {
        var old = get();
        set(value);
        try { return body(); }
        finally { set(old); }
    }

    // A deep layer on a small plane (the imported ResNet18's 7x7 layers): the bands' column floor changes how many
    // output rows a band holds (here one row of 9 columns per band without it, two with 16, the whole plane with
    // 256), never a result: each against the naive loops (forward and gradients), and the forwards against each other.
    [Fact]
    public void Band_column_floor_matches_direct_loops_and_keeps_the_bits()
    {
        var s = new Spec("deep_small_plane", 1, 40, 7, 9, 32, 3, 3, Ph: 1, Pw: 1);
        var outputs = new List<float[]>();
        WithSwitch(() => Ops.ConvBandElements, v => Ops.ConvBandElements = v, s.C * 9 * 9, () =>
        {
            foreach (int minColumns in new[] { 0, 16, 256 })
                WithSwitch(() => Ops.ConvMinBandColumns, v => Ops.ConvMinBandColumns = v, minColumns, () =>
                {
                    Conv2d_matches_direct_loops(s);
                    var rng = new Rng(5);
                    var x = Tensor.Uniform(rng, [s.N, s.C, s.H, s.W], -1, 1);
                    var w = Tensor.Uniform(rng, [s.K, s.C, s.Kh, s.Kw], -1, 1);
                    outputs.Add(Ops.Conv2d(x, w, null, 1, 1, 1, 1, 1, 1, 1).ToArray());
                });
        });
        // The GEMM provider may treat a sliver's edge columns differently (OpenBLAS does): equal to float32 rounding.
        foreach (var other in outputs.Skip(1))
            for (int i = 0; i < other.Length; i++)
                Assert.True(Math.Abs(outputs[0][i] - other[i]) <= 1e-5 * (1 + Math.Abs(outputs[0][i])), $"y[{i}]: {outputs[0][i]} vs {other[i]}");
    }

    [Theory]
    [MemberData(nameof(ConvSpecs))]
    public void Conv2d_matches_direct_loops_without_the_direct_kernel(Spec s) =>
        WithSwitch(() => Ops.UseDirectConv, v => Ops.UseDirectConv = v, false, () => Conv2d_matches_direct_loops(s));

    [Theory]
    [MemberData(nameof(ConvSpecs))]
    public void Conv2d_matches_direct_loops_without_the_space_to_depth_split(Spec s) =>
        WithSwitch(() => Ops.UseSpaceToDepth, v => Ops.UseSpaceToDepth = v, false, () => Conv2d_matches_direct_loops(s));

    [Theory]
    [MemberData(nameof(ConvSpecs))]
    public void Conv2d_matches_direct_loops_without_tap_pruning(Spec s) =>
        WithSwitch(() => Ops.PruneTaps, v => Ops.PruneTaps = v, false, () => Conv2d_matches_direct_loops(s));

    [Theory]
    [InlineData(16, 16, 32, 32, 3, 1, 1, false)]  // DeepLabV3's layer1: two 8-channel blocks, one 32-column block
    [InlineData(5, 13, 20, 45, 3, 2, 2, true)]    // ESPNet-like: 13 channels (a partial block), 45 columns, dilated
    [InlineData(3, 24, 9, 70, 5, 1, 2, false)]    // 5x5, three column blocks, the last partial
    public void Direct_kernel_gives_the_same_bits_with_the_avx512_block(int c, int k, int h, int w, int ks, int dil, int pad, bool bias)
    {
        var rng = new Rng(c * 100 + k);
        var x = Tensor.Uniform(rng, [2, c, h, w], -1, 1);
        var wt = Tensor.Uniform(rng, [k, c, ks, ks], -1, 1);
        var b = bias ? Tensor.Uniform(rng, [k], -1, 1) : null;
        float[] Run(bool wide)
        {
            float[] y = [];
            WithSwitch(() => Kernels.ConvDirect.AllowWide, v => Kernels.ConvDirect.AllowWide = v, wide, () => y = Ops.Conv2d(x, wt, b, padding: pad, dilation: dil).ToArray());
            return y;
        }
        var narrow = Run(false);
        var wideY = Run(true);
        // Each output sums the same products in the same order: equal bits, not merely close values.
        Assert.Equal(narrow, wideY);
        var geometry = new Kernels.ConvGeometry(c, h, w, ks, ks, 1, 1, pad, pad, dil, dil, h + 2 * pad - dil * (ks - 1), w + 2 * pad - dil * (ks - 1));
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
            Kernels.ConvDirect.UseWide(geometry, k));
        // and both are the convolution (against the float64 loops of this file)
        var reference = Ops.Conv2d(x.To(DType.Float64), wt.To(DType.Float64), b?.To(DType.Float64), padding: pad, dilation: dil).ToArrayF64();
        for (int i = 0; i < reference.Length; i++) Assert.True(Math.Abs(reference[i] - wideY[i]) < 1e-4, $"output {i}: {wideY[i]} vs {reference[i]}");
    }

    [Fact]
    public void Pruned_taps_give_the_full_kernels_result_and_zero_weight_gradient()
    {
        // DeepLabV3's ASPP rate 12 on an 8x8 map: every tap but the centre reads padding only.
        var rng = new Rng(12);
        var x = Tensor.Uniform(rng, [2, 5, 8, 8], -1, 1).RequireGrad();
        var w = Tensor.Uniform(rng, [6, 5, 3, 3], -1, 1).RequireGrad();
        var gOut = Tensor.Uniform(rng, [2, 6, 8, 8], -1, 1);
        (float[] Y, float[] Gx, float[] Gw) Run(bool prune)
        {
            (float[], float[], float[]) r = default;
            WithSwitch(() => Ops.PruneTaps, v => Ops.PruneTaps = v, prune, () =>
            {
                var y = Ops.Conv2d(x, w, null, 1, 12, 12);
                var g = Tape.Grad(Ops.Sum(Ops.Mul(y, gOut)), [x, w]);
                r = (y.ToArray(), g[0].ToArray(), g[1].ToArray());
            });
            return r;
        }
        var full = Run(prune: false);
        var pruned = Run(prune: true);
        for (int i = 0; i < full.Y.Length; i++) Assert.Equal(full.Y[i], pruned.Y[i], 1e-4f);
        for (int i = 0; i < full.Gx.Length; i++) Assert.Equal(full.Gx[i], pruned.Gx[i], 1e-4f);
        for (int i = 0; i < full.Gw.Length; i++)
        {
            Assert.Equal(full.Gw[i], pruned.Gw[i], 1e-4f);
            if (i % 9 != 4) Assert.Equal(0f, pruned.Gw[i]); // every tap but the centre
        }
    }

    [Theory]
    [MemberData(nameof(ConvSpecs))]
    public void Conv2d_input_gradient_alone_matches(Spec s)
    {
        // Attacks ask for dX only: the weight and bias need no gradient and get none.
        var rng = new Rng(s.W * 31 + 5);
        var x = Tensor.Uniform(rng, [s.N, s.C, s.H, s.W], -1, 1).RequireGrad();
        var w = Tensor.Uniform(rng, [s.K, s.C / s.Groups, s.Kh, s.Kw], -1, 1);
        var b = s.Bias ? Tensor.Uniform(rng, [s.K], -1, 1) : null;
        var y = Ops.Conv2d(x, w, b, s.Sh, s.Sw, s.Ph, s.Pw, s.Dh, s.Dw, s.Groups);
        var gOut = Tensor.Uniform(rng, y.ShapeArray(), -1, 1);
        var gx = Tape.Grad(Ops.Sum(Ops.Mul(y, gOut)), [x])[0];
        var (_, rgx, _, _) = NaiveConv(s, x.ToArrayF64(), w.ToArrayF64(), b?.ToArrayF64(), gOut.ToArrayF64(), y.Shape[2], y.Shape[3]);
        AssertClose(s.Name + " dX", rgx, gx.ToArrayF64());
        Assert.Null(w.Grad);
    }

    [Theory]
    [MemberData(nameof(TransposedSpecs))]
    public void ConvTranspose2d_matches_direct_loops(Spec s)
    {
        var rng = new Rng(s.Name.Length * 104729 + s.W);
        var x = Tensor.Uniform(rng, [s.N, s.C, s.H, s.W], -1, 1).RequireGrad();
        var w = Tensor.Uniform(rng, [s.C, s.K / s.Groups, s.Kh, s.Kw], -1, 1).RequireGrad();
        var b = s.Bias ? Tensor.Uniform(rng, [s.K], -1, 1).RequireGrad() : null;
        var y = Ops.ConvTranspose2d(x, w, b, s.Sh, s.Sw, s.Ph, s.Pw, s.Oph, s.Opw, s.Dh, s.Dw, s.Groups);
        int ho = (s.H - 1) * s.Sh - 2 * s.Ph + s.Dh * (s.Kh - 1) + s.Oph + 1, wo = (s.W - 1) * s.Sw - 2 * s.Pw + s.Dw * (s.Kw - 1) + s.Opw + 1;
        Assert.Equal(new[] { s.N, s.K, ho, wo }, y.ShapeArray());
        var gOut = Tensor.Uniform(rng, y.ShapeArray(), -1, 1);
        var grads = Tape.Grad(Ops.Sum(Ops.Mul(y, gOut)), b is null ? [x, w] : [x, w, b]);

        var (ry, rgx, rgw, rgb) = NaiveTransposed(s, x.ToArrayF64(), w.ToArrayF64(), b?.ToArrayF64(), gOut.ToArrayF64(), ho, wo);
        AssertClose(s.Name + " output", ry, y.ToArrayF64());
        AssertClose(s.Name + " dX", rgx, grads[0].ToArrayF64());
        AssertClose(s.Name + " dW", rgw, grads[1].ToArrayF64());
        if (b is not null) AssertClose(s.Name + " dB", rgb, grads[2].ToArrayF64());
    }

    [Fact]
    public void Float64_matches_float32_on_a_large_general_conv()
    {
        // Enough channels and pixels for the parallel unfold/fold and several bands.
        var rng = new Rng(77);
        var x = Tensor.Uniform(rng, [1, 16, 40, 52], -1, 1);
        var w = Tensor.Uniform(rng, [24, 16, 3, 3], -1, 1);
        var y32 = Ops.Conv2d(x, w, null, 1, 1, 1, 1, 2, 2, 1).ToArrayF64();
        var y64 = Ops.Conv2d(x.To(DType.Float64), w.To(DType.Float64), null, 1, 1, 1, 1, 2, 2, 1).ToArrayF64();
        AssertClose("large conv float32 vs float64", y64, y32);
    }

    [Fact]
    public void Shape_errors_name_conv2d_and_the_shapes()
    {
        var x = Tensor.Zeros(1, 4, 5, 5);
        var e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(3, 3, 3, 3)));
        Assert.Contains("conv2d", e.Message, StringComparison.Ordinal);
        Assert.Contains("[1, 4, 5, 5]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 3, 3, 3]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(3, 2, 3, 3), null, 1, 0, 1, 2));
        Assert.Contains("groups 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 2, 3, 3]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3, 3), null, 1, 0, 3));
        Assert.Contains("smaller than 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("[1, 4, 5, 5]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3, 3), Tensor.Zeros(3)));
        Assert.Contains("bias", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(4, 5, 5), Tensor.Zeros(2, 4, 3, 3)));
        Assert.Contains("conv2d", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(3, 2, 3, 3)));
        Assert.Contains("conv_transpose2d", e.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 2, 3, 3]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(4, 2, 3, 3), null, 2, 0, 2));
        Assert.Contains("output padding", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_size_follows_pytorch()
    {
        var y = Ops.Conv2d(Tensor.Zeros(1, 1, 8, 9), Tensor.Zeros(1, 1, 3, 3), null, 2, 1);
        Assert.Equal(new[] { 1, 1, 4, 5 }, y.ShapeArray());
        var t = Ops.ConvTranspose2d(Tensor.Zeros(1, 2, 4, 5), Tensor.Zeros(2, 3, 3, 3), null, 2, 1, 1);
        Assert.Equal(new[] { 1, 3, 8, 10 }, t.ShapeArray());
    }

    // y[n,k,oh,ow] = b[k] + sum w[k,c,i,j] x[n, g*C/G + c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]; and its adjoints for sum(y * gOut)
    private static (double[] Y, double[] Gx, double[] Gw, double[] Gb) NaiveConv(Spec s, double[] x, double[] w, double[]? b, double[] gy, int ho, int wo)
    {
        int cg = s.C / s.Groups, kg = s.K / s.Groups;
        var y = new double[s.N * s.K * ho * wo];
        var gx = new double[x.Length];
        var gw = new double[w.Length];
        var gb = new double[s.K];
        for (int n = 0; n < s.N; n++)
            for (int k = 0; k < s.K; k++)
                for (int oh = 0; oh < ho; oh++)
                    for (int ow = 0; ow < wo; ow++)
                    {
                        int yi = ((n * s.K + k) * ho + oh) * wo + ow;
                        double acc = b?[k] ?? 0, g = gy[yi];
                        gb[k] += g;
                        for (int c = 0; c < cg; c++)
                            for (int i = 0; i < s.Kh; i++)
                                for (int j = 0; j < s.Kw; j++)
                                {
                                    int ih = oh * s.Sh - s.Ph + i * s.Dh, iw = ow * s.Sw - s.Pw + j * s.Dw;
                                    if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                    int xi = ((n * s.C + k / kg * cg + c) * s.H + ih) * s.W + iw, wi = ((k * cg + c) * s.Kh + i) * s.Kw + j;
                                    acc += w[wi] * x[xi];
                                    gx[xi] += w[wi] * g;
                                    gw[wi] += x[xi] * g;
                                }
                        y[yi] = acc;
                    }
        return (y, gx, gw, gb);
    }

    // y[n, g*Cout/G + o, ih*sh - ph + i*dh, iw*sw - pw + j*dw] += x[n, ci, ih, iw] w[ci, o, i, j] (+ b); and its adjoints
    private static (double[] Y, double[] Gx, double[] Gw, double[] Gb) NaiveTransposed(Spec s, double[] x, double[] w, double[]? b, double[] gy, int ho, int wo)
    {
        int cg = s.C / s.Groups, og = s.K / s.Groups;
        var y = new double[s.N * s.K * ho * wo];
        var gx = new double[x.Length];
        var gw = new double[w.Length];
        var gb = new double[s.K];
        for (int n = 0; n < s.N; n++)
        {
            for (int o = 0; o < s.K; o++)
                for (int p = 0; p < ho * wo; p++)
                {
                    int yi = (n * s.K + o) * ho * wo + p;
                    y[yi] = b?[o] ?? 0;
                    gb[o] += gy[yi];
                }
            for (int ci = 0; ci < s.C; ci++)
                for (int ih = 0; ih < s.H; ih++)
                    for (int iw = 0; iw < s.W; iw++)
                        for (int o = 0; o < og; o++)
                            for (int i = 0; i < s.Kh; i++)
                                for (int j = 0; j < s.Kw; j++)
                                {
                                    int oh = ih * s.Sh - s.Ph + i * s.Dh, ow = iw * s.Sw - s.Pw + j * s.Dw;
                                    if (oh < 0 || oh >= ho || ow < 0 || ow >= wo) continue;
                                    int xi = ((n * s.C + ci) * s.H + ih) * s.W + iw, wi = ((ci * og + o) * s.Kh + i) * s.Kw + j;
                                    int yi = ((n * s.K + ci / cg * og + o) * ho + oh) * wo + ow;
                                    y[yi] += x[xi] * w[wi];
                                    gx[xi] += w[wi] * gy[yi];
                                    gw[wi] += x[xi] * gy[yi];
                                }
        }
        return (y, gx, gw, gb);
    }

    // float32 results: |a - e| <= 1e-4 (1 + |e|) relative to the reference's scale
    internal static void AssertClose(string what, double[] expected, double[] actual, double tol = 1e-4)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1;
        foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (Math.Abs(expected[i]) + 0.1 * scale),
                $"{what}: element {i}: reference {expected[i]:G9}, SegLab {actual[i]:G9}");
    }
}
