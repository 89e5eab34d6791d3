// Batch normalisation over NCHW (Ioffe and Szegedy 2015) with hand-written forward and backward, PyTorch's semantics
// (torch.nn.functional.batch_norm, CPU kernels):
//   training: per channel mean and biased variance over N*H*W (two passes, accumulated in float64), y = (x - mean) * rstd * w + b,
//             rstd = 1 / sqrt(var + eps); the running statistics move in place: new = (1 - m) old + m batch, the
//             running variance with the batch's unbiased variance (M / (M - 1)); more than one value per channel needed.
//   eval:     rstd = 1 / sqrt(running_var + eps); y = x * s + t with s = w * rstd, t = b - running_mean * s.
//   backward: dw = sum g (x - mean) rstd,  db = sum g,
//             train: dx = (g - sum g / M - (x - mean) * rstd^2 sum(g (x - mean)) / M) * rstd * w   (through the batch statistics)
//             eval:  dx = g * rstd * w
// Running statistics are buffers: never on the tape, never given gradients. Each channel's planes (contiguous H*W
// runs, one per image) are processed by one work item; channels run in parallel.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Values summed in the working type before the partial sum goes into a float64 accumulator.</summary>
    private const int BnBlock = 4096;

    /// <summary>Batch normalisation of [N, C, H, W] (or [N, C], [N, C, L]) over every axis but the channel axis, as PyTorch.</summary>
    /// <param name="x">Input [N, C, ...].</param>
    /// <param name="weight">Scale [C] or null (1).</param>
    /// <param name="bias">Shift [C] or null (0).</param>
    /// <param name="runningMean">Running mean [C], updated in place in training mode; receives no gradient.</param>
    /// <param name="runningVar">Running variance [C], updated in place (with the unbiased batch variance) in training mode; receives no gradient.</param>
    /// <param name="training">Normalise with batch statistics and update the running ones; otherwise use the running statistics.</param>
    /// <param name="momentum">Weight of the batch statistics in the running update: new = (1 - momentum) old + momentum batch.</param>
    /// <param name="eps">Added to the variance.</param>
    public static Tensor BatchNorm2d(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, bool training, double momentum = 0.1, double eps = 1e-5)
        => BatchNormCore("batch_norm", x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: false);

    // Batch norm, and with relu the ReLU that follows it in the same pass (BatchNormRelu.cs): y = max(bn(x), 0).
    private static Tensor BatchNormCore(string op, Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, bool training, double momentum, double eps, bool relu)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        if (x.Rank < 2) throw new ArgumentException($"{op}: input needs at least [N, C], got {Shapes.Format(x.Shape)}.");
        int n = x.Dims[0], c = x.Dims[1], hw = x.Numel / Math.Max(1, n * c);
        foreach (var (name, t) in new[] { ("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar) })
            if (t is not null && (t.Numel != c || t.DType != x.DType))
                throw new ArgumentException($"{op}: {name} {Shapes.Format(t.Shape)} ({t.DType}) does not fit the {c} channels of input {Shapes.Format(x.Shape)} ({x.DType}).");
        long m = (long)n * hw;
        if (training && m < 2) throw new ArgumentException($"{op}: training needs more than one value per channel, got input {Shapes.Format(x.Shape)}.");

        var y = Tensor.Uninitialized(x.DType, x.Dims);
        var mean = Tensor.Uninitialized(x.DType, [c]); // the statistics used: batch (training) or a snapshot of the running ones (eval)
        var rstd = Tensor.Uninitialized(x.DType, [c]);
        long work = m * (training ? 4 : 2);
        if (x.DType == DType.Float32)
            Parallelism.For(c, work, ch => BnForward(x.Buf<float>(), Opt<float>(weight), Opt<float>(bias), runningMean.Buf<float>(), runningVar.Buf<float>(),
                y.Buf<float>(), mean.Buf<float>(), rstd.Buf<float>(), ch, n, c, hw, training, momentum, eps, relu));
        else
            Parallelism.For(c, work, ch => BnForward(x.Buf<double>(), Opt<double>(weight), Opt<double>(bias), runningMean.Buf<double>(), runningVar.Buf<double>(),
                y.Buf<double>(), mean.Buf<double>(), rstd.Buf<double>(), ch, n, c, hw, training, momentum, eps, relu));

        var inputs = weight is null ? (bias is null ? new[] { x } : [x, bias]) : bias is null ? [x, weight] : [x, weight, bias];
        if (!GradMode.Needs(inputs)) return y;
        return Tape.Record(y, op, inputs, g =>
        {
            if (relu) g = BackwardRules.Rectifier(g); // guided backpropagation through the fused ReLU
            var gx = Tape.Wants(x) ? Tensor.Uninitialized(x.DType, x.Dims) : null;
            var gw = Tape.Wants(weight) ? Tensor.Uninitialized(x.DType, [c]) : null;
            var gb = Tape.Wants(bias) ? Tensor.Uninitialized(x.DType, [c]) : null;
            if (x.DType == DType.Float32)
                Parallelism.For(c, m * 4, ch => BnBackward(g.Buf<float>(), relu ? y.Buf<float>() : default, x.Buf<float>(), Opt<float>(weight), mean.Buf<float>(), rstd.Buf<float>(),
                    Opt<float>(gx), Opt<float>(gw), Opt<float>(gb), ch, n, c, hw, training));
            else
                Parallelism.For(c, m * 4, ch => BnBackward(g.Buf<double>(), relu ? y.Buf<double>() : default, x.Buf<double>(), Opt<double>(weight), mean.Buf<double>(), rstd.Buf<double>(),
                    Opt<double>(gx), Opt<double>(gw), Opt<double>(gb), ch, n, c, hw, training));
            var grads = new Tensor?[inputs.Length];
            grads[0] = gx;
            int k = 1;
            if (weight is not null) grads[k++] = gw;
            if (bias is not null) grads[k] = gb;
            return grads;
        });
    }

    private static Span<T> Opt<T>(Tensor? t) where T : unmanaged => t is null ? default : t.Buf<T>();

    // x, y: [N, C, HW]; channel ch: statistics (training, also updating the running ones) or running statistics (eval),
    // then y = x * s + t on each of the channel's N planes.
    private static void BnForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> runMean, Span<T> runVar, Span<T> y, Span<T> mean, Span<T> rstd,
        int ch, int n, int c, int hw, bool training, double momentum, double eps, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T mu, r;
        if (training)
        {
            long count = (long)n * hw;
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                var plane = x.Slice((i * c + ch) * hw, hw);
                for (int o = 0; o < hw; o += BnBlock) sum += double.CreateTruncating(TensorPrimitives.Sum(plane.Slice(o, Math.Min(BnBlock, hw - o))));
            }
            double mean64 = sum / count;
            mu = T.CreateTruncating(mean64);
            double ss = 0;
            for (int i = 0; i < n; i++)
            {
                var plane = x.Slice((i * c + ch) * hw, hw);
                for (int o = 0; o < hw; o += BnBlock) ss += double.CreateTruncating(BnSumSquaredDeviation(plane.Slice(o, Math.Min(BnBlock, hw - o)), mu));
            }
            r = T.CreateTruncating(1.0 / Math.Sqrt(ss / count + eps));
            runMean[ch] = T.CreateTruncating(momentum * mean64 + (1 - momentum) * double.CreateTruncating(runMean[ch]));
            runVar[ch] = T.CreateTruncating(momentum * (ss / (count - 1)) + (1 - momentum) * double.CreateTruncating(runVar[ch]));
        }
        else
        {
            mu = runMean[ch];
            r = T.One / T.Sqrt(runVar[ch] + T.CreateTruncating(eps));
        }
        mean[ch] = mu;
        rstd[ch] = r;
        T scale = r * (w.IsEmpty ? T.One : w[ch]);
        T shift = (b.IsEmpty ? T.Zero : b[ch]) - mu * scale;
        for (int i = 0; i < n; i++)
        {
            int off = (i * c + ch) * hw;
            if (relu) BnScaleShiftRelu(x.Slice(off, hw), scale, shift, y.Slice(off, hw));
            else BnScaleShift(x.Slice(off, hw), scale, shift, y.Slice(off, hw));
        }
    }

    // g, x, gx: [N, C, HW]; channel ch. gw, gb: [C] (empty when not wanted). y: the fused ReLU's output (empty
    // without one), whose positive entries let g through.
    private static void BnBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> mean, ReadOnlySpan<T> rstd,
        Span<T> gx, Span<T> gw, Span<T> gb, int ch, int n, int c, int hw, bool training) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T mu = mean[ch], r = rstd[ch], gamma = w.IsEmpty ? T.One : w[ch];
        double sumG = 0, dot = 0; // sum g, sum g (x - mean)
        if (training || !gw.IsEmpty || !gb.IsEmpty)
        {
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * hw;
                for (int o = 0; o < hw; o += BnBlock)
                {
                    int len = Math.Min(BnBlock, hw - o);
                    var (sg, sd) = y.IsEmpty ? BnGradSums(g.Slice(off + o, len), x.Slice(off + o, len), mu)
                        : BnGradSumsMasked(g.Slice(off + o, len), y.Slice(off + o, len), x.Slice(off + o, len), mu);
                    sumG += double.CreateTruncating(sg);
                    dot += double.CreateTruncating(sd);
                }
            }
        }
        if (!gw.IsEmpty) gw[ch] = T.CreateTruncating(dot) * r;
        if (!gb.IsEmpty) gb[ch] = T.CreateTruncating(sumG);
        if (gx.IsEmpty) return;
        long count = (long)n * hw;
        T k = training ? T.CreateTruncating(dot) * r * r / T.CreateTruncating(count) : T.Zero;
        T gMean = training ? T.CreateTruncating(sumG / count) : T.Zero;
        for (int i = 0; i < n; i++)
        {
            int off = (i * c + ch) * hw;
            if (!y.IsEmpty) BnGradInputMasked(g.Slice(off, hw), y.Slice(off, hw), x.Slice(off, hw), mu, k, gMean, r, gamma, gx.Slice(off, hw), training);
            else if (training) BnGradInputTrain(g.Slice(off, hw), x.Slice(off, hw), mu, k, gMean, r, gamma, gx.Slice(off, hw));
            else BnGradInputEval(g.Slice(off, hw), r, gamma, gx.Slice(off, hw));
        }
    }

    // sum (x - mu)^2 over a block, vector lanes then the tail.
    private static T BnSumSquaredDeviation<T>(ReadOnlySpan<T> x, T mu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        var vmu = new Vector<T>(mu);
        var acc = Vector<T>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var d = Vector.LoadUnsafe(ref xr, (nuint)i) - vmu;
            acc += d * d;
        }
        T s = Vector.Sum(acc);
        for (; i < x.Length; i++)
        {
            T d = x[i] - mu;
            s += d * d;
        }
        return s;
    }

    // (sum g, sum g (x - mu)) over a block.
    private static (T SumG, T Dot) BnGradSums<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T mu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T xr = ref MemoryMarshal.GetReference(x);
        var vmu = new Vector<T>(mu);
        Vector<T> accG = Vector<T>.Zero, accD = Vector<T>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var gv = Vector.LoadUnsafe(ref gr, (nuint)i);
            accG += gv;
            accD += gv * (Vector.LoadUnsafe(ref xr, (nuint)i) - vmu);
        }
        T sg = Vector.Sum(accG), sd = Vector.Sum(accD);
        for (; i < x.Length; i++)
        {
            sg += g[i];
            sd += g[i] * (x[i] - mu);
        }
        return (sg, sd);
    }

    // y = x * a + b (two roundings, as PyTorch's CPU kernel).
    private static void BnScaleShift<T>(ReadOnlySpan<T> x, T a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        Vector<T> va = new(a), vb = new(b);
        int i = 0;
        for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count) (Vector.LoadUnsafe(ref xr, (nuint)i) * va + vb).StoreUnsafe(ref yr, (nuint)i);
        for (; i < x.Length; i++) y[i] = x[i] * a + b;
    }

    // dx = ((g - gMean - (x - mu) k) * r) * gamma.
    private static void BnGradInputTrain<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T mu, T k, T gMean, T r, T gamma, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(dx);
        Vector<T> vmu = new(mu), vk = new(k), vgm = new(gMean), vr = new(r), vw = new(gamma);
        int i = 0;
        for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var d = Vector.LoadUnsafe(ref gr, (nuint)i) - vgm - (Vector.LoadUnsafe(ref xr, (nuint)i) - vmu) * vk;
            (d * vr * vw).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < x.Length; i++) dx[i] = (g[i] - gMean - (x[i] - mu) * k) * r * gamma;
    }

    // dx = (g * r) * gamma.
    private static void BnGradInputEval<T>(ReadOnlySpan<T> g, T r, T gamma, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T dr = ref MemoryMarshal.GetReference(dx);
        Vector<T> vr = new(r), vw = new(gamma);
        int i = 0;
        for (; i <= g.Length - Vector<T>.Count; i += Vector<T>.Count) (Vector.LoadUnsafe(ref gr, (nuint)i) * vr * vw).StoreUnsafe(ref dr, (nuint)i);
        for (; i < g.Length; i++) dx[i] = g[i] * r * gamma;
    }
}
