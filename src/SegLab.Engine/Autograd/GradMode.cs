// Gradient recording on or off, per thread: the no-grad scope.
namespace SegLab.Engine.Autograd;

/// <summary>Controls whether operations are recorded on the tape.</summary>
public static class GradMode
{
    [ThreadStatic] private static int t_disabledDepth;

    /// <summary>True while operations are recorded (the default).</summary>
    public static bool IsEnabled => t_disabledDepth == 0;

    /// <summary>Disables recording until the returned scope is disposed: <c>using (GradMode.NoGrad()) { ... }</c>.</summary>
    public static NoGradScope NoGrad()
    {
        t_disabledDepth++;
        return new NoGradScope(true);
    }

    /// <summary>Re-enables recording inside a no-grad region until disposed.</summary>
    public static EnableGradScope EnableGrad()
    {
        int saved = t_disabledDepth;
        t_disabledDepth = 0;
        return new EnableGradScope(saved);
    }

    internal static void Leave() => t_disabledDepth--;

    internal static void Restore(int depth) => t_disabledDepth = depth;

    /// <summary>True when recording is on and any input requires a gradient.</summary>
    internal static bool Needs(Tensor a) => t_disabledDepth == 0 && a.RequiresGrad;

    /// <summary>True when recording is on and any input requires a gradient.</summary>
    internal static bool Needs(Tensor a, Tensor b) => t_disabledDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>True when recording is on and any input requires a gradient.</summary>
    internal static bool Needs(ReadOnlySpan<Tensor> xs)
    {
        if (t_disabledDepth != 0) return false;
        foreach (var x in xs) if (x.RequiresGrad) return true;
        return false;
    }
}

/// <summary>Scope returned by <see cref="GradMode.NoGrad"/>.</summary>
public readonly struct NoGradScope : IDisposable, IEquatable<NoGradScope>
{
    private readonly bool _active;

    internal NoGradScope(bool active) => _active = active;

    /// <summary>Ends the scope.</summary>
    public void Dispose()
    {
        if (_active) GradMode.Leave();
    }

    /// <inheritdoc/>
    public bool Equals(NoGradScope other) => _active == other._active;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NoGradScope o && Equals(o);

    /// <inheritdoc/>
    public override int GetHashCode() => _active.GetHashCode();

    /// <summary>Equality.</summary>
    public static bool operator ==(NoGradScope left, NoGradScope right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(NoGradScope left, NoGradScope right) => !left.Equals(right);
}

/// <summary>Scope returned by <see cref="GradMode.EnableGrad"/>.</summary>
public readonly struct EnableGradScope : IDisposable, IEquatable<EnableGradScope>
{
    private readonly int _saved;

    internal EnableGradScope(int saved) => _saved = saved;

    /// <summary>Ends the scope.</summary>
    public void Dispose() => GradMode.Restore(_saved);

    /// <inheritdoc/>
    public bool Equals(EnableGradScope other) => _saved == other._saved;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is EnableGradScope o && Equals(o);

    /// <inheritdoc/>
    public override int GetHashCode() => _saved;

    /// <summary>Equality.</summary>
    public static bool operator ==(EnableGradScope left, EnableGradScope right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(EnableGradScope left, EnableGradScope right) => !left.Equals(right);
}
