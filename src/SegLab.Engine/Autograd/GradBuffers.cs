// Storage reuse inside one backward pass. A network's backward allocates about as much as its forward keeps
// (CGNet at 360x480: 450 MB of gradients and scratch against a 330 MB tape), nearly all of it dead a few nodes
// later. Left to the garbage collector, that garbage comes on top of the tape before a collection runs, and fresh
// large arrays cost page faults. The tape knows when a gradient dies: once its node has run and no pending entry
// shares its storage. It hands such storage back here, and the allocations of the same pass take it again.
//
// Only storage that this pass allocated, on the tape's thread, is ever handed back: never a forward tensor, a
// caller's seed, a captured result or anything a kernel's worker threads made. Storage is reused at its exact
// length only, so that no kernel ever sees an array longer than its tensor.
//
// What is still free when the pass ends is dead for certain, and the next step of a training or attack loop asks
// for the same shapes: it is kept for the thread's next allocations (the next forward's tensors, the next pass's
// gradients) instead of going to the collector, which hands freed regions back to the OS, so that they came back
// as fresh pages at about 3 us each (a cross-entropy gradient of 5.8 MB: 1,400 faults, 2.5 ms without them and
// 8-10 ms with them). Each pass replaces the previous leftovers, so at most one pass's free set is kept.
namespace SegLab.Engine.Autograd;

/// <summary>Free lists of gradient storage for the backward pass running on this thread.</summary>
internal sealed class GradBuffers
{
    [ThreadStatic] private static GradBuffers? t_active;
    [ThreadStatic] private static long t_lastReusedBytes;
    [ThreadStatic] private static StoragePool? t_leftover;

    /// <summary>Whether backward passes reuse storage (tests compare against passes that do not).</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>Bytes the last backward pass on this thread reused instead of allocating.</summary>
    internal static long LastReusedBytes => t_lastReusedBytes;

    private readonly StoragePool _free = new();
    private readonly HashSet<Array> _owned = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Array> _escaped = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Array, int> _refs = new(ReferenceEqualityComparer.Instance);

    /// <summary>Bytes handed out again instead of allocated, over this pass (for tests and profiles).</summary>
    internal long ReusedBytes => _free.ReusedBytes;

    /// <summary>The pool of the pass running on this thread, or null outside a backward pass.</summary>
    internal static GradBuffers? Active => t_active;

    /// <summary>Makes a new pool current on this thread until the scope is disposed (the previous one is restored).</summary>
    internal static Scope Begin() => new(new GradBuffers());

    /// <summary>
    /// Storage of <paramref name="n"/> elements for a tensor created during the pass: reused where a dead array of
    /// that length is free, else new. Null outside a pass or for small arrays (the caller allocates as usual).
    /// </summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="n">Element count.</param>
    /// <param name="zeroed">Whether the contents must be zero.</param>
    internal static Array? Allocate(DType dtype, int n, bool zeroed)
    {
        var pool = t_active;
        if (pool is null || n < StoragePool.MinElements || !Enabled) return null;
        var data = pool._free.Take(dtype, n, zeroed) ?? TakeLeftover(dtype, n, zeroed) ?? TensorScope.TakeIdle(dtype, n, zeroed) ?? StoragePool.Fresh(dtype, n, zeroed);
        pool._owned.Add(data);
        return data;
    }

    /// <summary>
    /// Storage that the last backward pass on this thread left free, handed over for good (null when none of that
    /// length is left, or for small arrays): a tensor made after a pass runs in memory the pass already touched.
    /// </summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="n">Element count.</param>
    /// <param name="zeroed">Whether the contents must be zero.</param>
    internal static Array? TakeLeftover(DType dtype, int n, bool zeroed) =>
        n < StoragePool.MinElements ? null : t_leftover?.Take(dtype, n, zeroed);

    /// <summary>Bytes the last backward pass on this thread left free for the next allocations (for tests).</summary>
    internal static long LeftoverBytes => t_leftover?.Bytes ?? 0;

    /// <summary>Drops this thread's leftovers (to the collector).</summary>
    internal static void DropLeftovers() => t_leftover = null;

    /// <summary>A pending entry now holds <paramref name="t"/>.</summary>
    internal void Hold(Tensor t) => _refs[t.Storage] = _refs.GetValueOrDefault(t.Storage) + 1;

    /// <summary>A pending entry no longer holds <paramref name="t"/> (call <see cref="Recycle"/> after).</summary>
    internal void Release(Tensor t)
    {
        var a = t.Storage;
        if (!_refs.TryGetValue(a, out int r)) return;
        if (r <= 1) _refs.Remove(a);
        else _refs[a] = r - 1;
    }

    /// <summary><paramref name="t"/> leaves the pass (a captured result): its storage is never reused.</summary>
    internal void Escape(Tensor t) => _escaped.Add(t.Storage);

    /// <summary>Whether <paramref name="t"/>'s storage is this pass's own and held by exactly one pending entry.</summary>
    internal bool SoleOwner(Tensor t) =>
        _owned.Contains(t.Storage) && !_escaped.Contains(t.Storage) && _refs.GetValueOrDefault(t.Storage) == 1;

    /// <summary>Frees <paramref name="t"/>'s storage for reuse if this pass made it and nothing pending holds it.</summary>
    internal void Recycle(Tensor t)
    {
        var a = t.Storage;
        if (_refs.ContainsKey(a) || _escaped.Contains(a) || !_owned.Remove(a)) return;
        _free.Push(a);
    }

    /// <summary>Keeps a pool current on this thread.</summary>
    internal readonly struct Scope : IDisposable
    {
        private readonly GradBuffers? _previous;

        internal Scope(GradBuffers pool)
        {
            Pool = pool;
            _previous = t_active;
            t_active = pool;
        }

        /// <summary>The pool this scope made current.</summary>
        internal GradBuffers Pool { get; }

        /// <inheritdoc/>
        public void Dispose()
        {
            t_active = _previous;
            t_lastReusedBytes = Pool.ReusedBytes;
            // The outermost pass's free storage is dead: it replaces the previous leftovers. A nested pass (a
            // backward inside a gradient rule) leaves its free storage to the collector.
            if (_previous is null && Enabled) t_leftover = Pool._free.Bytes > 0 ? Pool._free : null;
        }
    }
}
