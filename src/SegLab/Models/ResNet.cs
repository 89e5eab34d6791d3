// ResNet encoder with basic blocks (He, Zhang, Ren, Sun; CVPR 2016, arXiv 1512.03385) under torchvision's state-dict
// names (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, ...), exposing the four stage outputs at strides 4, 8, 16
// and 32; output stride 16 or 8 replaces the stride of layer4 (and layer3) by dilation as torchvision's
// replace_stride_with_dilation does (the first block of a dilated stage keeps the previous dilation).
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>ResNet with basic blocks: 7x7/2 conv, batch norm, ReLU, 3x3/2 max pool, four stages.</summary>
public sealed class ResNet : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Sequential[] _layers = new Sequential[4];

    /// <summary>Builds the encoder with fresh weights (He initialisation as Conv2d gives it, batch norm 1 and 0).</summary>
    /// <param name="blocks">Basic blocks per stage, e.g. [2, 2, 2, 2] (torchvision's ResNet-18) or [2, 2, 2, 3] (the CNTK ResNet18 of <see cref="ResNetImageNet"/>).</param>
    /// <param name="outputStride">32 (no dilation), 16 (layer4 dilated 2) or 8 (layer3 dilated 2, layer4 dilated 4).</param>
    /// <param name="baseWidth">Channels of layer1 (64); stages use 1x, 2x, 4x, 8x.</param>
    /// <param name="rng">Initialisation generator.</param>
    public ResNet(int[] blocks, int outputStride = 32, int baseWidth = 64, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Length != 4 || blocks.Any(b => b < 1)) throw new ArgumentException($"ResNet: four stages of at least one block each, got [{string.Join(", ", blocks)}].");
        if (outputStride is not (8 or 16 or 32)) throw new ArgumentException($"ResNet: output stride must be 8, 16 or 32, got {outputStride}.");
        if (baseWidth < 1) throw new ArgumentException($"ResNet: base width must be positive, got {baseWidth}.");
        Blocks = (int[])blocks.Clone();
        OutputStride = outputStride;
        _conv1 = RegisterModule("conv1", new Conv2d(3, baseWidth, 7, 2, 3, bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(baseWidth));
        bool[] dilate = [false, false, outputStride == 8, outputStride <= 16];
        int inC = baseWidth, dilation = 1;
        for (int i = 0; i < 4; i++)
        {
            int outC = baseWidth << i;
            int stride = i == 0 ? 1 : 2, previous = dilation;
            if (dilate[i])
            {
                dilation *= stride;
                stride = 1;
            }
            var stage = new Module[blocks[i]];
            stage[0] = new BasicBlock(inC, outC, stride, previous, rng);
            for (int b = 1; b < blocks[i]; b++) stage[b] = new BasicBlock(outC, outC, 1, dilation, rng);
            _layers[i] = RegisterModule($"layer{i + 1}", new Sequential(stage));
            inC = outC;
        }
        Channels = inC;
    }

    /// <summary>Blocks per stage.</summary>
    public IReadOnlyList<int> Blocks { get; }

    /// <summary>Stride of layer4's output relative to the input (8, 16 or 32).</summary>
    public int OutputStride { get; }

    /// <summary>Channels of each stage's output, layer1 to layer4.</summary>
    public IReadOnlyList<int> StageChannels => [.. Enumerable.Range(0, 4).Select(i => (Channels / 8) << i)];

    /// <summary>Channels of layer4's output.</summary>
    public int Channels { get; }

    /// <summary>Strides of the four stage outputs: [4, 8, 16, 32] at output stride 32, [4, 8, 16, 16] at 16, [4, 8, 8, 8] at 8.</summary>
    public IReadOnlyList<int> StageStrides => [4, 8, Math.Min(16, OutputStride), OutputStride];

    /// <summary>Module names of the four stages ("layer1" ... "layer4"), for <see cref="FeatureCapture"/> and Grad-CAM.</summary>
    public static IReadOnlyList<string> StageNames { get; } = ["layer1", "layer2", "layer3", "layer4"];

    /// <summary>The four stage outputs, shallow to deep (for a 224x224 input at output stride 32: 56, 28, 14 and 7 pixels wide).</summary>
    /// <param name="x">Preprocessed input [N, 3, H, W].</param>
    public IReadOnlyList<Tensor> Features(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        x = Ops.MaxPool2d(_bn1.ForwardRelu(_conv1.Forward(x)), 3, 2, 1);
        var feats = new Tensor[4];
        for (int i = 0; i < 4; i++) feats[i] = x = _layers[i].Forward(x);
        return feats;
    }

    /// <summary>Globally average-pooled layer4 features [N, C, 1, 1] (what an ImageNet classifier reads).</summary>
    /// <param name="x">Preprocessed input [N, 3, H, W].</param>
    public Tensor Pooled(Tensor x) => Ops.GlobalAvgPool2d(Forward(x));

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Features(x)[^1];
}
