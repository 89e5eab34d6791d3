// A test hook for crash-safety proofs: SEGLAB_FAULT makes the process die or fail at a chosen atomic write, so that
// the kill harness (tests/SegLab.Cli.Tests/KillResumeTests.cs) can hit the moments a timer cannot: while a checkpoint
// or a results file is being written. Unset (always, outside tests), it costs one null check per file written.
using System.Globalization;

namespace SegLab.Engine.IO;

/// <summary>Faults injected into <see cref="AtomicFile"/> by the SEGLAB_FAULT variable (docs/reliability.md).</summary>
public static class FaultInjection
{
    /// <summary>The environment variable: <c>kill-in-write:N</c>, <c>kill-after-write:N</c>, <c>pause-after-write:N</c> or <c>fail-write:N</c>.</summary>
    public const string Variable = "SEGLAB_FAULT";

    private static readonly string? Setting = Environment.GetEnvironmentVariable(Variable);
    private static readonly (string Kind, int At)? Fault = Parse(Setting);
    private static int _writes;

    /// <summary>Counts one atomic write; returns its 1-based number when a fault is set, else 0.</summary>
    internal static int Next()
    {
        if (Fault is null && !string.IsNullOrEmpty(Setting))
            throw new ArgumentException($"{Variable}='{Setting}' is not kill-in-write:N, kill-after-write:N, pause-after-write:N or fail-write:N (N >= 1).");
        return Fault is null ? 0 : Interlocked.Increment(ref _writes);
    }

    /// <summary>Called with the temporary file written but not yet flushed or renamed.</summary>
    /// <param name="write">The write's number from <see cref="Next"/>.</param>
    /// <param name="path">The destination.</param>
    internal static void InWrite(int write, string path)
    {
        if (Fault is not { } f || f.At != write) return;
        if (f.Kind == "kill-in-write") Kill();
        if (f.Kind == "fail-write") throw new IOException($"Cannot write '{path}': No space left on device ({Variable}={f.Kind}:{f.At}).");
    }

    /// <summary>Called after the rename that makes the write visible.</summary>
    /// <param name="write">The write's number from <see cref="Next"/>.</param>
    internal static void AfterWrite(int write)
    {
        if (Fault is not { } f || f.At != write) return;
        if (f.Kind == "kill-after-write") Kill();
        // A run held at a known moment, in progress, for a signal from outside (Ctrl-C between two images).
        if (f.Kind == "pause-after-write") Thread.Sleep(TimeSpan.FromMinutes(5));
    }

    // SIGKILL, as `kill -9` sends it: no finalizers, no flushing, no handlers.
    private static void Kill() => System.Diagnostics.Process.GetCurrentProcess().Kill();

    private static (string, int)? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var parts = text.Split(':');
        if (parts.Length == 2 && parts[0] is "kill-in-write" or "kill-after-write" or "pause-after-write" or "fail-write"
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1)
            return (parts[0], n);
        return null;
    }
}
