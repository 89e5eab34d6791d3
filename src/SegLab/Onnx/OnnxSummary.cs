// What `seglab inspect FILE.onnx` reports: producer, IR and opset, inputs and outputs with their declared shapes
// (and, when SegLab runs the model and its inputs have fixed shapes, the output shapes it computes), op counts,
// parameter count, and whether SegLab can run it: every problem names the node, its op and the opset.
using SegLab.Engine;
using SegLab.Engine.Autograd;

namespace SegLab.Onnx;

/// <summary>A graph input or output: name, element type, declared shape and, for outputs, the computed one.</summary>
/// <param name="Name">Value name.</param>
/// <param name="ElementType">ONNX element type.</param>
/// <param name="Shape">Declared shape ("?" for symbolic dimensions).</param>
/// <param name="ComputedShape">The shape SegLab computes at the declared input size, or null.</param>
public sealed record OnnxIOSummary(string Name, string ElementType, string Shape, string? ComputedShape);

/// <summary>How often an op occurs and whether SegLab imports it.</summary>
/// <param name="Op">Op type.</param>
/// <param name="Count">Nodes with it.</param>
/// <param name="Supported">Whether SegLab imports it.</param>
public sealed record OnnxOpCount(string Op, int Count, bool Supported);

/// <summary>A summary of an ONNX file.</summary>
/// <param name="File">The file.</param>
/// <param name="Producer">Producer name and version.</param>
/// <param name="IrVersion">ONNX IR version.</param>
/// <param name="Opset">Default-domain opset.</param>
/// <param name="Inputs">Graph inputs (initializers excluded).</param>
/// <param name="Outputs">Graph outputs.</param>
/// <param name="Nodes">Node count.</param>
/// <param name="Ops">Op counts, most frequent first.</param>
/// <param name="Initializers">Initializer count.</param>
/// <param name="Parameters">Elements of floating-point initializers (weights and batch-norm statistics).</param>
/// <param name="Runnable">Whether SegLab can run the model.</param>
/// <param name="Problems">What keeps SegLab from running it: node, op, opset and reason each.</param>
public sealed record OnnxSummary(
    string File, string Producer, long IrVersion, long Opset, IReadOnlyList<OnnxIOSummary> Inputs, IReadOnlyList<OnnxIOSummary> Outputs,
    int Nodes, IReadOnlyList<OnnxOpCount> Ops, int Initializers, long Parameters, bool Runnable, IReadOnlyList<string> Problems)
{
    /// <summary>Reads <paramref name="path"/> and summarises it (a malformed file is an <see cref="OnnxFormatException"/>).</summary>
    /// <param name="path">The .onnx file.</param>
    public static OnnxSummary Of(string path)
    {
        var model = OnnxModel.Load(path);
        var problems = OnnxGraph.Check(model).ToList();
        Dictionary<string, string>? computed = null;
        if (problems.Count == 0 && model.Inputs.All(i => i.Dims.Length > 0 && i.Dims.All(d => d is > 0)))
        {
            try
            {
                var graph = new OnnxGraph(model);
                using var _ = GradMode.NoGrad();
                var run = graph.Run(model.Inputs.ToDictionary(i => i.Name, i => Tensor.Zeros(i.Dims.Select(d => (int)d!.Value).ToArray())));
                computed = run.ToDictionary(kv => kv.Key, kv => Shapes.Format(kv.Value.Shape));
            }
            catch (Exception e) when (e is OnnxFormatException or OnnxUnsupportedException)
            {
                problems.Add(e.Message);
            }
        }
        var ops = model.Proto.Graph.Node.GroupBy(n => n.OpType)
            .Select(g => new OnnxOpCount(g.Key, g.Count(), OnnxOps.IsSupported(g.Key) && g.All(n => n.Domain is "" or "ai.onnx")))
            .OrderByDescending(o => o.Count).ThenBy(o => o.Op, StringComparer.Ordinal).ToList();
        return new OnnxSummary(
            path, model.Producer, model.IrVersion, model.Opset,
            model.Inputs.Select(i => new OnnxIOSummary(i.Name, i.ElementType, i.ShapeText, null)).ToList(),
            model.Outputs.Select(o => new OnnxIOSummary(o.Name, o.ElementType, o.ShapeText, computed?.GetValueOrDefault(o.Name))).ToList(),
            model.Proto.Graph.Node.Count, ops, model.Initializers.Count,
            model.Initializers.Values.Where(c => !c.IsInteger).Sum(c => (long)c.Value.Numel),
            problems.Count == 0, problems);
    }
}
