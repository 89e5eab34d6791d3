// Storage reuse across inference forwards. A forward without a tape allocates every output fresh (CGNet at
// 360x480: about 326 MB per forward), and the collector pays for it three times: zeroed memory, page faults when
// it hands regions back to the OS and takes them again, and collections that copy the intermediates still live.
// A caller that keeps nothing of a forward but what it copies out says so with a scope: every tensor storage that
// this thread allocates without recording a tape while the scope is open goes back to a per-thread pool when it
// ends, and the next scope's forward takes it again.
//
// The contract is the caller's: a tensor made inside the scope must not be used after it (copy it out with
// ToArray or Clone first). SEGLAB_POISON_UNINITIALIZED=1 fills returned storage with NaN, so that a use after
// the scope shows in tests. Tensors made while a tape is recording are never pooled (the tape may keep them), nor
// are storages of fewer than 4096 elements, nor what kernels' worker threads allocate.
//
// A training scope (BeginTraining) is the same for one training step: the forward that records the tape is
// pooled too, since after the step's backward pass its activations are dead unless the caller kept them. What a
// backward pass allocates is never the scope's (parameters' gradients outlive the step; GradBuffers recycles the
// rest). On a freshly booted 2-core VM a page faulted in for the first time cost about 12 us, and a DeepLabV3
// step whose forward ran in fresh memory took 150-200 ms against 55-60 ms in warm memory.
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

/// <summary>
/// A region whose untracked tensor storage is recycled when it ends: for loops of inference forwards whose
/// results are copied out.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? t_current;
    [ThreadStatic] private static StoragePool? t_pool;

    private readonly TensorScope? _outer;
    private readonly HashSet<Array> _allocated = new(ReferenceEqualityComparer.Instance);
    private readonly List<Array> _order = []; // this scope's allocations in order, for Mark / ReleaseSince (inference only)
    private StoragePool? _released; // released before the scope's end (Release), taken first by this scope's allocations
    private readonly bool _training;
    private bool _disposed;

    private TensorScope(bool training)
    {
        _outer = t_current;
        _training = training;
        t_current = this;
    }

    /// <summary>
    /// Opens a scope on this thread, until disposed. Every tensor created in it without a tape (under
    /// <see cref="GradMode.NoGrad"/>) is invalid afterwards: copy out what you keep.
    /// </summary>
    public static TensorScope Begin() => new(training: false);

    /// <summary>
    /// Opens a scope for one training step (forward, loss, backward) on this thread, until disposed. Every tensor
    /// created in it outside a backward pass, with or without a tape, is invalid afterwards: the activations, the
    /// logits and the loss. Read out what you keep (<see cref="Tensor.Item"/>, ToArray, Clone) before it ends.
    /// Parameters' gradients (made by the backward pass) stay valid, so the optimizer steps after the scope.
    /// </summary>
    public static TensorScope BeginTraining() => new(training: true);

    /// <summary>Bytes that scopes on this thread handed out again instead of allocating (for tests).</summary>
    internal static long ReusedBytes => t_pool?.ReusedBytes ?? 0;

    /// <summary>Storage for a tensor created while a scope is open and no tape records; null otherwise.</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="n">Element count.</param>
    /// <param name="zeroed">Whether the contents must be zero.</param>
    internal static Array? Allocate(DType dtype, int n, bool zeroed)
    {
        if (n < StoragePool.MinElements) return null;
        var scope = t_current;
        if (scope is null || GradBuffers.Active is not null || (GradMode.IsEnabled && !scope._training)) return TakeIdle(dtype, n, zeroed);
        var pool = t_pool ??= new StoragePool();
        var data = scope._released?.Take(dtype, n, zeroed) ?? pool.Take(dtype, n, zeroed) ?? GradBuffers.TakeLeftover(dtype, n, zeroed) ?? StoragePool.Fresh(dtype, n, zeroed);
        scope._allocated.Add(data);
        if (!scope._training) scope._order.Add(data);
        return data;
    }

    /// <summary>
    /// Storage that an ended scope left in this thread's pool, handed over for good (the pool forgets it), or null:
    /// a forward that records a tape, or a backward pass, then runs in memory the inference forwards already
    /// touched instead of holding both.
    /// </summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="n">Element count.</param>
    /// <param name="zeroed">Whether the contents must be zero.</param>
    internal static Array? TakeIdle(DType dtype, int n, bool zeroed) => t_pool?.Take(dtype, n, zeroed);

    /// <summary>
    /// Hands <paramref name="t"/>'s storage back to this thread's innermost inference scope now instead of at its
    /// end, so that the scope's next allocation of that size takes it: for a graph executor that knows a value's last
    /// reader has run (a forward then holds its live values, not all it ever made). The caller promises that no
    /// tensor sharing this storage (a view, a reshape) is read again. Does nothing unless that scope allocated the
    /// storage (never in a training scope, under a tape, or for storage made outside the scope) or while a
    /// <see cref="Nn.FeatureCapture"/> is active (it may hold the tensor).
    /// </summary>
    /// <param name="t">A tensor nobody reads any more.</param>
    /// <returns>Whether the storage was released.</returns>
    public static bool Release(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        var scope = t_current;
        if (scope is null || scope._training || Nn.FeatureCapture.IsActive || !scope._allocated.Remove(t.Storage)) return false;
        (scope._released ??= new StoragePool()).Push(t.Storage);
        return true;
    }

    /// <summary>Whether <see cref="Release"/> can release anything now: an inference scope is open and no capture is active.</summary>
    public static bool CanRelease => t_current is { _training: false } && !Nn.FeatureCapture.IsActive;

    /// <summary>
    /// A position in this thread's inference scope's allocations, for <see cref="ReleaseSince"/>; -1 when nothing
    /// can be released (no inference scope, or a capture is active).
    /// </summary>
    internal static int Mark() => CanRelease ? t_current!._order.Count : -1;

    /// <summary>
    /// Releases every storage the scope allocated since <paramref name="mark"/> except <paramref name="keep"/>'s:
    /// what a module made while computing its output is dead once it returns (Module.Forward), since a module
    /// keeps no tensor of its own forward and its output is the one value it hands on. Views share their base's
    /// storage, so an output that is a view of an intermediate keeps that intermediate.
    /// </summary>
    /// <param name="mark">From <see cref="Mark"/> at the start of the call.</param>
    /// <param name="keep">The call's result.</param>
    internal static void ReleaseSince(int mark, Tensor keep)
    {
        if (mark < 0 || !CanRelease) return;
        var scope = t_current!;
        var order = scope._order;
        if (mark > order.Count) return; // the scope changed under the call (an inner scope ended): leave it to Dispose
        var kept = keep.Storage;
        bool keptInRange = false;
        for (int i = mark; i < order.Count; i++)
        {
            var a = order[i];
            if (ReferenceEquals(a, kept)) { keptInRange = true; continue; }
            if (scope._allocated.Remove(a)) (scope._released ??= new StoragePool()).Push(a);
        }
        order.RemoveRange(mark, order.Count - mark);
        if (keptInRange && scope._allocated.Contains(kept)) order.Add(kept);
    }

    /// <summary>Ends the scope: its storage goes back to this thread's pool.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (!ReferenceEquals(t_current, this))
            throw new InvalidOperationException("TensorScope: scopes must end in the reverse order of their start, on the thread that began them.");
        _disposed = true;
        t_current = _outer;
        _order.Clear();
        if (_released is not null)
        {
            foreach (var a in _released.TakeAll()) _allocated.Add(a);
            _released = null;
        }
        if (_allocated.Count > 0)
        {
            // It holds at most what this scope returns (plus what it did not take back), so that a change of image
            // size does not keep the old sizes' storage forever.
            var pool = t_pool!;
            long incoming = _allocated.Sum(StoragePool.SizeOf);
            if (pool.Bytes > incoming) pool.Clear();
            foreach (var a in _allocated) pool.Push(a);
            _allocated.Clear();
        }
    }
}
