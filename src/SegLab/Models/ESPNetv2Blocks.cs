// The building blocks of ESPNetv2 (Mehta, Rastegari, Shapiro, Hajishirzi; CVPR 2019): the EESP unit, its strided
// form with input reinforcement, the efficient pyramid pooling and the gated point-wise merge of the decoder.
// Written from the public architecture (sacmehta/EdgeNets, nn_layers/) with its state-dict names: the encoder's
// blocks name their children conv/bn/act (espnet_utils: Blocks.cs' ConvBnPrelu and BnPrelu), the decoder's wrap
// them in Sequentials "cbr"/"br" (cnn_utils). Batch norm uses PyTorch's default eps 1e-5 throughout.
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>conv (no bias, "same" padding, grouped) -> batch norm, children "conv", "bn".</summary>
internal sealed class EdgeCb : Module
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;

    public EdgeCb(int nIn, int nOut, int kernel, int stride, int groups, Rng? rng)
    {
        _conv = RegisterModule("conv", new Conv2d(nIn, nOut, kernel, stride, (kernel - 1) / 2, 1, groups, bias: false, rng: rng));
        _bn = RegisterModule("bn", new BatchNorm2d(nOut));
    }

    protected override Tensor ForwardCore(Tensor x) => _bn.Forward(_conv.Forward(x));
}

/// <summary>The decoder's BR: a Sequential "br" of batch norm and PReLU.</summary>
internal sealed class SeqBr : Module
{
    private readonly BatchNorm2d _bn;
    private readonly PReLU _act;

    public SeqBr(int channels)
    {
        _bn = new BatchNorm2d(channels);
        _act = new PReLU(channels);
        RegisterModule("br", new Sequential(_bn, _act));
    }

    protected override Tensor ForwardCore(Tensor x) => BnPrelu.Apply(_bn, _act, x);

    /// <summary>This block on the channel concatenation of <paramref name="parts"/> (fused in evaluation mode).</summary>
    public Tensor ForwardCat(IReadOnlyList<Tensor> parts) => Produced(BnPrelu.ApplyCat(_bn, _act, parts));
}

/// <summary>The decoder's CBR: a Sequential "cbr" of conv (no bias, "same" padding, grouped), batch norm and PReLU.</summary>
internal sealed class SeqCbr : Module
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;
    private readonly PReLU _act;

    public SeqCbr(int nIn, int nOut, int kernel, int groups, Rng? rng)
    {
        _conv = new Conv2d(nIn, nOut, kernel, 1, (kernel - 1) / 2, 1, groups, bias: false, rng: rng);
        _bn = new BatchNorm2d(nOut);
        _act = new PReLU(nOut);
        RegisterModule("cbr", new Sequential(_conv, _bn, _act));
    }

    protected override Tensor ForwardCore(Tensor x) => BnPrelu.Apply(_bn, _act, _conv.Forward(x));
}

/// <summary>
/// The EESP unit: a grouped 1x1 reduction to n = nOut / k channels, k depthwise 3x3 branches with dilations from
/// the receptive-field limit, hierarchical sums of the branches, batch norm + PReLU, a grouped 1x1 expansion with
/// batch norm, then (stride 1) the residual and a PReLU. Strided, it returns the expansion only (DownSampler merges it).
/// </summary>
internal sealed class Eesp : Module
{
    private static readonly Dictionary<int, int> DilationOfKernel = new() { [3] = 1, [5] = 2, [7] = 3, [9] = 4, [11] = 5, [13] = 6, [15] = 7, [17] = 8 };
    private readonly ConvBnPrelu _proj;
    private readonly ConvOnly[] _branches;
    private readonly EdgeCb _expand;
    private readonly BnPrelu _brAfterCat;
    private readonly PReLU _act;
    private readonly int _stride;

    public Eesp(int nIn, int nOut, int stride, int k, int receptiveLimit, Rng? rng)
    {
        int n = nOut / k;
        if (n * k != nOut) throw new ArgumentException($"EESP: {nOut} output channels do not split into {k} equal branches.");
        _stride = stride;
        _proj = RegisterModule("proj_1x1", new ConvBnPrelu(nIn, n, 1, 1, rng, groups: k, eps: 1e-5));
        // Branch i has the receptive field 3 + 2i unless that passes the limit (then 3); sorted ascending.
        var sizes = Enumerable.Range(0, k).Select(i => 3 + 2 * i <= receptiveLimit ? 3 + 2 * i : 3).Order().ToArray();
        Dilations = [.. sizes.Select(s => DilationOfKernel[s])];
        var spp = RegisterModule("spp_dw", new Sequential());
        foreach (int d in Dilations) spp.Add(new ConvOnly(n, n, 3, stride, rng, d, groups: n));
        _branches = [.. Enumerable.Range(0, k).Select(i => (ConvOnly)spp[i])];
        _expand = RegisterModule("conv_1x1_exp", new EdgeCb(nOut, nOut, 1, 1, k, rng));
        _brAfterCat = RegisterModule("br_after_cat", new BnPrelu(nOut, eps: 1e-5));
        _act = RegisterModule("module_act", new PReLU(nOut)); // registered (it is in the state dict) but unused when strided
    }

    /// <summary>Dilation of each depthwise branch, in branch order.</summary>
    public int[] Dilations { get; }

    protected override Tensor ForwardCore(Tensor x)
    {
        var reduced = _proj.Forward(x);
        var parts = new Tensor[_branches.Length];
        parts[0] = _branches[0].Forward(reduced);
        for (int i = 1; i < parts.Length; i++) parts[i] = Ops.Add(_branches[i].Forward(reduced), parts[i - 1]);
        var expanded = _expand.Forward(_brAfterCat.ForwardCat(parts));
        if (_stride == 2) return expanded;
        if (expanded.Shape.SequenceEqual(x.Shape)) expanded = Ops.Add(expanded, x);
        return _act.Forward(expanded);
    }
}

/// <summary>
/// The strided EESP unit (EdgeNets' DownSampler, as its encoder uses it: with input reinforcement): Cat(3x3 average
/// pool, strided EESP) plus a CBR + CB projection of the image average-pooled to the same size, then a PReLU.
/// </summary>
internal sealed class EespDownSampler : Module
{
    private readonly Eesp _eesp;
    private readonly Sequential _reinforce;
    private readonly PReLU _act;

    public EespDownSampler(int nIn, int nOut, int k, int receptiveLimit, Rng? rng)
    {
        if (nOut <= nIn) throw new ArgumentException($"DownSampler: output channels {nOut} must exceed the {nIn} input channels.");
        _eesp = RegisterModule("eesp", new Eesp(nIn, nOut - nIn, 2, k, receptiveLimit, rng));
        _reinforce = RegisterModule("inp_reinf", new Sequential(new ConvBnPrelu(3, 3, 3, 1, rng, eps: 1e-5), new EdgeCb(3, nOut, 1, 1, 1, rng)));
        _act = RegisterModule("act", new PReLU(nOut));
    }

    /// <summary>The block on <paramref name="x"/>; <paramref name="images"/>[k] is the image pooled k times (index 0 the image; extended here).</summary>
    public Tensor Run(Tensor x, List<Tensor> images)
    {
        var pooled = Pool(x);
        var output = Ops.Cat([pooled, _eesp.Forward(x)], 1);
        // The original pools the image (3x3, stride 2, pad 1) until its width equals the pooled features'.
        int i = 1;
        for (; ; i++)
        {
            if (i == images.Count) images.Add(Pool(images[i - 1]));
            if (images[i].Size(3) == pooled.Size(3) || images[i].Size(3) == 1) break;
        }
        var image = images[i];
        if (image.Size(2) != pooled.Size(2) || image.Size(3) != pooled.Size(3))
            throw new ArgumentException($"ESPNetv2: the pooled image {Shapes.Format(image.Shape)} does not fit features {Shapes.Format(pooled.Shape)} (input sizes must be multiples of 16).");
        return Produced(_act.Forward(Ops.Add(output, _reinforce.Forward(image))));
    }

    /// <summary>Not callable alone: the block needs the image (<see cref="Run"/>).</summary>
    protected override Tensor ForwardCore(Tensor x) =>
        throw new InvalidOperationException("DownSampler with input reinforcement needs the image: call Run(x, images).");

    private static Tensor Pool(Tensor x) => Ops.AvgPool2d(x, 3, 2, 1, ceilMode: false, countIncludePad: true);
}

/// <summary>
/// Efficient pyramid pooling: a 1x1 CBR projection, one depthwise 3x3 conv per scale (2, 1.5, 1, 0.5, 0.1) run on the
/// projection resized to ceil(scale * size) (at least 5; bilinear with aligned corners up, adaptive average pooling
/// down) and brought back, batch norm + PReLU over their concatenation, a channel shuffle, a grouped 3x3 CBR and a
/// 1x1 conv (with bias when no batch norm + PReLU follows).
/// </summary>
internal sealed class EfficientPyrPool : Module
{
    private static readonly double[] Scales = [2.0, 1.5, 1.0, 0.5, 0.1];
    private readonly SeqCbr _projection;
    private readonly Conv2d[] _stages;
    private readonly SeqBr _mergeBr;
    private readonly SeqCbr _mergeCbr;
    private readonly Conv2d _mergeConv;
    private readonly SeqBr? _br;

    public EfficientPyrPool(int inPlanes, int projPlanes, int outPlanes, bool lastLayerBr, Rng? rng)
    {
        _projection = RegisterModule("projection_layer", new SeqCbr(inPlanes, projPlanes, 1, 1, rng));
        var stages = RegisterModule("stages", new Sequential());
        foreach (var _ in Scales) stages.Add(new Conv2d(projPlanes, projPlanes, 3, 1, 1, 1, projPlanes, bias: false, rng: rng));
        _stages = [.. Enumerable.Range(0, Scales.Length).Select(i => (Conv2d)stages[i])];
        int cat = projPlanes * Scales.Length;
        _mergeBr = new SeqBr(cat);
        _mergeCbr = new SeqCbr(cat, projPlanes, 3, projPlanes, rng);
        _mergeConv = new Conv2d(projPlanes, outPlanes, 1, bias: !lastLayerBr, rng: rng);
        RegisterModule("merge_layer", new Sequential(_mergeBr, new Lambda(x => ChannelShuffle(x, Scales.Length)), _mergeCbr, _mergeConv));
        if (lastLayerBr) _br = RegisterModule("br", new SeqBr(outPlanes));
    }

    protected override Tensor ForwardCore(Tensor x)
    {
        x = _projection.Forward(x);
        int h = x.Size(2), w = x.Size(3);
        var branches = new Tensor[Scales.Length];
        for (int i = 0; i < Scales.Length; i++)
        {
            double s = Scales[i];
            // As the original: ceil in double precision (0.1 * 30 rounds up to 4), then at least 5.
            int hs = Math.Max(5, (int)Math.Ceiling(h * s)), ws = Math.Max(5, (int)Math.Ceiling(w * s));
            branches[i] = s < 1
                ? Ops.Interpolate(_stages[i].Forward(Ops.AdaptiveAvgPool2d(x, hs, ws)), h, w, InterpolationMode.Bilinear, alignCorners: true)
                : s > 1
                    ? Ops.AdaptiveAvgPool2d(_stages[i].Forward(Ops.Interpolate(x, hs, ws, InterpolationMode.Bilinear, alignCorners: true)), h, w)
                    : _stages[i].Forward(x);
        }
        var merged = _mergeConv.Forward(_mergeCbr.Forward(ChannelShuffle(_mergeBr.ForwardCat(branches), Scales.Length)));
        return _br is null ? merged : _br.Forward(merged);
    }

    /// <summary>[N, g * c, H, W] -> [N, c * g, H, W]: channel j * c + i moves to i * g + j (ShuffleNet's shuffle).</summary>
    internal static Tensor ChannelShuffle(Tensor x, int groups)
    {
        int n = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        if (c % groups != 0) throw new ArgumentException($"channel shuffle: {c} channels do not split into {groups} groups.");
        var grouped = Ops.Reshape(x, n, groups, c / groups, h, w);
        return Ops.Reshape(Ops.Transpose(grouped, 1, 2), n, c, h, w);
    }
}

/// <summary>
/// EdgeNets' EfficientPWConv: a grouped (gcd of the widths) 3x3 CBR expansion, scaled per channel by a gate
/// sigmoid(1x1 conv(global average)).
/// </summary>
internal sealed class EfficientPwConv : Module
{
    private readonly Conv2d _gateConv;
    private readonly SeqCbr _expansion;

    public EfficientPwConv(int nIn, int nOut, Rng? rng)
    {
        _gateConv = new Conv2d(nIn, nOut, 1, bias: false, rng: rng);
        RegisterModule("wt_layer", new Sequential(new AdaptiveAvgPool2d(1, 1), _gateConv, Activation.Sigmoid()));
        _expansion = RegisterModule("expansion_layer", new SeqCbr(nIn, nOut, 3, Gcd(nIn, nOut), rng));
    }

    protected override Tensor ForwardCore(Tensor x)
    {
        var gate = Ops.Sigmoid(_gateConv.Forward(Ops.GlobalAvgPool2d(x)));
        return Ops.Mul(_expansion.Forward(x), gate);
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
