// The optimizer contract shared by SGD and AdamW: a learning rate the schedule sets before each step, one update
// from accumulated gradients, and state (moments, step count) as named tensors so that checkpoints store it exactly.
namespace SegLab.Engine.Optim;

/// <summary>An optimizer over float32 leaf parameters, updated in place.</summary>
public interface IOptimizer
{
    /// <summary>Learning rate used by the next <see cref="Step"/> (schedules set it between steps).</summary>
    double LearningRate { get; set; }

    /// <summary>Updates taken so far.</summary>
    long Steps { get; }

    /// <summary>The parameters, in the order their state is keyed by.</summary>
    IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Applies one update from the parameters' accumulated gradients; parameters without a gradient are skipped.</summary>
    void Step();

    /// <summary>
    /// Clears every parameter's gradient. The next backward pass writes each parameter's new gradient into the
    /// storage of its old one (as PyTorch accumulates into .grad in place), so a Grad tensor read before ZeroGrad
    /// changes with that pass: Clone it to keep it.
    /// </summary>
    void ZeroGrad();

    /// <summary>
    /// The optimizer's state as copies: "step" (a float64 scalar) and per-parameter buffers keyed
    /// "{index}.{buffer}" (PyTorch's buffer names: momentum_buffer, exp_avg, exp_avg_sq).
    /// </summary>
    Dictionary<string, Tensor> ExportState();

    /// <summary>Restores a state from <see cref="ExportState"/>; names the key when a buffer is missing, extra or of the wrong shape.</summary>
    /// <param name="state">Named tensors.</param>
    /// <param name="source">Where the state came from (a file), for error messages.</param>
    void ImportState(IReadOnlyDictionary<string, Tensor> state, string? source = null);
}

/// <summary>Shared checks and state (de)serialisation for the optimizers.</summary>
internal static class OptimizerState
{
    public static Tensor[] CheckParameters(string who, IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var ps = parameters.ToArray();
        foreach (var p in ps)
        {
            if (!p.RequiresGrad || !p.IsLeaf || p.DType != DType.Float32)
                throw new ArgumentException($"{who}: parameter {p} must be a float32 leaf that requires a gradient.");
        }
        return ps;
    }

    public static void Export(Dictionary<string, Tensor> into, string buffer, float[]?[] buffers, Tensor[] ps)
    {
        for (int i = 0; i < buffers.Length; i++)
            if (buffers[i] is { } b) into[$"{i}.{buffer}"] = Tensor.FromArray((float[])b.Clone(), ps[i].ShapeArray());
    }

    public static long ReadStep(IReadOnlyDictionary<string, Tensor> state, string who, string? source)
    {
        if (!state.TryGetValue("step", out var s) || s.Numel != 1)
            throw new FormatException($"{who} state{From(source)}: key 'step' is missing or not a scalar.");
        return checked((long)s.Item());
    }

    /// <summary>Reads every "{i}.{buffer}" key of the given buffer names; any other key is an error.</summary>
    public static float[]?[][] Import(IReadOnlyDictionary<string, Tensor> state, string[] bufferNames, Tensor[] ps, string who, string? source)
    {
        var result = bufferNames.Select(_ => new float[]?[ps.Length]).ToArray();
        foreach (var (key, t) in state)
        {
            if (key == "step") continue;
            int dot = key.IndexOf('.', StringComparison.Ordinal);
            int b = dot < 0 ? -1 : Array.IndexOf(bufferNames, key[(dot + 1)..]);
            if (b < 0 || !int.TryParse(key.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i) || i >= ps.Length)
                throw new FormatException($"{who} state{From(source)}: unexpected key '{key}' (expected 'step' and '<index>.{string.Join("|", bufferNames)}' for {ps.Length} parameters).");
            if (!Shapes.Equal(t.Shape, ps[i].Shape))
                throw new FormatException($"{who} state{From(source)}: '{key}' has shape {Shapes.Format(t.Shape)}, parameter {i} has {Shapes.Format(ps[i].Shape)}.");
            result[b][i] = t.To(DType.Float32).ToArray();
        }
        return result;
    }

    private static string From(string? source) => source is null ? "" : $" in '{source}'";
}
