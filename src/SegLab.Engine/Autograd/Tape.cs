// Reverse-mode differentiation over the recorded graph: Backward (accumulate into leaves) and Grad (return gradients).
using System.Runtime.CompilerServices;

namespace SegLab.Engine.Autograd;

/// <summary>Runs the backward pass over the tape.</summary>
public static class Tape
{
    /// <summary>Accumulates d root / d leaf into every leaf's <see cref="Tensor.Grad"/> that requires a gradient.</summary>
    /// <param name="root">The output; a one-element tensor unless <paramref name="gradient"/> is given.</param>
    /// <param name="gradient">Gradient of the output.</param>
    /// <param name="retainGraph">Keep the graph for another backward pass; by default every node that ran is released.</param>
    public static void Backward(Tensor root, Tensor? gradient = null, bool retainGraph = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        CollectIfLarge(Run(root, gradient, captures: null, retainGraph));
    }

    /// <summary>
    /// Gradients of <paramref name="output"/> with respect to each of <paramref name="inputs"/> (leaves or
    /// intermediate results), without touching any <see cref="Tensor.Grad"/>. An input the output does not
    /// depend on gets zeros.
    /// </summary>
    /// <param name="output">The output; a one-element tensor unless <paramref name="gradOutput"/> is given.</param>
    /// <param name="inputs">Tensors that require gradients.</param>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="retainGraph">Keep the graph for another backward pass; by default every node that ran is released.</param>
    public static Tensor[] Grad(Tensor output, IReadOnlyList<Tensor> inputs, Tensor? gradOutput = null, bool retainGraph = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(inputs);
        var captures = new Dictionary<Tensor, Tensor?>(ReferenceEqualityComparer.Instance);
        foreach (var x in inputs)
        {
            if (!x.RequiresGrad)
                throw new ArgumentException($"Grad: input {Describe(x)} does not require a gradient.", nameof(inputs));
            captures[x] = null;
        }
        CollectIfLarge(Run(output, gradOutput, captures, retainGraph));
        var result = new Tensor[inputs.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = captures[inputs[i]] ?? Tensor.Zeros(inputs[i].DType, inputs[i].Dims);
        return result;
    }

    // Returns the bytes of forward outputs whose nodes it released (0 when the graph is retained).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Run(Tensor root, Tensor? seed, Dictionary<Tensor, Tensor?>? captures, bool retainGraph)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward: {Describe(root)} does not require a gradient (no input of it has RequiresGrad, or it was computed under NoGrad).");
        if (seed is null)
        {
            if (root.Numel != 1)
                throw new InvalidOperationException($"Backward: an output of shape {Shapes.Format(root.Shape)} needs an explicit gradient; only one-element outputs get the implicit gradient 1.");
            seed = Tensor.Ones(root.DType, root.Dims);
        }
        else if (!Shapes.Equal(seed.Shape, root.Shape))
        {
            throw new ArgumentException($"Backward: gradient shape {Shapes.Format(seed.Shape)} does not match output shape {Shapes.Format(root.Shape)}.");
        }

        using var _ = GradMode.NoGrad();
        var order = TopologicalOrder(root);
        // Grad: only tensors on a path to a requested input get gradients (as PyTorch's autograd.grad does), so an
        // input-gradient pass through a network skips every weight gradient. Backward: every RequiresGrad tensor.
        var saved = s_needed;
        s_needed = captures is null ? null : Needed(order, captures);
        try
        {
            Propagate(root, seed, order, captures, retainGraph);
        }
        finally
        {
            s_needed = saved;
        }
        return retainGraph ? 0 : ReleasedBytes(order);
    }

    // Called once Run's frame, which held the graph, is gone.
    private static void CollectIfLarge(long releasedBytes)
    {
        if (releasedBytes >= CollectAfterBytes) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
    }

    /// <summary>
    /// Size of a released graph, in bytes of its tensors, from which a backward pass ends with a full collection
    /// (default 64 MiB; <see cref="long.MaxValue"/> turns it off). The collector is otherwise slow to notice large
    /// arrays die: an attack or training loop then holds two or three graphs at once (CGNet at 360x480: 1.2 GB for a
    /// 330 MB graph) where one blocking, non-compacting collection of a few milliseconds keeps it at one.
    /// </summary>
    public static long CollectAfterBytes { get; set; } = 64L << 20;

    // Bytes of the outputs of the nodes this pass released: about the forward memory it let go of.
    private static long ReleasedBytes(List<Tensor> order)
    {
        long bytes = 0;
        foreach (var t in order)
            if (t.GradFn is { Released: true }) bytes += (long)t.Numel * (t.DType == DType.Float32 ? 4 : 8);
        return bytes;
    }

    [ThreadStatic]
    private static HashSet<Tensor>? s_needed;

    /// <summary>
    /// Whether the backward pass now running wants a gradient for <paramref name="t"/>: it requires one and, under
    /// <see cref="Grad"/>, lies on a path to a requested input. Backward rules ask this before computing an input's
    /// gradient.
    /// </summary>
    /// <param name="t">An input of the operation (null: an absent optional input).</param>
    internal static bool Wants([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] Tensor? t) => t is { RequiresGrad: true } && (s_needed is null || s_needed.Contains(t));

    // order lists every tensor after its inputs: one forward sweep marks those that reach a requested input.
    private static HashSet<Tensor> Needed(List<Tensor> order, Dictionary<Tensor, Tensor?> captures)
    {
        var needed = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var t in order)
        {
            if (captures.ContainsKey(t)) { needed.Add(t); continue; }
            if (t.GradFn is null) continue;
            foreach (var x in t.GradFn.Inputs)
                if (needed.Contains(x)) { needed.Add(t); break; }
        }
        return needed;
    }

    // Walks the order backwards. Gradient storage is reused within the pass (GradBuffers): a gradient dies once its
    // node has run and no pending entry shares its storage (Add hands the same tensor to both inputs, Reshape a view
    // of it), and a sum of two gradients goes in place into the first when the pass owns it alone.
    private static void Propagate(Tensor root, Tensor seed, List<Tensor> order, Dictionary<Tensor, Tensor?>? captures, bool retainGraph)
    {
        using var scope = GradBuffers.Begin();
        var pool = scope.Pool;
        var pending = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = seed };
        pool.Hold(seed);
        pool.Escape(seed);
        var dead = new List<Tensor>();
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (!pending.Remove(t, out var g)) continue;
            if (s_needed is not null && !s_needed.Contains(t))
            {
                pool.Release(g);
                pool.Recycle(g);
                continue;
            }
            if (captures is not null && captures.ContainsKey(t))
            {
                captures[t] = g;
                pool.Escape(g);
            }
            if (t.GradFn is null)
            {
                if (captures is null) AccumulateLeaf(t, g);
                pool.Release(g);
                pool.Recycle(g);
                continue;
            }
            var node = t.GradFn;
            long t0 = BackwardProfile.Begin();
            var grads = node.Backward!(g);
            BackwardProfile.End(node.Op, t0);
            dead.Clear();
            var inputs = node.Inputs;
            if (!retainGraph) node.Release();
            for (int k = 0; k < inputs.Length; k++)
            {
                var x = inputs[k];
                var gx = grads[k];
                if (gx is null) continue;
                if (!Wants(x))
                {
                    dead.Add(gx);
                    continue;
                }
                if (!Shapes.Equal(gx.Shape, x.Shape))
                    throw new InvalidOperationException($"Backward of '{node.Op}' produced a gradient of shape {Shapes.Format(gx.Shape)} for input {k} of shape {Shapes.Format(x.Shape)} (engine bug).");
                if (pending.TryGetValue(x, out var acc))
                {
                    long a0 = BackwardProfile.Begin();
                    if (pool.SoleOwner(acc) && !ReferenceEquals(acc.Storage, gx.Storage) && acc.DType == gx.DType)
                    {
                        AddInPlace(acc, gx);
                    }
                    else
                    {
                        var sum = Ops.Add(acc, gx);
                        pool.Hold(sum);
                        pool.Release(acc);
                        dead.Add(acc);
                        pending[x] = sum;
                    }
                    dead.Add(gx);
                    BackwardProfile.End("(accumulate)", a0);
                }
                else
                {
                    pending[x] = gx;
                    pool.Hold(gx);
                }
            }
            pool.Release(g);
            dead.Add(g);
            foreach (var d in dead) pool.Recycle(d);
        }
    }

    private static void AddInPlace(Tensor acc, Tensor gx)
    {
        if (acc.DType == DType.Float32) System.Numerics.Tensors.TensorPrimitives.Add(acc.Span, gx.Span, acc.Span);
        else System.Numerics.Tensors.TensorPrimitives.Add(acc.SpanF64, gx.SpanF64, acc.SpanF64);
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor g)
    {
        if (leaf.Grad is null) leaf.SetGradCopy(g);
        else leaf.SetEngineGrad(Ops.Add(leaf.Grad, g));
    }

    /// <summary>Every tensor reachable from <paramref name="root"/> through recorded nodes, parents before children.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor T, int Next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            if (t.GradFn is { Released: true } released)
                throw new InvalidOperationException($"Backward: the graph through {Describe(t)} (operation '{released.Op}') was freed by an earlier backward pass; pass retainGraph: true to the first one to go through it twice.");
            var inputs = t.GradFn?.Inputs;
            if (inputs is not null && next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var x = inputs[next];
                if (x.RequiresGrad && visited.Add(x)) stack.Push((x, 0));
                continue;
            }
            order.Add(t);
        }
        return order;
    }

    private static string Describe(Tensor t) => t.Name is null
        ? $"a tensor of shape {Shapes.Format(t.Shape)}"
        : $"'{t.Name}' of shape {Shapes.Format(t.Shape)}";

    /// <summary>Records <paramref name="output"/> as the result of <paramref name="op"/> on <paramref name="inputs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Tensor Record(Tensor output, string op, Tensor[] inputs, BackwardFn backward)
    {
        output.GradFn = new Node(op, inputs, backward);
        output.RequiresGrad = true;
        return output;
    }
}
