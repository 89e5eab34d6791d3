// The table of ONNX operations SegLab runs: op name to the converter that reads a node's attributes at load and
// returns its computation on engine tensors. One explicit table (the model table's shape); the converters live in
// OnnxOps.*.cs by family. Also the input positions each op reads as plain values (shapes, scales, bounds), so
// that initializers there become constants rather than trainable parameters.
namespace SegLab.Onnx;

/// <summary>ONNX operations onto engine operations.</summary>
internal static partial class OnnxOps
{
    /// <summary>Lowest and highest version of the default operator set SegLab imports.</summary>
    public const long MinOpset = 7, MaxOpset = 21;

    private static readonly Dictionary<string, Func<OnnxNode, OnnxTensorReader, OnnxKernel>> Table = new(StringComparer.Ordinal)
    {
        ["Add"] = (n, _) => Add(n),
        ["AveragePool"] = (n, _) => AveragePool(n),
        ["BatchNormalization"] = (n, _) => BatchNormalization(n),
        ["Cast"] = (n, _) => Cast(n),
        ["Clip"] = (n, _) => Clip(n),
        ["Concat"] = (n, _) => Concat(n),
        ["Constant"] = Constant,
        ["Conv"] = (n, _) => Conv(n),
        ["ConvTranspose"] = (n, _) => ConvTranspose(n),
        ["Div"] = (n, _) => Div(n),
        ["Dropout"] = (n, _) => Dropout(n),
        ["Flatten"] = (n, _) => Flatten(n),
        ["Gather"] = (n, _) => Gather(n),
        ["Gemm"] = (n, _) => Gemm(n),
        ["GlobalAveragePool"] = (n, _) => GlobalAveragePool(n),
        ["HardSigmoid"] = (n, _) => HardSigmoid(n),
        ["HardSwish"] = (n, _) => HardSwish(n),
        ["Identity"] = (n, _) => Identity(n),
        ["LeakyRelu"] = (n, _) => LeakyRelu(n),
        ["MatMul"] = (n, _) => MatMul(n),
        ["MaxPool"] = (n, _) => MaxPool(n),
        ["Mul"] = (n, _) => Mul(n),
        ["Pad"] = (n, _) => Pad(n),
        ["PRelu"] = (n, _) => PRelu(n),
        ["ReduceMean"] = (n, _) => ReduceMean(n),
        ["Relu"] = (n, _) => Relu(n),
        ["Reshape"] = (n, _) => Reshape(n),
        ["Resize"] = (n, _) => Resize(n),
        ["Shape"] = (n, _) => Shape(n),
        ["Sigmoid"] = (n, _) => Sigmoid(n),
        ["Slice"] = (n, _) => Slice(n),
        ["Softmax"] = (n, _) => Softmax(n),
        ["Split"] = (n, _) => Split(n),
        ["Squeeze"] = (n, _) => Squeeze(n),
        ["Sub"] = (n, _) => Sub(n),
        ["Tanh"] = (n, _) => Tanh(n),
        ["Transpose"] = (n, _) => Transpose(n),
        ["Unsqueeze"] = (n, _) => Unsqueeze(n),
        ["Upsample"] = (n, _) => Upsample(n),
    };

    // Inputs read as values, not as tensors of the computation (an initializer there is a constant).
    private static readonly Dictionary<string, int[]> ValueInputs = new(StringComparer.Ordinal)
    {
        ["Clip"] = [1, 2], ["Pad"] = [1, 2, 3], ["Reshape"] = [1], ["Resize"] = [1, 2, 3], ["Upsample"] = [1],
        ["Slice"] = [1, 2, 3, 4], ["Split"] = [1], ["Squeeze"] = [1], ["Unsqueeze"] = [1], ["Gather"] = [1], ["ReduceMean"] = [1],
    };

    /// <summary>Every supported op, sorted.</summary>
    public static IReadOnlyList<string> Supported { get; } = Table.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether <paramref name="op"/> (default domain) is supported.</summary>
    public static bool IsSupported(string op) => Table.ContainsKey(op);

    /// <summary>Whether input <paramref name="index"/> of <paramref name="op"/> is read as a value (shape, scale, bound).</summary>
    public static bool IsValueInput(string op, int index) => ValueInputs.TryGetValue(op, out var ix) && ix.Contains(index);

    /// <summary>Builds a node's computation, refusing attributes the converter did not read.</summary>
    public static OnnxKernel Compile(OnnxNode node, OnnxTensorReader reader)
    {
        if (node.Proto.Domain is not ("" or "ai.onnx"))
            throw node.Unsupported($"domain '{node.Proto.Domain}' (SegLab runs the default ONNX domain only)");
        if (!Table.TryGetValue(node.Op, out var make))
            throw node.Unsupported($"operation not supported; supported: {string.Join(", ", Supported)}");
        var kernel = make(node, reader);
        var unread = node.UnreadAttributes().ToList();
        if (unread.Count > 0)
            throw node.Unsupported($"attribute{(unread.Count > 1 ? "s" : "")} {string.Join(", ", unread.Select(a => $"'{a}'"))} not supported for {node.Op}");
        return kernel;
    }
}
