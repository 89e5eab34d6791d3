// Where a backward pass spends its time: when enabled, the tape times every node's gradient rule and sums the
// wall time per operation name (conv2d, batchnorm_prelu, ...). For `seglab bench model --profile` and for finding
// the next kernel worth writing; off by default (one Stopwatch read per node when on).
using System.Diagnostics;

namespace SegLab.Engine.Autograd;

/// <summary>One operation's share of the profiled backward passes.</summary>
/// <param name="Op">Operation name.</param>
/// <param name="Calls">Gradient rules run.</param>
/// <param name="Milliseconds">Total wall time of those rules.</param>
public readonly record struct BackwardOpTime(string Op, long Calls, double Milliseconds);

/// <summary>Per-operation timing of the backward passes run on this thread while enabled.</summary>
public static class BackwardProfile
{
    [ThreadStatic]
    private static Dictionary<string, (long Calls, long Ticks)>? s_times;

    /// <summary>Whether backward passes on this thread are being timed.</summary>
    public static bool Enabled => s_times is not null;

    /// <summary>Starts (or restarts) timing on this thread.</summary>
    public static void Start() => s_times = new Dictionary<string, (long, long)>(StringComparer.Ordinal);

    /// <summary>Stops timing and returns the operations, slowest first.</summary>
    public static IReadOnlyList<BackwardOpTime> Stop()
    {
        var times = s_times ?? [];
        s_times = null;
        return [.. times.Select(kv => new BackwardOpTime(kv.Key, kv.Value.Calls, kv.Value.Ticks * 1000.0 / Stopwatch.Frequency)).OrderByDescending(t => t.Milliseconds)];
    }

    internal static long Begin() => s_times is null ? 0 : Stopwatch.GetTimestamp();

    internal static void End(string op, long start)
    {
        if (s_times is null) return;
        long dt = Stopwatch.GetTimestamp() - start;
        s_times[op] = s_times.TryGetValue(op, out var v) ? (v.Calls + 1, v.Ticks + dt) : (1, dt);
    }
}
