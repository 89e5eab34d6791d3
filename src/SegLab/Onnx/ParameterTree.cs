// Places an imported graph's initializers in the module tree so that each state-dict key is its ONNX name:
// "layer1.0.conv1.weight" becomes child modules layer1 / 0 / conv1 holding the parameter "weight", exactly the key
// PyTorch wrote. A name that cannot be a dotted path (an empty segment, or a clash such as "a" beside "a.b") is
// registered at the top with its dots turned into underscores (and a numeric suffix if that is taken too);
// OnnxGraph.ParameterKeys records every such change.
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Onnx;

/// <summary>A module that only holds parameters and buffers of an imported graph.</summary>
public sealed class OnnxParameters : Module
{
    internal Tensor AddParameter(string name, Tensor t) => RegisterParameter(name, t);

    internal Tensor AddBuffer(string name, Tensor t) => RegisterBuffer(name, t);

    internal OnnxParameters AddChild(string name, OnnxParameters child) => RegisterModule(name, child);

    /// <summary>Not callable: the graph reads these tensors directly.</summary>
    /// <param name="x">Unused.</param>
    protected override Tensor ForwardCore(Tensor x) => throw new InvalidOperationException("OnnxParameters holds an imported graph's weights; run the OnnxGraph instead.");
}

/// <summary>Builds the dotted-name tree of an <see cref="OnnxGraph"/>'s parameters.</summary>
internal sealed class ParameterTree(OnnxGraph root)
{
    private readonly Dictionary<string, OnnxParameters> _children = new(StringComparer.Ordinal);
    private readonly HashSet<string> _leaves = new(StringComparer.Ordinal);

    /// <summary>Registers <paramref name="t"/>; returns its state-dict key and the registered tensor.</summary>
    public (string Key, Tensor Tensor) Add(string onnxName, Tensor t, bool buffer)
    {
        string key = Fits(onnxName) ? onnxName : Unique(onnxName.Replace('.', '_'));
        var parts = key.Split('.');
        string prefix = "";
        OnnxParameters? parent = null;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            prefix = prefix.Length == 0 ? parts[i] : prefix + "." + parts[i];
            if (!_children.TryGetValue(prefix, out var child))
            {
                child = new OnnxParameters();
                if (parent is null) root.AddChild(parts[i], child);
                else parent.AddChild(parts[i], child);
                _children[prefix] = child;
            }
            parent = child;
        }
        string leaf = parts[^1];
        Tensor registered = parent is null
            ? buffer ? root.AddBuffer(leaf, t) : root.AddParameter(leaf, t)
            : buffer ? parent.AddBuffer(leaf, t) : parent.AddParameter(leaf, t);
        _leaves.Add(key);
        return (key, registered);
    }

    // A dotted name fits when no segment is empty, it is not taken, none of its prefixes is a leaf and it is not a
    // prefix of a module already made.
    private bool Fits(string name)
    {
        if (name.Length == 0 || name.Split('.').Any(s => s.Length == 0) || _leaves.Contains(name) || _children.ContainsKey(name)) return false;
        for (int i = name.IndexOf('.', StringComparison.Ordinal); i >= 0; i = name.IndexOf('.', i + 1))
            if (_leaves.Contains(name[..i])) return false;
        return true;
    }

    private string Unique(string name)
    {
        if (name.Length == 0) name = "initializer";
        string key = name;
        for (int k = 1; !Fits(key) || key.Contains('.', StringComparison.Ordinal); k++) key = $"{name}_{k}";
        return key;
    }
}
