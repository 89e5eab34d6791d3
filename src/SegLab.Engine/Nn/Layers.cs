// Layers as thin modules over Ops (tinygrad's shape): each holds its parameters under PyTorch's names and
// forwards to one functional operation, so safetensors from PyTorch load one to one.
namespace SegLab.Engine.Nn;

/// <summary>2-D convolution, weight [out, in/groups, kh, kw], optional bias [out].</summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer with PyTorch's default initialisation.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernel">Kernel size (square).</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on each side.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Groups (inChannels for depthwise).</param>
    /// <param name="bias">Whether to add a bias.</param>
    /// <param name="rng">Initialisation generator.</param>
    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true, Rng? rng = null)
        : this(inChannels, outChannels, (kernel, kernel), (stride, stride), (padding, padding), (dilation, dilation), groups, bias, rng)
    {
    }

    /// <summary>Creates the layer with rectangular sizes.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernel">Kernel (height, width).</param>
    /// <param name="stride">Stride (height, width).</param>
    /// <param name="padding">Padding (height, width).</param>
    /// <param name="dilation">Dilation (height, width).</param>
    /// <param name="groups">Groups.</param>
    /// <param name="bias">Whether to add a bias.</param>
    /// <param name="rng">Initialisation generator.</param>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1, bool bias = true, Rng? rng = null)
    {
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: groups {groups} must divide in_channels {inChannels} and out_channels {outChannels}.");
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        Weight = RegisterParameter("weight", Init.DefaultWeight([outChannels, inChannels / groups, kernel.H, kernel.W], rng));
        if (bias)
        {
            double bound = 1.0 / Math.Sqrt(inChannels / groups * kernel.H * kernel.W);
            Bias = RegisterParameter("bias", Tensor.Uniform(rng ?? Init.Default, [outChannels], -bound, bound));
        }
    }

    /// <summary>[out, in/groups, kh, kw].</summary>
    public Tensor Weight { get; }

    /// <summary>[out] or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Padding.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Dilation.</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>Groups.</summary>
    public int Groups { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) =>
        Ops.Conv2d(x, Weight, Bias, Stride.H, Stride.W, Padding.H, Padding.W, Dilation.H, Dilation.W, Groups);
}

/// <summary>Transposed 2-D convolution, weight [in, out/groups, kh, kw].</summary>
public sealed class ConvTranspose2d : Module
{
    /// <summary>Creates the layer with PyTorch's default initialisation.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernel">Kernel size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Padding.</param>
    /// <param name="outputPadding">Extra rows/columns on one side of the output.</param>
    /// <param name="groups">Groups.</param>
    /// <param name="bias">Whether to add a bias.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="rng">Initialisation generator.</param>
    public ConvTranspose2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1, bool bias = true, int dilation = 1, Rng? rng = null)
    {
        Stride = stride;
        Padding = padding;
        OutputPadding = outputPadding;
        Dilation = dilation;
        Groups = groups;
        int fanIn = outChannels / groups * kernel * kernel;
        Weight = RegisterParameter("weight", Init.DefaultWeight([inChannels, outChannels / groups, kernel, kernel], rng, fanIn));
        if (bias)
        {
            double bound = 1.0 / Math.Sqrt(fanIn);
            Bias = RegisterParameter("bias", Tensor.Uniform(rng ?? Init.Default, [outChannels], -bound, bound));
        }
    }

    /// <summary>[in, out/groups, kh, kw].</summary>
    public Tensor Weight { get; }

    /// <summary>[out] or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Stride.</summary>
    public int Stride { get; }

    /// <summary>Padding.</summary>
    public int Padding { get; }

    /// <summary>Output padding.</summary>
    public int OutputPadding { get; }

    /// <summary>Dilation.</summary>
    public int Dilation { get; }

    /// <summary>Groups.</summary>
    public int Groups { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) =>
        Ops.ConvTranspose2d(x, Weight, Bias, Stride, Stride, Padding, Padding, OutputPadding, OutputPadding, Dilation, Dilation, Groups);
}

/// <summary>Batch normalisation over the channel axis of NCHW tensors, with running statistics.</summary>
public sealed class BatchNorm2d : Module
{
    /// <summary>Creates the layer: weight 1, bias 0, running mean 0, running variance 1.</summary>
    /// <param name="channels">Channels.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Running-statistics momentum (PyTorch's convention).</param>
    /// <param name="affine">Learn a scale and shift.</param>
    public BatchNorm2d(int channels, double eps = 1e-5, double momentum = 0.1, bool affine = true)
    {
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(channels));
            Bias = RegisterParameter("bias", Tensor.Zeros(channels));
        }
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(channels));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones(channels));
        NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Zeros(), optionalOnLoad: true);
    }

    /// <summary>Scale [C] or null.</summary>
    public Tensor? Weight { get; }

    /// <summary>Shift [C] or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Running mean [C].</summary>
    public Tensor RunningMean { get; }

    /// <summary>Running variance [C].</summary>
    public Tensor RunningVar { get; }

    /// <summary>Number of training batches seen (rank 0).</summary>
    public Tensor NumBatchesTracked { get; }

    /// <summary>Epsilon.</summary>
    public double Eps { get; }

    /// <summary>Momentum.</summary>
    public double Momentum { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x)
    {
        if (Training) NumBatchesTracked.Span[0] += 1;
        return Ops.BatchNorm2d(x, Weight, Bias, RunningMean, RunningVar, Training, Momentum, Eps);
    }

    /// <summary>
    /// ReLU(this(x)) by the fused operation (<see cref="Ops.BatchNormRelu"/>), the same values and state updates as
    /// <c>Ops.Relu(Forward(x))</c> without the intermediate tensor; falls back to exactly that while a
    /// <see cref="FeatureCapture"/> wants this layer's own output.
    /// </summary>
    /// <param name="x">Input [N, C, ...].</param>
    public Tensor ForwardRelu(Tensor x)
    {
        if (FeatureCapture.Wants(this)) return Ops.Relu(Forward(x));
        if (Training) NumBatchesTracked.Span[0] += 1;
        return Ops.BatchNormRelu(x, Weight, Bias, RunningMean, RunningVar, Training, Momentum, Eps);
    }
}

/// <summary>Parametric ReLU with one slope per channel (or one shared).</summary>
public sealed class PReLU : Module
{
    /// <summary>Creates the layer with slopes 0.25.</summary>
    /// <param name="numParameters">1 or the channel count.</param>
    /// <param name="init">Initial slope.</param>
    public PReLU(int numParameters = 1, float init = 0.25f) => Weight = RegisterParameter("weight", Tensor.Full(init, numParameters));

    /// <summary>Slopes.</summary>
    public Tensor Weight { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Ops.Prelu(x, Weight);
}

/// <summary>A parameter-free activation by name (ReLU, ReLU6, LeakyReLU, HardSwish, HardSigmoid, Sigmoid, Tanh).</summary>
public sealed class Activation : Module
{
    private readonly Func<Tensor, Tensor> _fn;

    private Activation(string kind, Func<Tensor, Tensor> fn)
    {
        Kind = kind;
        _fn = fn;
    }

    /// <summary>Name of the activation.</summary>
    public string Kind { get; }

    /// <summary>max(x, 0).</summary>
    public static Activation ReLU() => new("ReLU", Ops.Relu);

    /// <summary>min(max(x, 0), 6).</summary>
    public static Activation ReLU6() => new("ReLU6", Ops.Relu6);

    /// <summary>x or slope * x.</summary>
    /// <param name="negativeSlope">Slope for negative inputs.</param>
    public static Activation LeakyReLU(double negativeSlope = 0.01) => new("LeakyReLU", x => Ops.LeakyRelu(x, negativeSlope));

    /// <summary>x * relu6(x + 3) / 6.</summary>
    public static Activation HardSwish() => new("HardSwish", Ops.HardSwish);

    /// <summary>relu6(x + 3) / 6.</summary>
    public static Activation HardSigmoid() => new("HardSigmoid", Ops.HardSigmoid);

    /// <summary>Logistic sigmoid.</summary>
    public static Activation Sigmoid() => new("Sigmoid", Ops.Sigmoid);

    /// <summary>Hyperbolic tangent.</summary>
    public static Activation Tanh() => new("Tanh", Ops.Tanh);

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => _fn(x);
}

/// <summary>Max pooling.</summary>
/// <param name="kernel">Window size.</param>
/// <param name="stride">Stride (defaults to the window).</param>
/// <param name="padding">Padding.</param>
/// <param name="ceilMode">Round the output size up.</param>
public sealed class MaxPool2d(int kernel, int? stride = null, int padding = 0, bool ceilMode = false) : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) =>
        Ops.MaxPool2d(x, kernel, kernel, stride ?? kernel, stride ?? kernel, padding, padding, 1, 1, ceilMode);
}

/// <summary>Average pooling (PyTorch's count_include_pad default).</summary>
/// <param name="kernel">Window size.</param>
/// <param name="stride">Stride (defaults to the window).</param>
/// <param name="padding">Padding.</param>
/// <param name="ceilMode">Round the output size up.</param>
/// <param name="countIncludePad">Count padded zeros in the average.</param>
public sealed class AvgPool2d(int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) =>
        Ops.AvgPool2d(x, kernel, kernel, stride ?? kernel, stride ?? kernel, padding, padding, ceilMode, countIncludePad);
}

/// <summary>Adaptive average pooling to a fixed output size.</summary>
/// <param name="outH">Output height.</param>
/// <param name="outW">Output width.</param>
public sealed class AdaptiveAvgPool2d(int outH, int outW) : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => outH == 1 && outW == 1 ? Ops.GlobalAvgPool2d(x) : Ops.AdaptiveAvgPool2d(x, outH, outW);
}

/// <summary>Inverted dropout, active in training mode only.</summary>
/// <param name="p">Drop probability.</param>
/// <param name="rng">Mask generator (default: the initialisation generator).</param>
public sealed class Dropout(double p = 0.5, Rng? rng = null) : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Ops.Dropout(x, p, Training, rng ?? Init.Default);
}
