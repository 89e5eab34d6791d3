// Swappable backward rules, per thread: the guided-backpropagation rule for rectifiers (Springenberg, Dosovitskiy,
// Brox, Riedmiller, "Striving for simplicity", ICLR 2015 workshop, arXiv 1412.6806). Inside the scope a rectifier
// passes back only the positive part of its incoming gradient: its backward is the ordinary one applied to max(g, 0).
// For ReLU that is exactly the paper's rule (grad where input > 0 and grad > 0); see docs/attribution.md for PReLU.
namespace SegLab.Engine.Autograd;

/// <summary>
/// Scopes that change how some operations differentiate, without a second model. The rule is read when a backward
/// step runs, not when the forward pass records it: wrap the backward pass (<see cref="Tape.Grad"/>,
/// <see cref="Tape.Backward"/>). A graph recorded outside the scope and differentiated inside it gets the guided
/// rule; one differentiated outside it gets the ordinary gradient, bit for bit.
/// </summary>
public static class BackwardRules
{
    [ThreadStatic] private static int t_guidedDepth;
    [ThreadStatic] private static bool t_reluOnly;

    /// <summary>True while a <see cref="Guided"/> scope is open on this thread.</summary>
    public static bool IsGuided => t_guidedDepth > 0;

    /// <summary>
    /// Guided backpropagation until the returned scope is disposed: ReLU, LeakyReLU, PReLU and the fused
    /// batch-norm + ReLU / + PReLU operations pass back their ordinary backward of max(g, 0) (every other operation
    /// is unchanged): <c>using (BackwardRules.Guided()) grads = Tape.Grad(y, [x], seed);</c>. Scopes nest; the
    /// innermost one's setting holds.
    /// </summary>
    /// <param name="reluOnly">Only ReLU and fused batch-norm + ReLU follow the rule, as Captum's GuidedBackprop
    /// (which overrides ReLU modules only); LeakyReLU and PReLU keep their ordinary gradient.</param>
    public static GuidedScope Guided(bool reluOnly = false)
    {
        var scope = new GuidedScope(true, t_reluOnly);
        t_guidedDepth++;
        t_reluOnly = reluOnly;
        return scope;
    }

    internal static void Leave(bool savedReluOnly)
    {
        t_guidedDepth--;
        t_reluOnly = savedReluOnly;
    }

    /// <summary>
    /// The gradient a rectifier's backward rule starts from: <paramref name="g"/> itself, or under
    /// <see cref="Guided"/> a new tensor max(g, 0) (g is never changed in place: the tape may share it).
    /// </summary>
    /// <param name="g">The gradient of the rectifier's output.</param>
    /// <param name="parametric">A rectifier with a negative slope (LeakyReLU, PReLU), left alone under a ReLU-only scope.</param>
    internal static Tensor Rectifier(Tensor g, bool parametric = false)
    {
        if (t_guidedDepth == 0 || (parametric && t_reluOnly)) return g;
        var d = Tensor.Uninitialized(g.DType, g.Dims);
        if (g.DType == DType.Float32) System.Numerics.Tensors.TensorPrimitives.Max(g.Span, 0f, d.Span);
        else System.Numerics.Tensors.TensorPrimitives.Max(g.SpanF64, 0.0, d.SpanF64);
        return d;
    }
}

/// <summary>Scope returned by <see cref="BackwardRules.Guided"/>.</summary>
public readonly struct GuidedScope : IDisposable, IEquatable<GuidedScope>
{
    private readonly bool _active;
    private readonly bool _savedReluOnly;

    internal GuidedScope(bool active, bool savedReluOnly)
    {
        _active = active;
        _savedReluOnly = savedReluOnly;
    }

    /// <summary>Ends the scope.</summary>
    public void Dispose()
    {
        if (_active) BackwardRules.Leave(_savedReluOnly);
    }

    /// <inheritdoc/>
    public bool Equals(GuidedScope other) => _active == other._active && _savedReluOnly == other._savedReluOnly;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is GuidedScope o && Equals(o);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_active, _savedReluOnly);

    /// <summary>Equality.</summary>
    public static bool operator ==(GuidedScope left, GuidedScope right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(GuidedScope left, GuidedScope right) => !left.Equals(right);
}
