// An imported ONNX graph as an engine module: every node compiled at load to engine operations, so autograd runs
// through the whole graph; float initializers become parameters (batch-norm statistics buffers) under their ONNX
// names, split at dots into child modules so that a PyTorch export's state-dict keys come out as PyTorch's. Shape
// subgraphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape/Resize) are evaluated at run time on exact integer
// values, so spatial sizes stay free. When every input has a fixed declared shape, one probe run at load checks the
// graph and tells AveragePool nodes whose kernel covers their input that they are global pools. While a
// FeatureCapture is active, each float feature map [N, C, H, W] a node computes is offered as the output of every
// module of its scope ("/level3/level3.20/F_loc/Conv" -> level3, level3.20, level3.20.F_loc, as PyTorch's exporter
// names nodes), so the last one of a scope stands for the module's output (CAM layers by parameter path).
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;

namespace SegLab.Onnx;

/// <summary>An ONNX model running on the engine, with gradients to its inputs and parameters.</summary>
public sealed partial class OnnxGraph : Module
{
    private readonly List<Step> _steps = [];
    private readonly Dictionary<string, OnnxValue> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _keys = new(StringComparer.Ordinal);
    private readonly DType _floatType;
    private Module[][] _owners = [];
    private string[][]? _lastReads; // per step, the values it reads last (LastReads), made on the first run

    private sealed record Step(OnnxNode Node, OnnxKernel Kernel, string[] Inputs, string[] Outputs);

    /// <summary>Compiles <paramref name="model"/>; unsupported ops or attributes are one error listing every such node.</summary>
    /// <param name="model">A parsed model (its float initializers' type is the graph's float type).</param>
    public OnnxGraph(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        _floatType = model.Initializers.Values.FirstOrDefault(c => !c.IsInteger)?.Value.DType ?? DType.Float32;
        var problems = Compile(model, _steps);
        if (problems.Count > 0)
            throw new OnnxUnsupportedException($"SegLab cannot run '{model.Path}': {string.Join("; ", problems)}");
        Fuse([.. model.Outputs.Select(o => o.Name)]);
        RegisterInitializers(model);
        _owners = ScopeOwners();
        if (model.Inputs.Count > 0 && model.Inputs.All(i => i.Dims.Length > 0 && i.Dims.All(d => d is > 0) && i.ElementType == "FLOAT"))
        {
            using var _ = GradMode.NoGrad();
            var probe = model.Inputs.ToDictionary(i => i.Name, i => Tensor.Zeros(_floatType, i.Dims.Select(d => (int)d!.Value).ToArray()));
            RunCore(probe, new OnnxRunContext(false, _floatType, Probing: true));
        }
        Eval();
    }

    /// <summary>Reads and compiles an ONNX file.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="floatType">Float32, or Float64 (gradient checks).</param>
    public static OnnxGraph Load(string path, DType floatType = DType.Float32) => new(OnnxModel.Load(path, floatType));

    /// <summary>The parsed model.</summary>
    public OnnxModel Model { get; }

    /// <summary>
    /// When set, every run appends one record per step (after load-time fusion): the node, its op (or fused kind),
    /// the inputs' and the output's shapes and the step's wall time. For profiling (bench/SegLab.Bench onnx-profile).
    /// </summary>
    public List<OnnxStepTiming>? StepTimings { get; set; }

    /// <summary>Every op SegLab imports.</summary>
    public static IReadOnlyList<string> SupportedOps => OnnxOps.Supported;

    /// <summary>State-dict key of each float initializer, by ONNX name (equal unless the name had to be changed).</summary>
    public IReadOnlyDictionary<string, string> ParameterKeys => _keys;

    /// <summary>The problems that keep SegLab from running <paramref name="model"/> (node, op, opset, reason); empty if none.</summary>
    /// <param name="model">A parsed model.</param>
    public static IReadOnlyList<string> Check(OnnxModel model) => Compile(model, []);

    /// <summary>Runs the graph: inputs by name (float tensors), every graph output by name.</summary>
    /// <param name="inputs">One tensor per graph input.</param>
    public IReadOnlyDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs) =>
        RunCore(inputs, new OnnxRunContext(Training, _floatType));

    /// <summary>Runs a single-input graph and returns its first output.</summary>
    /// <param name="x">The input.</param>
    protected override Tensor ForwardCore(Tensor x)
    {
        if (Model.Inputs.Count != 1)
            throw new ArgumentException($"'{Model.Path}' has {Model.Inputs.Count} inputs ({string.Join(", ", Model.Inputs.Select(i => i.Name))}); call Run with each by name.");
        return Run(new Dictionary<string, Tensor> { [Model.Inputs[0].Name] = x })[Model.Outputs[0].Name];
    }

    private Dictionary<string, Tensor> RunCore(IReadOnlyDictionary<string, Tensor> inputs, OnnxRunContext ctx)
    {
        var values = new Dictionary<string, OnnxValue>(_constants, StringComparer.Ordinal);
        foreach (var info in Model.Inputs)
        {
            if (!inputs.TryGetValue(info.Name, out var t)) throw new ArgumentException($"'{Model.Path}': no value for input '{info.Name}'.");
            bool integer = info.ElementType is not ("FLOAT" or "DOUBLE" or "FLOAT16" or "BFLOAT16" or "?");
            values[info.Name] = integer ? new OnnxValue(t.To(DType.Float64), true) : new OnnxValue(t.DType == _floatType ? t : Ops.To(t, _floatType), false);
        }
        var lastReads = _lastReads ??= LastReads();
        int stepIndex = 0;
        foreach (var step in _steps)
        {
            var args = new OnnxValue?[step.Inputs.Length];
            for (int i = 0; i < args.Length; i++)
            {
                string name = step.Inputs[i];
                if (name.Length == 0) continue;
                args[i] = values.TryGetValue(name, out var v) ? v
                    : throw new OnnxFormatException($"'{Model.Path}': node '{step.Node.Name}' ({step.Node.Op}) reads '{name}', which no earlier node produces.");
            }
            OnnxValue[] outs;
            long started = StepTimings is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                outs = step.Kernel(args, ctx);
            }
            catch (ArgumentException e)
            {
                var shapes = string.Join(", ", args.Select(a => a is null ? "-" : Shapes.Format(a.Data.Shape)));
                throw new OnnxFormatException($"'{Model.Path}': node '{step.Node.Name}' ({step.Node.Op}, opset {step.Node.Opset}) failed on inputs {shapes}: {e.Message}", e);
            }
            if (StepTimings is { } timings)
                timings.Add(new OnnxStepTiming(step.Node.Name, step.Node.Op, step.Kernel.Method.Name,
                    string.Join(" ", args.Select(a => a is null ? "-" : Shapes.Format(a.Data.Shape))), outs.Length > 0 ? Shapes.Format(outs[0].Data.Shape) : "-",
                    System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds));
            for (int i = 0; i < step.Outputs.Length && i < outs.Length; i++)
                if (step.Outputs[i].Length > 0) values[step.Outputs[i]] = outs[i];
            if (stepIndex < _owners.Length && outs.Length > 0 && !outs[0].IsInteger && outs[0].Data.Rank == 4)
                foreach (var owner in _owners[stepIndex]) owner.Produced(outs[0].Data);
            if (TensorScope.CanRelease) ReleaseDead(values, lastReads[stepIndex]);
            stepIndex++;
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var o in Model.Outputs)
            result[o.Name] = values.TryGetValue(o.Name, out var v) ? v.Data : throw new OnnxFormatException($"'{Model.Path}': graph output '{o.Name}' is never produced.");
        return result;
    }

    // In an inference scope a value's storage goes back to the scope as soon as its last reader has run, as ONNX
    // Runtime's memory planner reuses buffers: a forward then holds its live values instead of every value it made
    // (CGNet at 360x480: docs/benchmarks.md, issue 22). A value that shares its storage with a live one (a Reshape's
    // view) stays until that one dies too.
    private static void ReleaseDead(Dictionary<string, OnnxValue> values, string[] dead)
    {
        foreach (var name in dead)
        {
            if (!values.Remove(name, out var v)) continue;
            bool shared = false;
            foreach (var u in values.Values)
                if (u.Data.SharesStorageWith(v.Data))
                {
                    shared = true;
                    break;
                }
            if (!shared) TensorScope.Release(v.Data);
        }
    }

    // For each step, the values it is the last to read: neither graph inputs, outputs nor initializers.
    private string[][] LastReads()
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _steps.Count; i++)
            foreach (var name in _steps[i].Inputs) if (name.Length > 0) last[name] = i;
        var keep = new HashSet<string>(Model.Inputs.Select(v => v.Name).Concat(Model.Outputs.Select(v => v.Name)).Concat(_constants.Keys), StringComparer.Ordinal);
        var plan = new List<string>[_steps.Count];
        for (int i = 0; i < plan.Length; i++) plan[i] = [];
        foreach (var (name, i) in last) if (!keep.Contains(name)) plan[i].Add(name);
        return [.. plan.Select(p => p.ToArray())];
    }

    // For each step, the modules of its node's scope that exist in the parameter tree (outer first).
    private Module[][] ScopeOwners()
    {
        var modules = new Dictionary<string, Module>(StringComparer.Ordinal);
        foreach (var (path, m) in NamedModules()) if (path.Length > 0) modules.TryAdd(path, m);
        return [.. _steps.Select(st => ScopePaths(st.Node.Name).Where(modules.ContainsKey).Select(p => modules[p]).ToArray())];
    }

    /// <summary>
    /// Module paths of a PyTorch-exported node name: "/se/se.0/Gemm" gives "se", "se.0"; "/stem/act/PRelu" gives
    /// "stem", "stem.act" (a segment is either the full path, for indexed children, or a local name).
    /// </summary>
    /// <param name="nodeName">The node's name.</param>
    internal static IEnumerable<string> ScopePaths(string nodeName)
    {
        if (!nodeName.StartsWith('/')) yield break;
        var parts = nodeName.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string path = "";
        for (int i = 0; i < parts.Length - 1; i++)
        {
            string seg = parts[i];
            path = path.Length == 0 || seg.StartsWith(path + ".", StringComparison.Ordinal) ? seg : path + "." + seg;
            yield return path;
        }
    }

    // Compiles every node into steps; returns the problems (all of them, for one complete error message).
    private static List<string> Compile(OnnxModel model, List<Step> steps)
    {
        var problems = new List<string>();
        if (model.Opset < OnnxOps.MinOpset || model.Opset > OnnxOps.MaxOpset)
            problems.Add($"opset {model.Opset} (SegLab imports opsets {OnnxOps.MinOpset} to {OnnxOps.MaxOpset})");
        var used = model.Proto.Graph.Node.SelectMany(nd => nd.Input).Concat(model.Outputs.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var reader = new OnnxTensorReader(model.Path, DType.Float32);
        foreach (var proto in model.Proto.Graph.Node)
        {
            var node = new OnnxNode(proto, model.Opset, model.Path);
            try
            {
                var kernel = OnnxOps.Compile(node, reader);
                int produced = proto.OpType == "Split" ? proto.Output.Count : 1;
                for (int i = produced; i < proto.Output.Count; i++)
                    if (proto.Output[i].Length > 0 && used.Contains(proto.Output[i]))
                        throw node.Unsupported($"output {i} ('{proto.Output[i]}') is used, but SegLab computes only the first output of {proto.OpType}");
                steps.Add(new Step(node, kernel, [.. proto.Input], [.. proto.Output]));
            }
            catch (Exception e) when (e is OnnxUnsupportedException or OnnxFormatException)
            {
                problems.Add(e.Message.Replace($"'{model.Path}': ", "", StringComparison.Ordinal).TrimEnd('.'));
            }
        }
        return problems;
    }

    // Float initializers: parameters, except batch-norm statistics (buffers) and value inputs (constants).
    private void RegisterInitializers(OnnxModel model)
    {
        var buffers = new HashSet<string>(StringComparer.Ordinal);
        var valueOnly = new HashSet<string>(StringComparer.Ordinal);
        var asTensor = new HashSet<string>(StringComparer.Ordinal);
        foreach (var nd in model.Proto.Graph.Node)
            for (int i = 0; i < nd.Input.Count; i++)
            {
                if (nd.OpType == "BatchNormalization" && i >= 3) buffers.Add(nd.Input[i]);
                else if (OnnxOps.IsValueInput(nd.OpType, i)) valueOnly.Add(nd.Input[i]);
                else asTensor.Add(nd.Input[i]);
            }
        var tree = new ParameterTree(this);
        foreach (var (name, c) in model.Initializers)
        {
            if (c.IsInteger || (valueOnly.Contains(name) && !asTensor.Contains(name) && !buffers.Contains(name)))
            {
                _constants[name] = OnnxOps.FromConstant(c);
                continue;
            }
            bool buffer = buffers.Contains(name) && !asTensor.Contains(name);
            var (key, registered) = tree.Add(name, c.Value, buffer);
            _keys[name] = key;
            _constants[name] = new OnnxValue(registered, false);
        }
    }

    /// <summary>Registers a parameter on this module (for <see cref="ParameterTree"/>).</summary>
    internal Tensor AddParameter(string name, Tensor t) => RegisterParameter(name, t);

    /// <summary>Registers a buffer on this module (for <see cref="ParameterTree"/>).</summary>
    internal Tensor AddBuffer(string name, Tensor t) => RegisterBuffer(name, t);

    /// <summary>Registers a child on this module (for <see cref="ParameterTree"/>).</summary>
    internal OnnxParameters AddChild(string name, OnnxParameters child) => RegisterModule(name, child);
}

/// <summary>One step of an <see cref="OnnxGraph"/> run, timed (<see cref="OnnxGraph.StepTimings"/>).</summary>
/// <param name="Node">The node's name.</param>
/// <param name="Op">The node's op type (the last node of a fused chain).</param>
/// <param name="Kernel">The compiled kernel's method name (tells fused steps apart).</param>
/// <param name="InputShapes">Every input's shape, space-separated.</param>
/// <param name="OutputShape">The first output's shape.</param>
/// <param name="Milliseconds">Wall time of the step.</param>
public sealed record OnnxStepTiming(string Node, string Op, string Kernel, string InputShapes, string OutputShape, double Milliseconds);
