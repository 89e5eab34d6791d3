// Free tensor storage by exact length, shared by the backward pass's gradient reuse (Autograd/GradBuffers.cs) and
// the inference scopes (TensorScope.cs). Exact lengths only, so that no kernel ever sees an array longer than
// its tensor.
namespace SegLab.Engine;

/// <summary>Free float32 and float64 arrays, by length. Not thread-safe: each owner keeps its own.</summary>
internal sealed class StoragePool
{
    /// <summary>Arrays below this many elements are never pooled: they are cheap and short-lived for the collector.</summary>
    internal const int MinElements = 4096;

    private readonly Dictionary<int, Stack<float[]>> _f32 = [];
    private readonly Dictionary<int, Stack<double[]>> _f64 = [];

    /// <summary>Bytes held free.</summary>
    public long Bytes { get; private set; }

    /// <summary>Bytes handed out again by <see cref="Take"/> over the pool's life.</summary>
    public long ReusedBytes { get; private set; }

    /// <summary>A free array of <paramref name="n"/> elements, zeroed or (debug) poisoned, or null if none is free.</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="n">Element count.</param>
    /// <param name="zeroed">Whether the contents must be zero.</param>
    public Array? Take(DType dtype, int n, bool zeroed)
    {
        if (Bytes == 0) return null;
        Array a;
        if (dtype == DType.Float32)
        {
            if (!_f32.TryGetValue(n, out var s) || !s.TryPop(out var f)) return null;
            a = f;
        }
        else
        {
            if (!_f64.TryGetValue(n, out var s) || !s.TryPop(out var d)) return null;
            a = d;
        }
        long bytes = SizeOf(a);
        Bytes -= bytes;
        ReusedBytes += bytes;
        if (zeroed) Array.Clear(a);
        else Poison.Fill(a);
        return a;
    }

    /// <summary>Frees <paramref name="a"/> into the pool (poisoned in debug runs: any later reader sees NaN).</summary>
    /// <param name="a">A float[] or double[] nobody uses any more.</param>
    public void Push(Array a)
    {
        Poison.Fill(a);
        switch (a)
        {
            case float[] f:
                if (!_f32.TryGetValue(f.Length, out var s32)) _f32[f.Length] = s32 = new Stack<float[]>();
                s32.Push(f);
                break;
            case double[] d:
                if (!_f64.TryGetValue(d.Length, out var s64)) _f64[d.Length] = s64 = new Stack<double[]>();
                s64.Push(d);
                break;
            default:
                return;
        }
        Bytes += SizeOf(a);
    }

    /// <summary>Every free array, handed over for good (the pool is empty afterwards).</summary>
    public List<Array> TakeAll()
    {
        var all = new List<Array>();
        foreach (var s in _f32.Values) all.AddRange(s);
        foreach (var s in _f64.Values) all.AddRange(s);
        Clear();
        return all;
    }

    /// <summary>Drops every free array (to the collector).</summary>
    public void Clear()
    {
        _f32.Clear();
        _f64.Clear();
        Bytes = 0;
    }

    /// <summary>A new array: zeroed, or uninitialised (NaN in debug runs).</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="n">Element count.</param>
    /// <param name="zeroed">Whether the contents must be zero.</param>
    public static Array Fresh(DType dtype, int n, bool zeroed)
    {
        if (zeroed) return dtype == DType.Float32 ? new float[n] : new double[n];
        Array a = dtype == DType.Float32 ? GC.AllocateUninitializedArray<float>(n) : GC.AllocateUninitializedArray<double>(n);
        Poison.Fill(a);
        return a;
    }

    /// <summary>Bytes of a float[] or double[].</summary>
    /// <param name="a">The array.</param>
    public static long SizeOf(Array a) => a is float[] ? 4L * a.Length : 8L * a.Length;
}

/// <summary>
/// Debug aid: with SEGLAB_POISON_UNINITIALIZED=1 in the environment, storage that a kernel promised to overwrite
/// (<c>Tensor.Uninitialized</c>) starts as NaN instead of whatever the allocator had, so that a kernel which reads
/// before it writes fails its gradient checks instead of passing on zeroed fresh memory.
/// </summary>
internal static class Poison
{
    internal static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("SEGLAB_POISON_UNINITIALIZED") == "1";

    internal static void Fill(Array a)
    {
        if (!Enabled) return;
        if (a is float[] f) f.AsSpan().Fill(float.NaN);
        else if (a is double[] d) d.AsSpan().Fill(double.NaN);
    }
}
