// Named intermediate features without hooks: while a capture is active, every module offers its output
// (and every Expose'd tensor) and the capture keeps the ones whose dotted path it was asked for.
// Captured tensors stay on the tape, so gradients with respect to them (Grad-CAM) come from Tape.Grad.
namespace SegLab.Engine.Nn;

/// <summary>Collects named intermediate tensors of one model during a forward pass.</summary>
public sealed class FeatureCapture : IDisposable
{
    [ThreadStatic] private static FeatureCapture? t_current;

    private readonly Dictionary<Module, string> _paths = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<string> _wanted;
    private readonly Dictionary<string, Tensor> _features = new(StringComparer.Ordinal);
    private readonly FeatureCapture? _previous;

    private FeatureCapture(Module root, IEnumerable<string> names)
    {
        _wanted = new HashSet<string>(names, StringComparer.Ordinal);
        foreach (var (path, m) in root.NamedModules()) _paths.TryAdd(m, path);
        foreach (var name in _wanted)
        {
            bool isModule = _paths.ContainsValue(name);
            int dot = name.LastIndexOf('.');
            string owner = dot < 0 ? "" : name[..dot];
            if (!isModule && !_paths.ContainsValue(owner))
                throw new KeyNotFoundException($"Feature '{name}' names no module of {root.GetType().Name}.");
        }
        _previous = t_current;
        t_current = this;
    }

    /// <summary>Starts capturing the named features of <paramref name="root"/> on this thread until disposed.</summary>
    /// <param name="root">The model.</param>
    /// <param name="names">Dotted module paths, or "path.name" for tensors a module exposes.</param>
    public static FeatureCapture Start(Module root, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(names);
        return new FeatureCapture(root, names);
    }

    /// <summary>Captured features by name (the last value if a module ran several times).</summary>
    public IReadOnlyDictionary<string, Tensor> Features => _features;

    /// <summary>The captured feature <paramref name="name"/>, or an error saying it was not produced.</summary>
    /// <param name="name">Feature name.</param>
    public Tensor this[string name] => _features.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"Feature '{name}' was not produced by the forward pass (captured: {string.Join(", ", _features.Keys)}).");

    /// <summary>Ends the capture.</summary>
    public void Dispose() => t_current = _previous;

    /// <summary>Whether a capture is active on this thread (it may keep any module's output).</summary>
    internal static bool IsActive => t_current is not null;

    /// <summary>Whether an active capture wants <paramref name="m"/>'s own output (a parent must not fuse it away).</summary>
    internal static bool Wants(Module m)
    {
        var c = t_current;
        return c is not null && c._paths.TryGetValue(m, out var path) && c._wanted.Contains(path);
    }

    internal static void Offer(Module m, string? local, Tensor t)
    {
        var c = t_current;
        if (c is null || !c._paths.TryGetValue(m, out var path)) return;
        string name = local is null ? path : path.Length == 0 ? local : path + "." + local;
        if (c._wanted.Contains(name)) c._features[name] = t;
    }
}
