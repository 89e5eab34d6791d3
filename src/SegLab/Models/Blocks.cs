// Building blocks shared by the lightweight networks (CGNet, ESPNet, ESPNetv2's encoder): their original code defines
// the same conv / batch-norm (eps 1e-3; ESPNetv2 1e-5) / PReLU groupings under the child names "conv", "bn" and "act",
// so one set of blocks gives all their PyTorch state-dict names. In evaluation mode batch norm and PReLU run fused (one pass over the
// data, one output array); the "bn" child's own output is then not offered to a feature capture.
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>conv (no bias, "same" padding, optionally grouped) -> batch norm (eps 1e-3 unless given) -> per-channel PReLU.</summary>
internal sealed class ConvBnPrelu : Module
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;
    private readonly PReLU _act;

    public ConvBnPrelu(int nIn, int nOut, int kernel, int stride, Rng? rng, int groups = 1, double eps = 1e-3)
    {
        _conv = RegisterModule("conv", new Conv2d(nIn, nOut, kernel, stride, (kernel - 1) / 2, 1, groups, bias: false, rng: rng));
        _bn = RegisterModule("bn", new BatchNorm2d(nOut, eps: eps));
        _act = RegisterModule("act", new PReLU(nOut));
    }

    protected override Tensor ForwardCore(Tensor x) => BnPrelu.Apply(_bn, _act, _conv.Forward(x));
}

/// <summary>batch norm (eps 1e-3 unless given) -> per-channel PReLU.</summary>
internal sealed class BnPrelu : Module
{
    private readonly BatchNorm2d _bn;
    private readonly PReLU _act;

    public BnPrelu(int channels, double eps = 1e-3)
    {
        _bn = RegisterModule("bn", new BatchNorm2d(channels, eps: eps));
        _act = RegisterModule("act", new PReLU(channels));
    }

    protected override Tensor ForwardCore(Tensor x) => Apply(_bn, _act, x);

    /// <summary>This block on the concatenation of <paramref name="parts"/> along channels, without writing the concatenation in evaluation mode.</summary>
    /// <param name="parts">[N, C_i, H, W] tensors whose channels add up to the block's.</param>
    internal Tensor ForwardCat(IReadOnlyList<Tensor> parts) => Produced(ApplyCat(_bn, _act, parts));

    /// <summary>act(bn(x)): fused with running statistics in evaluation mode, two layers in training mode.</summary>
    internal static Tensor Apply(BatchNorm2d bn, PReLU act, Tensor x) => bn.Training
        ? act.Forward(bn.Forward(x))
        : act.Produced(Ops.BatchNormPrelu(x, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, act.Weight, bn.Eps));

    /// <summary>act(bn(Cat(parts, 1))): in evaluation mode one fused pass over the parts where they are.</summary>
    internal static Tensor ApplyCat(BatchNorm2d bn, PReLU act, IReadOnlyList<Tensor> parts) => bn.Training
        ? Apply(bn, act, Ops.Cat(parts, 1))
        : act.Produced(Ops.CatBatchNormPrelu(parts, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, act.Weight, bn.Eps));
}

/// <summary>A bias-free (dilated, grouped) convolution with "same" padding, wrapped as "conv".</summary>
internal sealed class ConvOnly : Module
{
    public ConvOnly(int nIn, int nOut, int kernel, int stride, Rng? rng, int dilation = 1, int groups = 1)
        => Conv = RegisterModule("conv", new Conv2d(nIn, nOut, kernel, stride, (kernel - 1) / 2 * dilation, dilation, groups, bias: false, rng: rng));

    public Conv2d Conv { get; }

    protected override Tensor ForwardCore(Tensor x) => Conv.Forward(x);
}
