// The module system: parameters, buffers and named children whose dotted names are PyTorch's state_dict keys,
// train/eval mode, freezing, state dicts with one complete error report, and named-feature capture.
namespace SegLab.Engine.Nn;

/// <summary>Base of every layer and model. Subclasses register parameters, buffers and children in their constructor.</summary>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];
    private readonly HashSet<string> _optionalBuffers = new(StringComparer.Ordinal);

    /// <summary>True in training mode (batch-norm batch statistics, dropout active).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Runs the module, offering its output to an active <see cref="FeatureCapture"/>.</summary>
    /// <param name="x">Input.</param>
    /// <remarks>
    /// Inside an inference <see cref="TensorScope"/> (no tape, no capture), the storage of every tensor the module
    /// made on the way to its output is handed back to the scope when it returns, so that an eager forward holds
    /// its live values rather than everything it made. A module must therefore not keep a tensor of its own forward
    /// in a field or a collection that outlives the call (a capture is the way to expose one).
    /// </remarks>
    public Tensor Forward(Tensor x)
    {
        int mark = TensorScope.Mark();
        var y = ForwardCore(x);
        FeatureCapture.Offer(this, null, y);
        TensorScope.ReleaseSince(mark, y);
        return y;
    }

    /// <summary>
    /// Offers <paramref name="y"/> to an active capture as this module's output, for a parent that computed the
    /// module's result by a fused path instead of calling <see cref="Forward"/>.
    /// </summary>
    /// <param name="y">The module's output.</param>
    public Tensor Produced(Tensor y)
    {
        FeatureCapture.Offer(this, null, y);
        return y;
    }

    /// <summary>
    /// Whether a parent may compute <paramref name="child"/>'s output by a fused path that never materialises it:
    /// false while an active <see cref="FeatureCapture"/> asks for that output.
    /// </summary>
    /// <param name="child">A child module.</param>
    protected static bool MayFuse(Module child) => !FeatureCapture.Wants(child);

    /// <summary>
    /// Runs <paramref name="layers"/> in turn on <paramref name="x"/>; inside an inference scope each intermediate
    /// (never <paramref name="x"/>) is released as soon as the next layer has read it, so a chain of blocks holds
    /// two values at a time instead of all of them until the parent returns.
    /// </summary>
    /// <param name="x">Input of the first layer.</param>
    /// <param name="layers">The layers, in order.</param>
    protected static Tensor RunChain(Tensor x, IEnumerable<Module> layers)
    {
        var y = x;
        foreach (var layer in layers)
        {
            var next = layer.Forward(y);
            ReleaseIntermediate(y, next, x);
            y = next;
        }
        return y;
    }

    /// <summary>
    /// Inside an inference scope, releases <paramref name="dead"/>: values of this forward that nothing reads again
    /// (the caller's promise), except any that shares storage with <paramref name="result"/> (a layer that passed its
    /// input through, or a view). Returns <paramref name="result"/>.
    /// </summary>
    /// <param name="result">The value computed from them, which lives on.</param>
    /// <param name="dead">Values dead from here on; never the module's own input.</param>
    protected static Tensor Done(Tensor result, params ReadOnlySpan<Tensor> dead)
    {
        if (!TensorScope.CanRelease) return result;
        foreach (var t in dead)
            if (!t.SharesStorageWith(result)) TensorScope.Release(t);
        return result;
    }

    /// <summary>
    /// Releases <paramref name="used"/> (a value only <paramref name="next"/> was computed from) unless it is, or
    /// shares storage with, <paramref name="input"/> or <paramref name="next"/> (a view of it).
    /// </summary>
    private protected static void ReleaseIntermediate(Tensor used, Tensor next, Tensor input)
    {
        if (ReferenceEquals(used, input) || !TensorScope.CanRelease || used.SharesStorageWith(next) || used.SharesStorageWith(input)) return;
        TensorScope.Release(used);
    }

    /// <summary>The computation; call <see cref="Forward"/> (not this) from parents.</summary>
    /// <param name="x">Input.</param>
    protected abstract Tensor ForwardCore(Tensor x);

    /// <summary>Offers a named intermediate result (not a child's output) to an active capture, as "path.name".</summary>
    /// <param name="name">Local name, e.g. "context".</param>
    /// <param name="t">The tensor.</param>
    protected Tensor Expose(string name, Tensor t)
    {
        FeatureCapture.Offer(this, name, t);
        return t;
    }

    /// <summary>Registers a trainable parameter under <paramref name="name"/> (its RequiresGrad is set).</summary>
    /// <param name="name">Local state-dict name, e.g. "weight".</param>
    /// <param name="value">Initial value, a float32 leaf.</param>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckName(name);
        if (!value.IsLeaf) value = value.Detach();
        value.RequiresGrad = true;
        value.Name ??= name;
        _parameters.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a non-trainable state tensor (running statistics) under <paramref name="name"/>.</summary>
    /// <param name="name">Local state-dict name, e.g. "running_mean".</param>
    /// <param name="value">Initial value.</param>
    /// <param name="optionalOnLoad">
    /// A strict load may lack this buffer (PyTorch accepts checkpoints written before num_batches_tracked existed).
    /// </param>
    protected Tensor RegisterBuffer(string name, Tensor value, bool optionalOnLoad = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckName(name);
        _buffers.Add(new(name, value));
        if (optionalOnLoad) _optionalBuffers.Add(name);
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    /// <param name="name">Local name, e.g. "conv1x1" or "0".</param>
    /// <param name="child">The child.</param>
    protected T RegisterModule<T>(string name, T child) where T : Module
    {
        ArgumentNullException.ThrowIfNull(child);
        CheckName(name);
        _children.Add(new(name, child));
        return child;
    }

    /// <summary>Direct children with their local names.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _children;

    /// <summary>This module (name "") and every descendant with its dotted path, depth first.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedModules(string prefix = "")
    {
        yield return new(prefix, this);
        foreach (var (name, child) in _children)
            foreach (var m in child.NamedModules(Join(prefix, name)))
                yield return m;
    }

    /// <summary>Every parameter with its dotted state-dict name.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters() =>
        NamedModules().SelectMany(m => m.Value._parameters.Select(p => new KeyValuePair<string, Tensor>(Join(m.Key, p.Key), p.Value)));

    /// <summary>Every buffer with its dotted state-dict name.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedBuffers() =>
        NamedModules().SelectMany(m => m.Value._buffers.Select(p => new KeyValuePair<string, Tensor>(Join(m.Key, p.Key), p.Value)));

    /// <summary>Every parameter.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Value);

    /// <summary>Parameters that are not frozen.</summary>
    public IEnumerable<Tensor> TrainableParameters() => Parameters().Where(p => p.RequiresGrad);

    /// <summary>Number of parameter elements.</summary>
    /// <param name="trainableOnly">Count only parameters that are not frozen.</param>
    public long ParameterCount(bool trainableOnly = false) =>
        NamedParameters().Where(p => !trainableOnly || p.Value.RequiresGrad).Sum(p => (long)p.Value.Numel);

    /// <summary>The descendant at a dotted path ("" is this module).</summary>
    /// <param name="path">Dotted path, e.g. "level2_0.conv1x1".</param>
    public Module GetSubmodule(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Module m = this;
        if (path.Length == 0) return m;
        foreach (var part in path.Split('.'))
        {
            var next = m._children.FirstOrDefault(c => c.Key == part).Value;
            m = next ?? throw new KeyNotFoundException($"No submodule '{path}' in {GetType().Name} (no child '{part}'; children: {string.Join(", ", m._children.Select(c => c.Key))}).");
        }
        return m;
    }

    /// <summary>Sets training or evaluation mode on this module and every descendant.</summary>
    /// <param name="training">True for training mode.</param>
    public Module Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = training;
        return this;
    }

    /// <summary>Evaluation mode (running statistics, no dropout).</summary>
    public Module Eval() => Train(false);

    /// <summary>Stops gradients to every parameter (or, with false, lets them flow again).</summary>
    /// <param name="frozen">True to freeze.</param>
    public Module Freeze(bool frozen = true)
    {
        foreach (var p in Parameters()) p.RequiresGrad = !frozen;
        return this;
    }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Parameters and buffers by dotted name (the tensors themselves, not copies).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, v) in NamedParameters().Concat(NamedBuffers())) d[k] = v;
        return d;
    }

    /// <summary>
    /// Copies values into this module's parameters and buffers, in place. Every missing, unexpected and
    /// shape-mismatched key is reported together in one <see cref="StateDictException"/>; with
    /// <paramref name="strict"/> false only shape mismatches are errors and unknown or missing keys are skipped.
    /// </summary>
    /// <param name="state">Tensors by dotted name.</param>
    /// <param name="strict">Require exactly the module's keys.</param>
    /// <param name="source">Where the state came from (a file name), for the error message.</param>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var optional = NamedModules().SelectMany(m => m.Value._optionalBuffers.Select(b => Join(m.Key, b))).ToHashSet(StringComparer.Ordinal);
        var missing = own.Keys.Where(k => !state.ContainsKey(k) && !optional.Contains(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = own.Where(kv => state.TryGetValue(kv.Key, out var t) && !ShapesCompatible(kv.Value, t))
            .Select(kv => $"{kv.Key}: model {Shapes.Format(kv.Value.Shape)}, file {Shapes.Format(state[kv.Key].Shape)}").ToList();
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictException(source, GetType().Name, strict ? missing : [], strict ? unexpected : [], mismatched);
        foreach (var (k, dst) in own)
        {
            if (!state.TryGetValue(k, out var src)) continue;
            if (dst.DType == DType.Float32) src.To(DType.Float32).Span.CopyTo(dst.Span);
            else src.To(DType.Float64).SpanF64.CopyTo(dst.SpanF64);
        }
    }

    /// <summary>A rank-0 buffer (num_batches_tracked) may be stored as [] or [1].</summary>
    private static bool ShapesCompatible(Tensor own, Tensor other) =>
        Shapes.Equal(own.Shape, other.Shape) || (own.Numel == 1 && other.Numel == 1);

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
            throw new ArgumentException($"{GetType().Name}: '{name}' is not a valid local name (non-empty, no dots).");
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(p => p.Key == name) || _children.Any(p => p.Key == name))
            throw new ArgumentException($"{GetType().Name}: '{name}' is registered twice.");
    }
}
