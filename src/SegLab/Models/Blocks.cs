// Building blocks shared by the lightweight CamVid networks (CGNet, ESPNet): their original code defines the same
// conv / batch-norm (eps 1e-3) / PReLU groupings under the child names "conv", "bn" and "act", so one set of blocks
// gives both their PyTorch state-dict names.
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>conv (no bias, "same" padding) -> batch norm (eps 1e-3) -> per-channel PReLU.</summary>
internal sealed class ConvBnPrelu : Module
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;
    private readonly PReLU _act;

    public ConvBnPrelu(int nIn, int nOut, int kernel, int stride, Rng? rng)
    {
        _conv = RegisterModule("conv", new Conv2d(nIn, nOut, kernel, stride, (kernel - 1) / 2, bias: false, rng: rng));
        _bn = RegisterModule("bn", new BatchNorm2d(nOut, eps: 1e-3));
        _act = RegisterModule("act", new PReLU(nOut));
    }

    protected override Tensor ForwardCore(Tensor x) => _act.Forward(_bn.Forward(_conv.Forward(x)));
}

/// <summary>batch norm (eps 1e-3) -> per-channel PReLU.</summary>
internal sealed class BnPrelu : Module
{
    private readonly BatchNorm2d _bn;
    private readonly PReLU _act;

    public BnPrelu(int channels)
    {
        _bn = RegisterModule("bn", new BatchNorm2d(channels, eps: 1e-3));
        _act = RegisterModule("act", new PReLU(channels));
    }

    protected override Tensor ForwardCore(Tensor x) => _act.Forward(_bn.Forward(x));
}

/// <summary>A bias-free (dilated, grouped) convolution with "same" padding, wrapped as "conv".</summary>
internal sealed class ConvOnly : Module
{
    public ConvOnly(int nIn, int nOut, int kernel, int stride, Rng? rng, int dilation = 1, int groups = 1)
        => Conv = RegisterModule("conv", new Conv2d(nIn, nOut, kernel, stride, (kernel - 1) / 2 * dilation, dilation, groups, bias: false, rng: rng));

    public Conv2d Conv { get; }

    protected override Tensor ForwardCore(Tensor x) => Conv.Forward(x);
}
