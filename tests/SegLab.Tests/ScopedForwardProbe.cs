// What an inference scope saves: one forward without a scope, then two in scopes, on a fresh thread (whose storage
// pool holds nothing from other tests), with the managed bytes each allocated. Shared by the native-port and
// imported-graph scope tests.
using SegLab.Engine;
using SegLab.Engine.Autograd;

namespace SegLab.Tests;

/// <summary>Logits and allocations of an unscoped forward and of the first and second scoped ones.</summary>
/// <param name="Reference">Logits without a scope.</param>
/// <param name="First">Logits of the first scoped forward.</param>
/// <param name="Second">Logits of the second scoped forward (the pool warm).</param>
/// <param name="Unscoped">Bytes the unscoped forward allocated.</param>
/// <param name="Scoped">Bytes the first scoped forward allocated.</param>
internal sealed record ScopedForwardProbe(float[] Reference, float[] First, float[] Second, long Unscoped, long Scoped)
{
    /// <summary>Runs <paramref name="forward"/> on <paramref name="x"/> three times (no grad) on a fresh thread.</summary>
    public static ScopedForwardProbe Run(Func<Tensor, Tensor> forward, Tensor x)
    {
        ScopedForwardProbe? result = null;
        var t = new Thread(() =>
        {
            using var _ = GradMode.NoGrad();
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            var reference = forward(x).ToArray();
            long b1 = GC.GetAllocatedBytesForCurrentThread();
            float[] first, second;
            using (TensorScope.Begin()) first = forward(x).ToArray();
            long b2 = GC.GetAllocatedBytesForCurrentThread();
            using (TensorScope.Begin()) second = forward(x).ToArray();
            result = new ScopedForwardProbe(reference, first, second, b1 - b0, b2 - b1);
        });
        t.Start();
        t.Join();
        return result ?? throw new InvalidOperationException("the probe's thread failed");
    }
}
