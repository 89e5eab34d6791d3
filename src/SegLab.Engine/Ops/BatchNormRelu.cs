// Batch norm fused with the ReLU that follows it (the UNet's and ResNet's "BN + ReLU" pair), training or evaluation
// mode, PyTorch's semantics for both halves. One pass writes y = max(bn(x), 0) instead of writing bn(x) and then
// y, and the backward masks the incoming gradient by y > 0 on the fly, so neither the intermediate activation nor
// its gradient is ever allocated (a third less memory traffic and allocation per conv-BN-ReLU block in training).
//   forward:  z = (x - mean) rstd w + b (batch or running statistics, as BatchNorm2d.cs),  y = z < 0 ? 0 : z (NaN kept)
//   backward: gz = y > 0 ? g : 0, then batch norm's backward with gz (BatchNorm2d.cs); under BackwardRules.Guided
//             gz = y > 0 && g > 0 ? g : 0 (guided backpropagation, as the unfused ReLU)
using System.Numerics;
using System.Runtime.InteropServices;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>ReLU(BatchNorm2d(x)) in one pass, training (batch statistics, running-statistics update) or evaluation mode.</summary>
    /// <param name="x">Input [N, C, ...].</param>
    /// <param name="weight">Scale [C] or null (1).</param>
    /// <param name="bias">Shift [C] or null (0).</param>
    /// <param name="runningMean">Running mean [C], updated in place in training mode.</param>
    /// <param name="runningVar">Running variance [C], updated in place in training mode.</param>
    /// <param name="training">Normalise with batch statistics and update the running ones.</param>
    /// <param name="momentum">Weight of the batch statistics in the running update.</param>
    /// <param name="eps">Added to the variance.</param>
    public static Tensor BatchNormRelu(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, bool training, double momentum = 0.1, double eps = 1e-5)
        => BatchNormCore("batch_norm_relu", x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: true);

    // y = x * a + b, then max(., 0) with NaN kept (z < 0 is false for NaN).
    private static void BnScaleShiftRelu<T>(ReadOnlySpan<T> x, T a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        Vector<T> va = new(a), vb = new(b);
        int i = 0;
        for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var z = Vector.LoadUnsafe(ref xr, (nuint)i) * va + vb;
            Vector.ConditionalSelect(Vector.LessThan(z, Vector<T>.Zero), Vector<T>.Zero, z).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < x.Length; i++)
        {
            T z = x[i] * a + b;
            y[i] = z < T.Zero ? T.Zero : z;
        }
    }

    // (sum gz, sum gz (x - mu)) over a block, gz = y > 0 ? g : 0.
    private static (T SumG, T Dot) BnGradSumsMasked<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, ReadOnlySpan<T> x, T mu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T xr = ref MemoryMarshal.GetReference(x);
        var vmu = new Vector<T>(mu);
        Vector<T> accG = Vector<T>.Zero, accD = Vector<T>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var gv = Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref yr, (nuint)i), Vector<T>.Zero), Vector.LoadUnsafe(ref gr, (nuint)i), Vector<T>.Zero);
            accG += gv;
            accD += gv * (Vector.LoadUnsafe(ref xr, (nuint)i) - vmu);
        }
        T sg = Vector.Sum(accG), sd = Vector.Sum(accD);
        for (; i < x.Length; i++)
        {
            if (!(y[i] > T.Zero)) continue;
            sg += g[i];
            sd += g[i] * (x[i] - mu);
        }
        return (sg, sd);
    }

    // dx = ((gz - gMean - (x - mu) k) * r) * gamma in training mode, (gz * r) * gamma in evaluation mode; gz = y > 0 ? g : 0.
    private static void BnGradInputMasked<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, ReadOnlySpan<T> x, T mu, T k, T gMean, T r, T gamma, Span<T> dx, bool training)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(dx);
        Vector<T> vmu = new(mu), vk = new(k), vgm = new(gMean), vr = new(r), vw = new(gamma);
        int i = 0;
        if (training)
        {
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var gv = Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref yr, (nuint)i), Vector<T>.Zero), Vector.LoadUnsafe(ref gr, (nuint)i), Vector<T>.Zero);
                var d = gv - vgm - (Vector.LoadUnsafe(ref xr, (nuint)i) - vmu) * vk;
                (d * vr * vw).StoreUnsafe(ref dr, (nuint)i);
            }
            for (; i < x.Length; i++) dx[i] = ((y[i] > T.Zero ? g[i] : T.Zero) - gMean - (x[i] - mu) * k) * r * gamma;
        }
        else
        {
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var gv = Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref yr, (nuint)i), Vector<T>.Zero), Vector.LoadUnsafe(ref gr, (nuint)i), Vector<T>.Zero);
                (gv * vr * vw).StoreUnsafe(ref dr, (nuint)i);
            }
            for (; i < x.Length; i++) dx[i] = (y[i] > T.Zero ? g[i] : T.Zero) * r * gamma;
        }
    }
}
