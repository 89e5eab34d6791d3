// The ImageNet ResNet18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 (MIT, .NET Foundation; a CNTK 2.6 export)
// as a native ResNet: the CNTK initializer names (Parameter91, Constant98, ...) are matched to torchvision names by
// walking the graph (stem conv -> batch norm -> ReLU -> max pool, then one basic block per Add: the two-conv path,
// and a 1x1 projection or the identity on the other input), not by a list of names. The graph has 2, 2, 2 and 3
// blocks per stage (CNTK's ImageNet ResNet18 puts a third block in the last stage), so the native encoder is built
// from the block counts read off the graph. Its input convention is read off ResNetPreprocess.onnx by probing.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Onnx;
using SegLab.Onnx.Proto;

namespace SegLab.Models;

/// <summary>ImageNet ResNet18 weights from the ONNX file of the ML.NET featurizer package, as a native <see cref="ResNet"/>.</summary>
public static class ResNetImageNet
{
    /// <summary>Blocks per stage of the CNTK ResNet18 (checked against the graph by <see cref="StateDict"/>).</summary>
    public static IReadOnlyList<int> Blocks { get; } = [2, 2, 2, 3];

    /// <summary>
    /// The network's input convention, as <see cref="DerivePreprocessing"/> reads it off ResNetPreprocess.onnx
    /// (a test checks the two agree): BGR, 0..255 pixels, minus a mean, no division. The graph subtracts a 224x224
    /// mean image (CNTK's ImageNet mean, varying by up to 12.7 around its channel means); a per-channel mean runs at
    /// any size, so the channel averages of that image are recorded. The scale 255 is not in the graph: ML.NET's
    /// featurizer feeds it ExtractPixels output, whose default is 0..255 pixel values.
    /// </summary>
    public static Preprocessing Preprocessing { get; } = new(ChannelOrder.Bgr, 255, [103.0626, 115.9029, 123.1516], [1, 1, 1]);

    /// <summary>The restored ResNet18.onnx, or an error saying how to get it.</summary>
    public static string OnnxPath => NuGetPackages.ResNet18Onnx ?? throw new FileNotFoundException(
        "resnet18-imagenet: Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 is not in the NuGet global packages folder "
        + $"({NuGetPackages.Root ?? "~/.nuget/packages, absent"}); `dotnet restore` of the solution brings it (the test project downloads it).");

    /// <summary>A native encoder with the ImageNet weights, in eval mode.</summary>
    /// <param name="outputStride">32, 16 or 8 (dilation in place of the last strides; the weights are the same).</param>
    /// <param name="onnxPath">ResNet18.onnx, or null for the restored package's.</param>
    public static ResNet Load(int outputStride = 32, string? onnxPath = null)
    {
        var net = new ResNet([.. Blocks], outputStride);
        LoadInto(net, onnxPath);
        net.Eval();
        return net;
    }

    /// <summary>Overwrites every parameter and statistic of <paramref name="net"/> (strict) with the ImageNet weights.</summary>
    /// <param name="net">An encoder with <see cref="Blocks"/> blocks and 64 base channels, at any output stride.</param>
    /// <param name="onnxPath">ResNet18.onnx, or null for the restored package's.</param>
    public static void LoadInto(ResNet net, string? onnxPath = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        var path = onnxPath ?? OnnxPath;
        var (state, blocks) = StateDict(path);
        if (!blocks.SequenceEqual(net.Blocks))
            throw new ArgumentException($"'{path}' has [{string.Join(", ", blocks)}] blocks per stage, the encoder [{string.Join(", ", net.Blocks)}].");
        net.LoadStateDict(state, strict: true, source: path);
    }

    /// <summary>
    /// The torchvision-named state dict (conv1.weight, bn1.running_mean, layer4.2.conv2.weight, ...) of the ONNX
    /// ResNet, and its blocks per stage; every node it reads is checked (kernel, stride, padding, dilation, groups,
    /// batch-norm epsilon) against what the native layer computes.
    /// </summary>
    /// <param name="onnxPath">The ONNX file.</param>
    public static (Dictionary<string, Tensor> State, int[] Blocks) StateDict(string onnxPath)
    {
        var model = OnnxModel.Load(onnxPath);
        var g = new GraphWalk(model);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var stemConv = g.Single(g.Consumers(model.Inputs.Single().Name), "Conv", "stem");
        g.TakeConv(stemConv, "conv1", 7, 2, state);
        var stemBn = g.TakeBn(g.Next(stemConv, "BatchNormalization"), "bn1", state);
        var pool = g.Next(g.Next(stemBn, "Relu"), "MaxPool");
        g.CheckPool(pool);
        string x = pool.Output[0];
        var blocks = new List<int>();
        while (g.Consumers(x).Any(n => n.OpType == "Conv"))
        {
            var convs = g.Consumers(x).Where(n => n.OpType == "Conv").ToList();
            var main = convs.Single(c => g.Kernel(c) == 3);
            var proj = convs.SingleOrDefault(c => g.Kernel(c) == 1);
            if (proj is not null || blocks.Count == 0) blocks.Add(0);
            string prefix = $"layer{blocks.Count}.{blocks[^1]}";
            blocks[^1]++;
            int stride = g.TakeConv(main, prefix + ".conv1", 3, null, state);
            var bn1 = g.TakeBn(g.Next(main, "BatchNormalization"), prefix + ".bn1", state);
            var conv2 = g.Next(g.Next(bn1, "Relu"), "Conv");
            g.TakeConv(conv2, prefix + ".conv2", 3, 1, state);
            var bn2 = g.TakeBn(g.Next(conv2, "BatchNormalization"), prefix + ".bn2", state);
            var add = g.Next(bn2, "Add");
            string shortcut = add.Input.Single(i => i != bn2.Output[0]);
            if (proj is not null)
            {
                g.TakeConv(proj, prefix + ".downsample.0", 1, stride, state);
                var pbn = g.TakeBn(g.Next(proj, "BatchNormalization"), prefix + ".downsample.1", state);
                if (shortcut != pbn.Output[0]) throw g.Error(add, "its shortcut input is neither the block input nor the projection");
            }
            else if (shortcut != x || stride != 1) throw g.Error(add, "a block without projection must add its input at stride 1");
            x = g.Next(add, "Relu").Output[0];
        }
        if (!g.Consumers(x).Any(n => n.OpType is "AveragePool" or "GlobalAveragePool"))
            throw new InvalidDataException($"'{onnxPath}': the last block's output '{x}' is not average-pooled; is this a ResNet feature extractor?");
        if (blocks.Count != 4) throw new InvalidDataException($"'{onnxPath}': found {blocks.Count} stages, a ResNet has 4.");
        return (state, [.. blocks]);
    }

    /// <summary>
    /// Reads the input convention off a preprocessing graph that maps a [1, 3, H, W] image to the network's input by
    /// a channel permutation and the subtraction of a mean image (ResNetPreprocess.onnx: Split, Concat, Sub of a
    /// 224x224 mean image): the permutation by running unit images through it, the mean image by running zeros. A
    /// per-channel mean is what runs at any input size, so each channel's mean image is averaged; Spread is its
    /// largest distance from that average, per channel. The graph cannot say how pixels were scaled:
    /// <paramref name="scale"/> is the caller's knowledge.
    /// </summary>
    /// <param name="preprocessOnnx">The preprocessing ONNX file.</param>
    /// <param name="scale">Factor from [0, 1] pixels to the graph's input (255 for ML.NET's ExtractPixels default).</param>
    public static (Preprocessing Preprocessing, double[] Spread) DerivePreprocessing(string preprocessOnnx, double scale = 255)
    {
        var graph = OnnxGraph.Load(preprocessOnnx);
        var dims = graph.Model.Inputs.Single().Dims.Select(d => (int)(d ?? 1)).ToArray();
        if (dims.Length != 4 || dims[1] != 3) throw new InvalidDataException($"'{preprocessOnnx}': expected a [N, 3, H, W] input, got [{string.Join(", ", dims)}].");
        int plane = dims[2] * dims[3];
        float[] Run(int hot)
        {
            var a = new float[3 * plane];
            if (hot >= 0) Array.Fill(a, 1f, hot * plane, plane);
            using var _ = GradMode.NoGrad();
            return graph.Forward(Tensor.FromArray(a, 1, 3, dims[2], dims[3])).ToArray();
        }
        var zero = Run(-1);
        var perm = new int[3];
        for (int src = 0; src < 3; src++)
        {
            var y = Run(src);
            var moved = Enumerable.Range(0, 3).Where(o => Enumerable.Range(0, plane).All(i => Math.Abs(y[o * plane + i] - zero[o * plane + i] - 1) < 1e-3)).ToList();
            if (moved.Count != 1) throw new InvalidDataException($"'{preprocessOnnx}': input channel {src} is not moved to exactly one output channel with unit gain.");
            perm[moved[0]] = src;
        }
        var order = perm.SequenceEqual([0, 1, 2]) ? ChannelOrder.Rgb
            : perm.SequenceEqual([2, 1, 0]) ? ChannelOrder.Bgr
            : throw new InvalidDataException($"'{preprocessOnnx}': channel permutation [{string.Join(", ", perm)}] is neither RGB nor BGR.");
        var mean = new double[3];
        var spread = new double[3];
        for (int c = 0; c < 3; c++)
        {
            var ch = zero.AsSpan(c * plane, plane);
            double sum = 0;
            foreach (var v in ch) sum -= v;
            mean[c] = sum / plane;
            foreach (var v in ch) spread[c] = Math.Max(spread[c], Math.Abs(-v - mean[c]));
        }
        return (new Preprocessing(order, scale, mean, [1, 1, 1]), spread);
    }
}

/// <summary>Reading an ONNX graph node by node: consumers of a value, attributes, and conv/batch-norm checks.</summary>
internal sealed class GraphWalk
{
    private readonly OnnxModel _model;
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);

    public GraphWalk(OnnxModel model)
    {
        _model = model;
        foreach (var n in model.Proto.Graph.Node)
            foreach (var i in n.Input)
            {
                if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = [];
                list.Add(n);
            }
    }

    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out var l) ? l : [];

    public NodeProto Single(IEnumerable<NodeProto> nodes, string op, string what)
    {
        var found = nodes.Where(n => n.OpType == op).ToList();
        return found.Count == 1 ? found[0] : throw new InvalidDataException($"'{_model.Path}': expected one {op} for the {what}, found {found.Count}.");
    }

    /// <summary>The one node of type <paramref name="op"/> that reads <paramref name="node"/>'s output.</summary>
    public NodeProto Next(NodeProto node, string op)
    {
        var found = Consumers(node.Output[0]).Where(n => n.OpType == op).ToList();
        return found.Count == 1 ? found[0] : throw Error(node, $"expected its output to feed one {op}, found {found.Count}");
    }

    public InvalidDataException Error(NodeProto node, string what) =>
        new($"'{_model.Path}': node '{node.Name}' ({node.OpType}, output '{node.Output.FirstOrDefault()}'): {what}.");

    public int Kernel(NodeProto conv) => Square(conv, "kernel_shape", -1);

    /// <summary>
    /// Checks a bias-free, ungrouped, undilated square conv with kernel <paramref name="k"/> and returns its stride.
    /// Padding must be the native k/2 on every side, except that a stride-2 conv may pad one less at the bottom
    /// and right (CNTK's export at 224x224): at an even input size that last row and column are never read, so the
    /// outputs are the same.
    /// </summary>
    public int TakeConv(NodeProto conv, string name, int k, int? stride, Dictionary<string, Tensor> state)
    {
        if (Kernel(conv) != k) throw Error(conv, $"kernel {Kernel(conv)}, the native {name} has {k}");
        int s = Square(conv, "strides", 1);
        if (stride is { } want && s != want) throw Error(conv, $"stride {s}, the native {name} has {want}");
        if (Square(conv, "dilations", 1) != 1 || Int(conv, "group", 1) != 1) throw Error(conv, "dilated or grouped, the native ResNet is neither");
        if (conv.Input.Count > 2 && conv.Input[2].Length > 0) throw Error(conv, "has a bias, the native conv has none");
        CheckPads(conv, k / 2, s);
        state[name + ".weight"] = Initializer(conv, 1);
        return s;
    }

    public NodeProto TakeBn(NodeProto bn, string prefix, Dictionary<string, Tensor> state)
    {
        float eps = Attr(bn, "epsilon")?.F ?? 1e-5f;
        if (Math.Abs(eps - 1e-5) > 1e-8) throw Error(bn, $"epsilon {eps}, the native batch norm uses 1e-5");
        if (Int(bn, "spatial", 1) != 1) throw Error(bn, "spatial = 0 (per-pixel statistics) is not a 2-d batch norm");
        string[] names = ["weight", "bias", "running_mean", "running_var"];
        for (int i = 0; i < 4; i++) state[$"{prefix}.{names[i]}"] = Initializer(bn, i + 1);
        return bn;
    }

    /// <summary>Checks the stem's 3x3/2 max pool with padding 1 (or one less at the bottom and right, as for convs).</summary>
    public void CheckPool(NodeProto pool)
    {
        if (Square(pool, "kernel_shape", -1) != 3 || Square(pool, "strides", 1) != 2) throw Error(pool, "the native stem pools 3x3 at stride 2");
        CheckPads(pool, 1, 2);
    }

    private void CheckPads(NodeProto node, int p, int stride)
    {
        var pads = Attr(node, "pads")?.Ints.ToArray() ?? [0, 0, 0, 0];
        string autoPad = Attr(node, "auto_pad")?.S.ToStringUtf8() ?? "";
        if (autoPad is not ("" or "NOTSET")) throw Error(node, $"auto_pad {autoPad}; explicit pads are expected");
        bool ok = pads.Length == 4 && pads[0] == p && pads[1] == p
            && (pads[2] == p || (stride == 2 && pads[2] == p - 1)) && (pads[3] == p || (stride == 2 && pads[3] == p - 1));
        if (!ok) throw Error(node, $"pads [{string.Join(", ", pads)}], the native layer pads {p} on every side");
    }

    private Tensor Initializer(NodeProto node, int input)
    {
        string name = input < node.Input.Count ? node.Input[input] : "";
        return _model.Initializers.TryGetValue(name, out var c) && !c.IsInteger
            ? c.Value
            : throw Error(node, $"input {input} ('{name}') is not a float initializer");
    }

    private int Square(NodeProto node, string attr, int fallback)
    {
        var v = Attr(node, attr)?.Ints.ToArray();
        if (v is null) return fallback >= 0 ? fallback : throw Error(node, $"no {attr}");
        return v.Length == 2 && v[0] == v[1] ? (int)v[0] : throw Error(node, $"{attr} [{string.Join(", ", v)}] is not square");
    }

    private static long Int(NodeProto node, string attr, long fallback) => Attr(node, attr)?.I ?? fallback;

    private static AttributeProto? Attr(NodeProto node, string attr) => node.Attribute.FirstOrDefault(a => a.Name == attr);
}
