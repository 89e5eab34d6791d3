// 2-D convolution, PyTorch semantics (zero padding, stride, dilation, groups), with hand-written forward and
// backward. Paths:
//   depthwise (groups == C == K): direct SIMD kernels over each plane (Kernels/ConvDepthwise.cs), no GEMM;
//   pointwise (1x1, stride 1, no padding): one GEMM [K, C] x [C, H*W] per image and group, no im2col;
//   general: im2col over bands of output rows (bounded, pooled scratch) and GEMM; grouped convs loop groups.
//   forward:  y[n, k] = W[k, :] . unfold(x[n]) (+ b[k])
//   backward: db = sum dY;  dW += dY unfold(x)^T;  dx = fold(W^T dY), or, for stride 1, the convolution of dY
//             with the flipped, transposed filter (the same fast forward paths).
// Threads: the im2col/GEMM paths run work items (image, group, band of output rows) in parallel through
// Parallelism.For, each with its own scratch and a single-threaded GEMM, and the weight gradient sums images per
// thread; a lone item (batch 1 with one band) lets the GEMM provider and unfold/fold use the threads instead.
// Depthwise planes and the direct kernel split their own loops.
using System.Numerics;
using System.Runtime.InteropServices;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    // The convolution switches below are read on the thread that calls the op (never inside its parallel items),
    // and setting one affects only the setting thread: a test that switches a path off does not change the
    // rounding of the tests running beside it.
    [ThreadStatic] private static int? t_convBandElements;
    [ThreadStatic] private static bool? t_useDirectConv;
    [ThreadStatic] private static bool? t_pruneTaps;
    [ThreadStatic] private static double? t_convWorkPerFlop;
    private static readonly bool s_useDirectConv = Environment.GetEnvironmentVariable("SEGLAB_CONV_DIRECT") != "0";

    /// <summary>Target size (elements) of one unfolded band of output rows: small enough to stay in L2 while the GEMM packs it.</summary>
    /// <remarks>128K floats = 512 KB, one core's L2 here; tests shrink it to one row to exercise banding (this thread only).</remarks>
    internal static int ConvBandElements { get => t_convBandElements ?? 1 << 17; set => t_convBandElements = value; }

    [ThreadStatic] private static int? t_convMinBandColumns;

    /// <summary>The fewest columns (output positions) of one band; ConvBandElements / 512 unless set (this thread only).</summary>
    internal static int ConvMinBandColumns { get => t_convMinBandColumns ?? ConvBandElements / 512; set => t_convMinBandColumns = value; }

    /// <summary>
    /// Whether float32 stride-1 convolutions may take the direct kernel (tests compare both paths, on their own
    /// thread; the environment variable SEGLAB_CONV_DIRECT=0 turns it off, for side-by-side benchmarks).
    /// </summary>
    internal static bool UseDirectConv { get => t_useDirectConv ?? s_useDirectConv; set => t_useDirectConv = value; }

    /// <summary>2-D convolution with square stride, padding and dilation (PyTorch's conv2d argument order).</summary>
    /// <param name="x">[N, C, H, W].</param>
    /// <param name="weight">[K, C/groups, kh, kw].</param>
    /// <param name="bias">[K] or null.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on each side.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Groups.</param>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Conv2d(x, weight, bias, stride, stride, padding, padding, dilation, dilation, groups);

    /// <summary>2-D convolution (PyTorch's conv2d): y = [N, K, Ho, Wo], Ho = (H + 2 padH - dilationH (kh - 1) - 1) / strideH + 1.</summary>
    /// <param name="x">[N, C, H, W].</param>
    /// <param name="weight">[K, C/groups, kh, kw].</param>
    /// <param name="bias">[K] or null.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Rows of zeros above and below.</param>
    /// <param name="padW">Columns of zeros left and right.</param>
    /// <param name="dilationH">Vertical dilation.</param>
    /// <param name="dilationW">Horizontal dilation.</param>
    /// <param name="groups">Groups (C and K divisible by it).</param>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW,
        int dilationH, int dilationW, int groups)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        var (g, n, k) = ConvGeometryOf(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, groups);
        if (PruneTaps && OuterTapsInPadding(g, out int ti, out int tj))
        {
            // The outer ti rows and tj columns of the kernel read only padding at every output position (a dilation
            // larger than the plane: DeepLabV3's ASPP rates 12 and 18 on 8x8 features are 1x1 convolutions): the
            // same convolution without them, on the kernel's centre, with ti (tj) dilations less padding. The
            // weight's pruned taps get a zero gradient through the slices, as they would from the full kernel.
            var centre = Slice(Slice(weight, 2, ti, g.Kh - ti), 3, tj, g.Kw - tj);
            return Conv2d(x, centre, bias, strideH, strideW, padH - ti * dilationH, padW - tj * dilationW, dilationH, dilationW, groups);
        }
        if (SpaceToDepthApplies(x.DType, g, k, groups, out var s2d))
        {
            // A stride-2 convolution with few input channels and a large kernel (a ResNet-style 7x7 stem) as a
            // stride-1 one on the input's four 2x2 phases, with the kernel split the same way (zero taps where
            // it is odd): the direct kernel and the stride-1 gradient paths take it instead of a stride-2 im2col.
            // DeepLabV3's stem (3 -> 16, 7x7, 128x128, batch 8, one thread): forward 2.6-3.1 -> 1.7-1.8 ms, with the
            // input gradient (attacks) 16.5 -> 6.8 ms; the weight gradient alone stays at 3.4-3.7 ms.
            var xs = PadSpaceToDepth2(x, g.Ph, g.Pw, s2d.H, s2d.W);
            var wsplit = PadSpaceToDepth2(weight, 0, 0, s2d.Kh, s2d.Kw);
            return Conv2d(xs, wsplit, bias, 1, 1, 0, 0, 1, 1, 1);
        }
        var y = Tensor.Uninitialized(x.DType, [n, k, g.Ho, g.Wo]);
        if (x.DType == DType.Float32) ConvForward(x.Buf<float>(), weight.Buf<float>(), ConvSpan<float>(bias), y.Buf<float>(), g, n, k, groups);
        else ConvForward(x.Buf<double>(), weight.Buf<double>(), ConvSpan<double>(bias), y.Buf<double>(), g, n, k, groups);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        if (!GradMode.Needs(inputs)) return y;
        // The op name tells the kernel path apart in BackwardProfile.
        string op = IsDepthwise(g, k, groups) ? "conv2d (depthwise)" : IsPointwise(g) ? "conv2d (1x1)" : groups > 1 ? "conv2d (grouped)" : "conv2d";
        return Tape.Record(y, op, inputs, dy =>
        {
            var gx = Tape.Wants(x) ? Tensor.Uninitialized(x.DType, x.Dims) : null;
            var gw = Tape.Wants(weight) ? Tensor.Zeros(x.DType, weight.Dims) : null;
            var gb = Tape.Wants(bias) ? Tensor.Zeros(x.DType, bias.Dims) : null;
            if (x.DType == DType.Float32) ConvBackward(x.Buf<float>(), weight.Buf<float>(), dy.Buf<float>(), ConvSpan<float>(gx), ConvSpan<float>(gw), ConvSpan<float>(gb), g, n, k, groups);
            else ConvBackward(x.Buf<double>(), weight.Buf<double>(), dy.Buf<double>(), ConvSpan<double>(gx), ConvSpan<double>(gw), ConvSpan<double>(gb), g, n, k, groups);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    [ThreadStatic] private static bool? t_useSpaceToDepth;

    /// <summary>Whether stride-2 stems may run as stride-1 convolutions on the input's phases (tests compare both, on their own thread).</summary>
    internal static bool UseSpaceToDepth { get => t_useSpaceToDepth ?? true; set => t_useSpaceToDepth = value; }

    // float32, stride 2, no dilation, one group, at most 4 input channels and a kernel of at least 5x5 (a 3x3 one
    // would become 2x2 on 4C channels, 1.8 times the multiply-adds), and the phase convolution must be one the
    // direct kernel runs and give the same output size.
    private static bool SpaceToDepthApplies(DType dtype, ConvGeometry g, int k, int groups, out ConvGeometry split)
    {
        split = default;
        if (!UseSpaceToDepth || dtype != DType.Float32 || !UseDirectConv || groups != 1 || g.Sh != 2 || g.Sw != 2 || g.Dh != 1 || g.Dw != 1
            || g.C > 4 || g.Kh < 5 || g.Kw < 5)
            return false;
        int hs = (g.H + 2 * g.Ph + 1) / 2, ws = (g.W + 2 * g.Pw + 1) / 2, kh = (g.Kh + 1) / 2, kw = (g.Kw + 1) / 2;
        split = new ConvGeometry(4 * g.C, hs, ws, kh, kw, 1, 1, 0, 0, 1, 1, hs - kh + 1, ws - kw + 1);
        return split.Ho == g.Ho && split.Wo == g.Wo && ConvDirect.Applies(split, k, 1);
    }

    private static Span<T> ConvSpan<T>(Tensor? t) where T : unmanaged => t is null ? default : t.Buf<T>();

    /// <summary>Whether convolutions drop kernel taps that read only padding (tests compare both, on their own thread).</summary>
    internal static bool PruneTaps { get => t_pruneTaps ?? true; set => t_pruneTaps = value; }

    // Kernel rows [0, ti) and [kh - ti, kh), and columns likewise, that no output position reads inside the image;
    // symmetric only, so that the centre is a convolution with symmetric padding and the same output size.
    private static bool OuterTapsInPadding(ConvGeometry g, out int ti, out int tj)
    {
        ti = OuterTaps(g.H, g.Kh, g.Sh, g.Ph, g.Dh, g.Ho);
        tj = OuterTaps(g.W, g.Kw, g.Sw, g.Pw, g.Dw, g.Wo);
        return ti > 0 || tj > 0;
    }

    // Along one axis: how many taps from each end (the same count at both ends, at most the padding allows) read
    // no input element for any of the `outSize` positions.
    private static int OuterTaps(int size, int kernel, int stride, int pad, int dilation, int outSize)
    {
        bool Reads(int tap)
        {
            for (int o = 0; o < outSize; o++)
            {
                int i = o * stride - pad + tap * dilation;
                if ((uint)i < (uint)size) return true;
            }
            return false;
        }
        int t = 0;
        while (2 * (t + 1) <= kernel - 1 && !Reads(t) && !Reads(kernel - 1 - t) && pad - (t + 1) * dilation >= 0) t++;
        return t;
    }

    private static (ConvGeometry G, int N, int K) ConvGeometryOf(Tensor x, Tensor weight, Tensor? bias, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        string shapes = $"input {Shapes.Format(x.Shape)}, weight {Shapes.Format(weight.Shape)}" + (bias is null ? "" : $", bias {Shapes.Format(bias.Shape)}");
        if (x.Rank != 4 || weight.Rank != 4)
            throw new ArgumentException($"conv2d: input must be [N, C, H, W] and weight [K, C/groups, kh, kw] ({shapes}).");
        if (x.DType != weight.DType || (bias is not null && bias.DType != x.DType))
            throw new ArgumentException($"conv2d: element types differ (input {x.DType}, weight {weight.DType}{(bias is null ? "" : $", bias {bias.DType}")}).");
        int n = x.Dims[0], c = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        int k = weight.Dims[0], kh = weight.Dims[2], kw = weight.Dims[3];
        if (groups < 1 || c % groups != 0 || k % groups != 0)
            throw new ArgumentException($"conv2d: groups {groups} must divide the input channels {c} and the output channels {k} ({shapes}).");
        if (weight.Dims[1] != c / groups)
            throw new ArgumentException($"conv2d: channel mismatch: weight expects {weight.Dims[1]} x {groups} group(s) = {weight.Dims[1] * groups} input channels, the input has {c} ({shapes}).");
        if (bias is not null && (bias.Rank != 1 || bias.Numel != k))
            throw new ArgumentException($"conv2d: bias must be [{k}] for {k} output channels ({shapes}).");
        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0 || kh < 1 || kw < 1)
            throw new ArgumentException($"conv2d: stride ({sh}, {sw}) and dilation ({dh}, {dw}) must be positive, padding ({ph}, {pw}) non-negative and the kernel non-empty ({shapes}).");
        int ho = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, wo = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
        if (h + 2 * ph - dh * (kh - 1) - 1 < 0 || w + 2 * pw - dw * (kw - 1) - 1 < 0 || ho < 1 || wo < 1)
            throw new ArgumentException($"conv2d: output size would be smaller than 1: the padded input ({h + 2 * ph} x {w + 2 * pw}) is smaller than the dilated kernel ({dh * (kh - 1) + 1} x {dw * (kw - 1) + 1}) ({shapes}).");
        return (new ConvGeometry(c / groups, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo), n, k);
    }

    private static bool IsDepthwise(ConvGeometry g, int k, int groups) => g.C == 1 && k == groups;

    private static bool IsPointwise(ConvGeometry g) => g.Kh == 1 && g.Kw == 1 && g.Sh == 1 && g.Sw == 1 && g.Ph == 0 && g.Pw == 0;

    /// <summary>
    /// Units of Parallelism's work per flop of the convolutions' GEMM items: a convolution is split over threads
    /// when its items add up to about 6 MFLOP. Measured on the quiet 2-core machine (DeepLabV3 training step, 2
    /// threads, in-process, 3 interleaved rounds): 147 ms at 48 MFLOP, 124 at 16, 114 at 6, 112 at 2; the UNet's
    /// step did not change. Tests raise it (on their own thread) so that small problems take the parallel paths.
    /// </summary>
    internal static double ConvWorkPerFlop { get => t_convWorkPerFlop ?? 1.0 / 6; set => t_convWorkPerFlop = value; }

    private static long ConvWork(long flops) => (long)Math.Min(long.MaxValue / 4, flops * ConvWorkPerFlop);

    // Output rows per unfolded band: about ConvBandElements elements, but at least ConvBandElements / 512 columns
    // (256 by default) so that deep layers on small planes keep the GEMM's 32-wide slivers full and stream their
    // weights once: the imported ResNet18's 512-channel 7x7 layers had two bands of 28 and 21 columns (weights of
    // 9.4 MB read twice, slivers 66-87% full) and ran at half the GFLOP/s of its 56x56 layers.
    internal static int BandRowsFor(ConvGeometry g) => BandRows(g);

    private static int BandRows(ConvGeometry g)
    {
        int rows = ConvBandElements / Math.Max(1, g.Rows * g.Wo);
        int minColumns = ConvMinBandColumns;
        return Math.Clamp(Math.Max(rows, (minColumns + g.Wo - 1) / g.Wo), 1, g.Ho);
    }

    // x: [N, C, H, W], w: [K, C/G, kh, kw], b: [K] or empty -> y: [N, K, Ho, Wo] (written)
    internal static void ConvForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> y, ConvGeometry g, int n, int k, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (IsDepthwise(g, k, groups))
        {
            ConvDepthwise.Forward(x, w, b, y, g with { C = k }, n);
            return;
        }
        if (typeof(T) == typeof(float) && UseDirectConv && ConvDirect.Applies(g, k, groups))
        {
            ConvDirect.Forward(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(w), MemoryMarshal.Cast<T, float>(b), MemoryMarshal.Cast<T, float>(y), g, n, k);
            return;
        }
        int hw = g.H * g.W, howo = g.Ho * g.Wo, cIn = g.C * groups, kg = k / groups;
        bool pointwise = IsPointwise(g);
        int band = pointwise ? g.Ho : BandRows(g), bands = (g.Ho + band - 1) / band;
        if (typeof(T) == typeof(float) && !pointwise && groups == 1 && PackedUnfoldApplies(g, k, band))
        {
            ConvForwardPackedUnfold(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(w), MemoryMarshal.Cast<T, float>(y), g, n, k, band);
            if (!b.IsEmpty) AddChannelBias(y, b, n, k, howo);
            return;
        }
        // Work items (image, group, band of output rows) write disjoint parts of y, so they run in parallel, each
        // GEMM single-threaded inside; a lone item (batch 1, one band) leaves the threads to the GEMM.
        long flops = 2L * kg * g.Rows * Math.Min(band, g.Ho) * g.Wo;
        // One group: the weights are packed once for all the items' products (groups: one slice each, unpacked).
        using var weights = new ConvWeights<T>(false, kg, g.Rows, w, g.Rows, pointwise ? howo : Math.Min(band, g.Ho) * g.Wo, groups == 1 ? n * bands : 1);
        unsafe
        {
            fixed (T* px = x, pw = w, py = y)
            {
                nint ax = (nint)px, aw = (nint)pw, ay = (nint)py;
                int xl = x.Length, wl = w.Length, yl = y.Length;
                Parallelism.For(n * groups * bands, ConvWork(flops), item =>
                {
                    int img = item / (groups * bands), gr = item / bands % groups, oh0 = item % bands * band;
                    var xs = new ReadOnlySpan<T>((T*)ax, xl).Slice((img * cIn + gr * g.C) * hw, g.C * hw);
                    var ws = new ReadOnlySpan<T>((T*)aw, wl).Slice(gr * kg * g.Rows, kg * g.Rows);
                    var ys = new Span<T>((T*)ay, yl).Slice((img * k + gr * kg) * howo, kg * howo);
                    if (pointwise)
                    {
                        // [kg, C] x [C, H*W] -> [kg, H*W]
                        weights.Multiply(ws, g.C, howo, xs, hw, T.Zero, ys, howo);
                        return;
                    }
                    int rows = Math.Min(band, g.Ho - oh0), width = rows * g.Wo;
                    using var cols = new ConvScratch<T>(g.Rows * width);
                    var c = cols.Span(g.Rows * width);
                    Im2Col.Unfold<T>(xs, g, oh0, rows, c);
                    // [kg, C*kh*kw] x [C*kh*kw, rows*Wo] -> y rows [oh0, oh0 + rows) of each of the kg planes
                    weights.Multiply(ws, g.Rows, width, c, width, T.Zero, ys.Slice(oh0 * g.Wo), howo);
                });
            }
        }
        if (!b.IsEmpty) AddChannelBias(y, b, n, k, howo);
    }

    [ThreadStatic] private static bool? t_usePackedUnfold;

    /// <summary>
    /// Whether float32 im2col convolutions (one group) unfold each band straight into the managed GEMM's packed-B
    /// layout and multiply with the managed 8x32 kernel. Default: only where the managed provider is selected (the
    /// imported ResNet18 at one thread, in-process A/B: CPU 58.4 against 59.7 ms); with OpenBLAS selected its
    /// unfold + SGEMM stays, as it was faster (55.2 against 58.7 ms wall, 33.4 against 38.6 at two threads; the
    /// managed kernel loses on the 512-channel 7x7 layers, 49 columns). Tests set it (this thread only).
    /// </summary>
    internal static bool UsePackedUnfold { get => t_usePackedUnfold ?? Linalg.Gemm.Provider is Linalg.ManagedGemm; set => t_usePackedUnfold = value; }

    // Every band (the last, narrower one included) must take the managed GEMM's packed path in one column block.
    private static bool PackedUnfoldApplies(ConvGeometry g, int k, int band)
    {
        if (!UsePackedUnfold || !Linalg.Gemm.Managed.Wide) return false;
        int last = g.Ho - (g.Ho - 1) / band * band;
        return band * g.Wo <= Linalg.ManagedGemm.NC
            && Linalg.Gemm.Managed.TakesPackedPath(false, false, k, last * g.Wo, g.Rows)
            && Linalg.Gemm.Managed.TakesPackedPath(false, false, k, Math.Min(band, g.Ho) * g.Wo, g.Rows);
    }

    // The im2col path with the band unfolded into packed-B layout (Im2Col.UnfoldPacked) and the managed GEMM given
    // it as is (ManagedGemm.SgemmPrepackedB): one copy of the unfolded band instead of two (unfold, then pack).
    // Items (image, band) in parallel as in ConvForward; the weights are packed once when several items use them.
    private static unsafe void ConvForwardPackedUnfold(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, ConvGeometry g, int n, int k, int band)
    {
        var mg = Linalg.Gemm.Managed;
        int hw = g.H * g.W, howo = g.Ho * g.Wo, bands = (g.Ho + band - 1) / band, nr = mg.SliverWidth;
        long flops = 2L * k * g.Rows * Math.Min(band, g.Ho) * g.Wo;
        using var packedA = n * bands > 1 ? mg.Pack(false, k, g.Rows, w, g.Rows) : null;
        fixed (float* px = x, pw = w, py = y)
        {
            nint ax = (nint)px, aw = (nint)pw, ay = (nint)py;
            int xl = x.Length, wl = w.Length, yl = y.Length;
            Parallelism.For(n * bands, ConvWork(flops), item =>
            {
                int img = item / bands, oh0 = item % bands * band;
                int rows = Math.Min(band, g.Ho - oh0), width = rows * g.Wo;
                var xs = new ReadOnlySpan<float>((float*)ax, xl).Slice(img * g.C * hw, g.C * hw);
                var ys = new Span<float>((float*)ay, yl).Slice(img * k * howo, k * howo);
                using var scratch = new ConvScratch<float>(g.Kh * g.Kw * width);
                float* bPacked = PackedBandBuffer(mg.PackedBLength(width, g.Rows));
                Im2Col.UnfoldPacked(xs, g, oh0, rows, bPacked, Linalg.ManagedGemm.KC, nr, scratch.Span(g.Kh * g.Kw * width));
                mg.SgemmPrepackedB(packedA, new ReadOnlySpan<float>((float*)aw, wl), g.Rows, k, width, g.Rows, bPacked, 0f, ys.Slice(oh0 * g.Wo), howo);
            });
        }
    }

    // One 64-byte aligned packed band per thread, kept for the thread's lifetime, grown when a larger one is needed.
    [ThreadStatic] private static unsafe float* t_packedBand;
    [ThreadStatic] private static long t_packedBandCapacity;

    private static unsafe float* PackedBandBuffer(long floats)
    {
        if (t_packedBandCapacity < floats)
        {
            if (t_packedBand != null) NativeMemory.AlignedFree(t_packedBand);
            t_packedBand = null;
            t_packedBandCapacity = 0;
            t_packedBand = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            t_packedBandCapacity = floats;
        }
        return t_packedBand;
    }

    // y: [N, K, P] += b[k]
    private static void AddChannelBias<T>(Span<T> y, ReadOnlySpan<T> b, int n, int k, int plane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int img = 0; img < n; img++)
            for (int ch = 0; ch < k; ch++)
            {
                var p = y.Slice((img * k + ch) * plane, plane);
                System.Numerics.Tensors.TensorPrimitives.Add<T>(p, b[ch], p);
            }
    }

    // dy: [N, K, P] -> db: [K] (added)
    private static void AddChannelSums<T>(ReadOnlySpan<T> dy, Span<T> db, int n, int k, int plane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int img = 0; img < n; img++)
            for (int ch = 0; ch < k; ch++)
                db[ch] += System.Numerics.Tensors.TensorPrimitives.Sum(dy.Slice((img * k + ch) * plane, plane));
    }

    // x: [N, C, H, W], dy: [N, K, Ho, Wo], w: [K, C/G, kh, kw] -> dx (written), dw, db (added); empty spans are skipped
    private static void ConvBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, Span<T> db, ConvGeometry g, int n, int k, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!db.IsEmpty) AddChannelSums(dy, db, n, k, g.Ho * g.Wo);
        if (!dw.IsEmpty) ConvWeightGrad(x, dy, dw, g, n, k, groups);
        if (!dx.IsEmpty) ConvInputGrad(dy, w, dx, g, n, k, groups);
    }

    // x: [N, C, H, W], dy: [N, K, Ho, Wo] -> dw: [K, C/G, kh, kw] (added): dW_g += dY_g unfold(x_g)^T summed over images
    internal static void ConvWeightGrad<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dw, ConvGeometry g, int n, int k, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (IsDepthwise(g, k, groups))
        {
            ConvDepthwise.WeightGrad(x, dy, dw, g with { C = k }, n);
            return;
        }
        int hw = g.H * g.W, howo = g.Ho * g.Wo, cIn = g.C * groups, kg = k / groups;
        bool pointwise = IsPointwise(g);
        int band = BandRows(g);
        // Images are split into one chunk per thread; chunk 0 adds into dw, the others into zeroed partial sums
        // that are added to dw in chunk order afterwards: the result depends on the thread count, not on timing.
        long flopsPerImage = 2L * k * g.Rows * howo;
        int chunks = Parallelism.Threads == 1 || Parallelism.InParallelRegion || (double)ConvWork(flopsPerImage) * n < Parallelism.MinParallelWork
            ? 1 : Math.Min(Parallelism.Threads, n);
        // Pooled, as the input gradient's copies: fresh arrays every call were fresh pages (about 1,000 faults per
        // DeepLabV3 training step with two threads, at about 12 us each on a freshly booted VM).
        var partials = new T[Math.Max(0, chunks - 1)][];
        for (int p = 1; p < chunks; p++)
        {
            partials[p - 1] = System.Buffers.ArrayPool<T>.Shared.Rent(dw.Length);
            Array.Clear(partials[p - 1], 0, dw.Length);
        }
        unsafe
        {
            fixed (T* px = x, pdy = dy, pdw = dw)
            {
                nint ax = (nint)px, ady = (nint)pdy, adw = (nint)pdw;
                int xl = x.Length, dyl = dy.Length, dwl = dw.Length;
                Parallelism.For(chunks, ConvWork(flopsPerImage * n / chunks), chunk =>
                {
                    var xAll = new ReadOnlySpan<T>((T*)ax, xl);
                    var dyAll = new ReadOnlySpan<T>((T*)ady, dyl);
                    var acc = chunk == 0 ? new Span<T>((T*)adw, dwl) : partials[chunk - 1].AsSpan(0, dwl);
                    using var cols = new ConvScratch<T>(pointwise ? 0 : g.Rows * band * g.Wo);
                    for (int img = chunk * n / chunks; img < (chunk + 1) * n / chunks; img++)
                        for (int gr = 0; gr < groups; gr++)
                        {
                            var xs = xAll.Slice((img * cIn + gr * g.C) * hw, g.C * hw);
                            var dys = dyAll.Slice((img * k + gr * kg) * howo, kg * howo);
                            var dws = acc.Slice(gr * kg * g.Rows, kg * g.Rows);
                            if (pointwise)
                            {
                                // [kg, H*W] x [C, H*W]^T -> [kg, C]
                                ConvGemm.Gemm(false, true, kg, g.C, howo, T.One, dys, howo, xs, hw, T.One, dws, g.C);
                                continue;
                            }
                            for (int oh0 = 0; oh0 < g.Ho; oh0 += band)
                            {
                                int rows = Math.Min(band, g.Ho - oh0), width = rows * g.Wo;
                                var c = cols.Span(g.Rows * width);
                                Im2Col.Unfold<T>(xs, g, oh0, rows, c);
                                // [kg, rows*Wo] x [C*kh*kw, rows*Wo]^T -> [kg, C*kh*kw]
                                ConvGemm.Gemm(false, true, kg, g.Rows, width, T.One, dys.Slice(oh0 * g.Wo), howo, c, width, T.One, dws, g.Rows);
                            }
                        }
                });
            }
        }
        foreach (var part in partials)
        {
            System.Numerics.Tensors.TensorPrimitives.Add<T>(dw, part.AsSpan(0, dw.Length), dw);
            System.Buffers.ArrayPool<T>.Shared.Return(part);
        }
    }

    // dy: [N, K, Ho, Wo], w: [K, C/G, kh, kw] -> dx: [N, C, H, W] (written)
    internal static void ConvInputGrad<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, ConvGeometry g, int n, int k, int groups)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int kg = k / groups, cIn = g.C * groups;
        int ph = g.Dh * (g.Kh - 1) - g.Ph, pw = g.Dw * (g.Kw - 1) - g.Pw;
        if (g.Sh == 1 && g.Sw == 1 && ph >= 0 && pw >= 0)
        {
            // Stride 1: dx = conv(dy, w'), w'[g*C/G + c, k, i, j] = w[g*K/G + k, c, kh-1-i, kw-1-j], padding d(k-1) - p.
            using var flipped = new ConvScratch<T>(w.Length);
            var wf = flipped.Span(w.Length);
            int kk = g.Kh * g.Kw;
            for (int gr = 0; gr < groups; gr++)
                for (int kk0 = 0; kk0 < kg; kk0++)
                    for (int c = 0; c < g.C; c++)
                    {
                        var src = w.Slice(((gr * kg + kk0) * g.C + c) * kk, kk);
                        var dst = wf.Slice(((gr * g.C + c) * kg + kk0) * kk, kk);
                        for (int t = 0; t < kk; t++) dst[t] = src[kk - 1 - t];
                    }
            var gt = new ConvGeometry(kg, g.Ho, g.Wo, g.Kh, g.Kw, 1, 1, ph, pw, g.Dh, g.Dw, g.H, g.W);
            ConvForward<T>(dy, wf, default, dx, gt, n, cIn, groups);
            return;
        }
        if (IsDepthwise(g, k, groups))
        {
            ConvDepthwise.ScatterInput(dy, w, dx, g with { C = k }, n);
            return;
        }
        dx.Clear();
        int hw = g.H * g.W, howo = g.Ho * g.Wo;
        int band = BandRows(g);
        // Items (image, group) fold into disjoint slices of dx, in parallel. Bands of one item overlap in dx, so
        // when there are fewer items than threads (batch 1) each item's bands are split into one run per thread,
        // folding into its own zeroed copy of the item's slice (the first run into dx itself), and the copies are
        // added in run order: deterministic for a thread count.
        int bands = (g.Ho + band - 1) / band, items = n * groups;
        // Only where the GEMM does at least 128 flops per element of the copy to clear and add. Single convolutions
        // at batch 1, 2 threads (quiet machine, median of 7): CGNet's 3->32 stride 2 at 360x480 (144 flops per
        // element) 15.0 -> 7.6 ms and 131->128 at 90x120 (576) 28.7 -> 19.3 ms against one thread. ESPNet's strided
        // convolutions (54-113) stay whole: split, its input-gradient pass peaked at 686-727 MB against 654-661.
        long flopsPerItem = 2L * kg * g.Rows * howo;
        int runs = items >= Parallelism.Threads || Parallelism.InParallelRegion
            || (double)ConvWork(flopsPerItem) * items < Parallelism.MinParallelWork || flopsPerItem < 128L * g.C * hw
            ? 1 : Math.Max(1, Math.Min(Parallelism.Threads / items, bands));
        int slice = g.C * hw;
        using var weights = new ConvWeights<T>(true, g.Rows, kg, w, g.Rows, Math.Min(band, g.Ho) * g.Wo, groups == 1 ? items * bands : 1);
        var copies = new T[runs > 1 ? items * (runs - 1) : 0][]; // pooled: a fresh array per call would be fresh pages
        for (int i = 0; i < copies.Length; i++)
        {
            copies[i] = System.Buffers.ArrayPool<T>.Shared.Rent(slice);
            Array.Clear(copies[i], 0, slice);
        }
        unsafe
        {
            fixed (T* pdy = dy, pwt = w, pdx = dx)
            {
                nint ady = (nint)pdy, aw = (nint)pwt, adx = (nint)pdx;
                int dyl = dy.Length, wl = w.Length, dxl = dx.Length;
                Parallelism.For(items * runs, ConvWork(flopsPerItem / runs), work =>
                {
                    int item = work / runs, run = work % runs, img = item / groups, gr = item % groups;
                    var ws = new ReadOnlySpan<T>((T*)aw, wl).Slice(gr * kg * g.Rows, kg * g.Rows);
                    var dys = new ReadOnlySpan<T>((T*)ady, dyl).Slice((img * k + gr * kg) * howo, kg * howo);
                    var dxs = run == 0 ? new Span<T>((T*)adx, dxl).Slice((img * cIn + gr * g.C) * hw, slice) : copies[item * (runs - 1) + run - 1].AsSpan(0, slice);
                    using var cols = new ConvScratch<T>(g.Rows * band * g.Wo);
                    for (int bi = run * bands / runs; bi < (run + 1) * bands / runs; bi++)
                    {
                        int oh0 = bi * band, rows = Math.Min(band, g.Ho - oh0), width = rows * g.Wo;
                        var c = cols.Span(g.Rows * width);
                        // [kg, C*kh*kw]^T x [kg, rows*Wo] -> [C*kh*kw, rows*Wo], folded back into dx
                        weights.Multiply(ws, g.Rows, width, dys.Slice(oh0 * g.Wo), howo, T.Zero, c, width);
                        Im2Col.FoldAdd<T>(c, g, oh0, rows, dxs);
                    }
                });
            }
        }
        for (int item = 0; item < items && runs > 1; item++)
        {
            int img = item / groups, gr = item % groups;
            var dxs = dx.Slice((img * cIn + gr * g.C) * hw, slice);
            for (int run = 1; run < runs; run++) System.Numerics.Tensors.TensorPrimitives.Add<T>(dxs, copies[item * (runs - 1) + run - 1].AsSpan(0, slice), dxs);
        }
        foreach (var copy in copies) System.Buffers.ArrayPool<T>.Shared.Return(copy);
    }
}
