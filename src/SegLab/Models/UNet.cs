// UNet (Ronneberger, Fischer, Brox; MICCAI 2015) with batch norm and bilinear upsampling, configurable depth
// and width. Encoder, decoder, head as in segmentation_models_pytorch; encoder stages are named modules
// (encoder.stage0 ... encoder.stageK) so their features can be captured (CAM, Contextrast heads).
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>A UNet: widths[i] channels at 1/2^i resolution; widths.Length levels.</summary>
public sealed class UNet : Module
{
    /// <summary>Builds the network.</summary>
    /// <param name="classes">Output classes.</param>
    /// <param name="widths">Channels per level, shallow to deep (e.g. 16, 32, 64, 128).</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="rng">Initialisation generator.</param>
    public UNet(int classes, int[] widths, int inChannels = 3, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (widths.Length < 2 || widths.Any(w => w < 1))
            throw new ArgumentException($"UNet: need at least two positive widths, got [{string.Join(", ", widths)}].");
        Widths = (int[])widths.Clone();
        Encoder = RegisterModule("encoder", new UNetEncoder(inChannels, widths, rng));
        Decoder = RegisterModule("decoder", new UNetDecoder(widths, rng));
        Head = RegisterModule("head", new Conv2d(widths[0], classes, 1, rng: rng));
    }

    /// <summary>Channels per level.</summary>
    public IReadOnlyList<int> Widths { get; }

    /// <summary>The encoder; stage i is the module "encoder.stage{i}".</summary>
    public UNetEncoder Encoder { get; }

    /// <summary>The decoder.</summary>
    public UNetDecoder Decoder { get; }

    /// <summary>1x1 classifier.</summary>
    public Conv2d Head { get; }

    /// <summary>Names of the encoder stages, shallow to deep.</summary>
    public IReadOnlyList<string> StageNames => Enumerable.Range(0, Widths.Count).Select(i => $"encoder.stage{i}").ToArray();

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Head.Forward(Decoder.Decode(Encoder.Stages(x)));
}

/// <summary>(conv 3x3, batch norm, ReLU) twice.</summary>
public sealed class DoubleConv : Module
{
    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="rng">Initialisation generator.</param>
    public DoubleConv(int inChannels, int outChannels, Rng? rng)
    {
        Body = RegisterModule("body", new Sequential(
            new Conv2d(inChannels, outChannels, 3, 1, 1, bias: false, rng: rng), new BatchNorm2d(outChannels), Activation.ReLU(),
            new Conv2d(outChannels, outChannels, 3, 1, 1, bias: false, rng: rng), new BatchNorm2d(outChannels), Activation.ReLU()));
    }

    private Sequential Body { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Body.Forward(x);
}

/// <summary>UNet encoder: stage0 at full resolution, then 2x2 max pool + DoubleConv per stage.</summary>
public sealed class UNetEncoder : Module
{
    private readonly DoubleConv[] _stages;

    internal UNetEncoder(int inChannels, int[] widths, Rng? rng)
    {
        _stages = new DoubleConv[widths.Length];
        for (int i = 0; i < widths.Length; i++)
            _stages[i] = RegisterModule($"stage{i}", new DoubleConv(i == 0 ? inChannels : widths[i - 1], widths[i], rng));
    }

    /// <summary>Every stage's output, shallow to deep.</summary>
    /// <param name="x">Input.</param>
    public IReadOnlyList<Tensor> Stages(Tensor x)
    {
        var feats = new Tensor[_stages.Length];
        for (int i = 0; i < _stages.Length; i++)
        {
            if (i > 0) x = Ops.MaxPool2d(x, 2, 2);
            x = _stages[i].Forward(x);
            feats[i] = x;
        }
        return feats;
    }

    /// <summary>The deepest stage's output.</summary>
    protected override Tensor ForwardCore(Tensor x) => Stages(x)[^1];
}

/// <summary>UNet decoder: bilinear x2 (to the skip's size), concatenate the skip, DoubleConv.</summary>
public sealed class UNetDecoder : Module
{
    private readonly DoubleConv[] _blocks;

    internal UNetDecoder(int[] widths, Rng? rng)
    {
        _blocks = new DoubleConv[widths.Length - 1];
        for (int i = widths.Length - 2; i >= 0; i--)
            _blocks[i] = RegisterModule($"block{i}", new DoubleConv(widths[i + 1] + widths[i], widths[i], rng));
    }

    /// <summary>Decodes encoder features (shallow to deep) to full-resolution features.</summary>
    /// <param name="features">Encoder stage outputs.</param>
    public Tensor Decode(IReadOnlyList<Tensor> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var x = features[^1];
        for (int i = _blocks.Length - 1; i >= 0; i--)
        {
            var skip = features[i];
            var up = Ops.Interpolate(x, skip.Size(2), skip.Size(3), InterpolationMode.Bilinear, alignCorners: false);
            x = _blocks[i].Forward(Ops.Cat([skip, up], 1));
        }
        return x;
    }

    /// <summary>Not used alone: the decoder needs every encoder stage; call <see cref="Decode"/>.</summary>
    protected override Tensor ForwardCore(Tensor x) => throw new InvalidOperationException("UNetDecoder needs all encoder features: call Decode(features).");
}
