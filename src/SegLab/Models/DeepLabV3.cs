// DeepLabV3-style network (Chen, Papandreou, Schroff, Adam; arXiv 1706.05587): a ResNet-18-style encoder
// (He et al. 2016) whose last stages trade stride for dilation (output stride 8 or 16), an ASPP head with
// image pooling, and bilinear upsampling to the input size. Width is configurable for CPU training; or on the
// torchvision-layout ResNet of ResNet.cs, from ImageNet weights (deeplabv3-resnet18).
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>DeepLabV3 with a dilated ResNet-18-style encoder.</summary>
public sealed class DeepLabV3 : Module
{
    /// <summary>Builds the network.</summary>
    /// <param name="classes">Output classes.</param>
    /// <param name="baseWidth">Channels of the first stage (64 in ResNet-18); stages use 1x, 2x, 4x, 8x.</param>
    /// <param name="outputStride">8 or 16.</param>
    /// <param name="asppChannels">Channels of each ASPP branch and of the head.</param>
    /// <param name="rng">Initialisation generator.</param>
    public DeepLabV3(int classes, int baseWidth = 64, int outputStride = 16, int asppChannels = 256, Rng? rng = null)
        : this(classes, new ResNetEncoder(baseWidth, CheckStride(outputStride), rng), 8 * baseWidth, outputStride, asppChannels, rng)
    {
    }

    /// <summary>Builds the network on a torchvision-layout <see cref="ResNet"/> (whose weights it keeps).</summary>
    /// <param name="classes">Output classes.</param>
    /// <param name="encoder">The encoder, built at output stride 8 or 16.</param>
    /// <param name="asppChannels">Channels of each ASPP branch and of the head.</param>
    /// <param name="rng">Initialisation generator of the ASPP and the head.</param>
    public DeepLabV3(int classes, ResNet encoder, int asppChannels = 256, Rng? rng = null)
        : this(classes, encoder ?? throw new ArgumentNullException(nameof(encoder)), encoder.Channels, CheckStride(encoder.OutputStride), asppChannels, rng)
    {
    }

    private DeepLabV3(int classes, Module encoder, int encoderChannels, int outputStride, int asppChannels, Rng? rng)
    {
        Encoder = RegisterModule("encoder", encoder);
        int[] rates = outputStride == 16 ? [6, 12, 18] : [12, 24, 36];
        Aspp = RegisterModule("aspp", new Aspp(encoderChannels, asppChannels, rates, rng));
        Head = RegisterModule("head", new Sequential(
            new Conv2d(asppChannels, asppChannels, 3, 1, 1, bias: false, rng: rng), new BatchNorm2d(asppChannels), Activation.ReLU(),
            new Conv2d(asppChannels, classes, 1, rng: rng)));
    }

    /// <summary>
    /// DeepLabV3 on the CNTK ImageNet ResNet18's layout (<see cref="ResNetImageNet.Blocks"/>): fresh weights, or the
    /// encoder's replaced by the ImageNet ones. The generator draws the same encoder, ASPP and head either way, so
    /// the two start from the same ASPP and head.
    /// </summary>
    /// <param name="classes">Output classes.</param>
    /// <param name="outputStride">8 or 16.</param>
    /// <param name="imagenet">Load the ImageNet encoder weights (from the restored NuGet package).</param>
    /// <param name="asppChannels">Channels of each ASPP branch and of the head.</param>
    /// <param name="rng">Initialisation generator.</param>
    public static DeepLabV3 ResNet18(int classes, int outputStride, bool imagenet, int asppChannels = 256, Rng? rng = null)
    {
        var encoder = new ResNet([.. ResNetImageNet.Blocks], CheckStride(outputStride), 64, rng);
        var net = new DeepLabV3(classes, encoder, asppChannels, rng);
        if (imagenet) ResNetImageNet.LoadInto(encoder);
        return net;
    }

    private static int CheckStride(int outputStride) => outputStride is 8 or 16
        ? outputStride
        : throw new ArgumentException($"DeepLabV3: output stride must be 8 or 16, got {outputStride}.");

    /// <summary>The encoder (<see cref="ResNetEncoder"/> or <see cref="ResNet"/>); stages are "encoder.layer1" ... "encoder.layer4".</summary>
    public Module Encoder { get; }

    /// <summary>Atrous spatial pyramid pooling.</summary>
    public Aspp Aspp { get; }

    /// <summary>3x3 conv and classifier.</summary>
    public Sequential Head { get; }

    /// <summary>Names of the encoder stages, shallow to deep.</summary>
    public static IReadOnlyList<string> StageNames { get; } = ["encoder.layer1", "encoder.layer2", "encoder.layer3", "encoder.layer4"];

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x)
    {
        var logits = Head.Forward(Aspp.Forward(Encoder.Forward(x)));
        return Ops.Interpolate(logits, x.Size(2), x.Size(3), InterpolationMode.Bilinear, alignCorners: false);
    }
}

/// <summary>ResNet-18-style encoder: stem (7x7/2 conv, 3x3/2 max pool) and four stages of two basic blocks.</summary>
public sealed class ResNetEncoder : Module
{
    private readonly Sequential _stem;
    private readonly Sequential[] _layers = new Sequential[4];

    internal ResNetEncoder(int w, int outputStride, Rng? rng)
    {
        _stem = RegisterModule("stem", new Sequential(new Conv2d(3, w, 7, 2, 3, bias: false, rng: rng), new BatchNorm2d(w), Activation.ReLU()));
        // output stride 16: layer4 dilated 2; output stride 8: layer3 dilated 2, layer4 dilated 4.
        int[] strides = outputStride == 16 ? [1, 2, 2, 1] : [1, 2, 1, 1];
        int[] dilations = outputStride == 16 ? [1, 1, 1, 2] : [1, 1, 2, 4];
        int inC = w;
        for (int i = 0; i < 4; i++)
        {
            int outC = w << i;
            _layers[i] = RegisterModule($"layer{i + 1}", new Sequential(
                new BasicBlock(inC, outC, strides[i], dilations[i] == 1 ? 1 : dilations[i] / 2, rng),
                new BasicBlock(outC, outC, 1, dilations[i], rng)));
            inC = outC;
        }
        Channels = inC;
    }

    /// <summary>Channels of the last stage.</summary>
    public int Channels { get; }

    /// <summary>Every stage's output (layer1 ... layer4).</summary>
    /// <param name="x">Input.</param>
    public IReadOnlyList<Tensor> Stages(Tensor x)
    {
        x = Ops.MaxPool2d(_stem.Forward(x), 3, 2, 1);
        var feats = new Tensor[4];
        for (int i = 0; i < 4; i++) feats[i] = x = _layers[i].Forward(x);
        return feats;
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Stages(x)[^1];
}

/// <summary>ResNet basic block: two 3x3 convs with batch norm, identity or 1x1 projection shortcut.</summary>
public sealed class BasicBlock : Module
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly Sequential? _downsample;

    internal BasicBlock(int inC, int outC, int stride, int dilation, Rng? rng)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(inC, outC, 3, stride, dilation, dilation, bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(outC));
        _conv2 = RegisterModule("conv2", new Conv2d(outC, outC, 3, 1, dilation, dilation, bias: false, rng: rng));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(outC));
        if (stride != 1 || inC != outC)
            _downsample = RegisterModule("downsample", new Sequential(new Conv2d(inC, outC, 1, stride, bias: false, rng: rng), new BatchNorm2d(outC)));
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x)
    {
        var y = _bn1.ForwardRelu(_conv1.Forward(x));
        y = _bn2.Forward(_conv2.Forward(y));
        return Ops.Relu(Ops.Add(y, _downsample?.Forward(x) ?? x));
    }
}

/// <summary>ASPP: 1x1 branch, three dilated 3x3 branches, image pooling; concatenated and projected.</summary>
public sealed class Aspp : Module
{
    private readonly Sequential[] _branches;
    private readonly Sequential _pool;
    private readonly Sequential _project;

    internal Aspp(int inC, int c, int[] rates, Rng? rng)
    {
        _branches = new Sequential[1 + rates.Length];
        _branches[0] = RegisterModule("b0", new Sequential(new Conv2d(inC, c, 1, bias: false, rng: rng), new BatchNorm2d(c), Activation.ReLU()));
        for (int i = 0; i < rates.Length; i++)
            _branches[i + 1] = RegisterModule($"b{i + 1}", new Sequential(new Conv2d(inC, c, 3, 1, rates[i], rates[i], bias: false, rng: rng), new BatchNorm2d(c), Activation.ReLU()));
        _pool = RegisterModule("pool", new Sequential(new Conv2d(inC, c, 1, bias: false, rng: rng), new BatchNorm2d(c), Activation.ReLU()));
        _project = RegisterModule("project", new Sequential(new Conv2d(c * (rates.Length + 2), c, 1, bias: false, rng: rng), new BatchNorm2d(c), Activation.ReLU()));
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x)
    {
        var outs = _branches.Select(b => b.Forward(x)).ToList();
        // Image pooling; batch norm over a 1x1 map needs batch > 1 in training, as in torchvision.
        var pooled = _pool.Forward(Ops.GlobalAvgPool2d(x));
        outs.Add(Ops.Interpolate(pooled, x.Size(2), x.Size(3), InterpolationMode.Bilinear, alignCorners: false));
        return _project.Forward(Ops.Cat(outs, 1));
    }
}
