// Batch normalisation over NCHW (Ioffe and Szegedy 2015) with hand-written forward and backward, PyTorch's semantics:
// training normalises with the batch's biased variance and moves the running statistics towards the batch's
// mean and unbiased variance by `momentum`; evaluation uses the running statistics.
//   train backward: dx = gamma * rstd / M * (M g - sum g - xhat * sum(g xhat)),  dgamma = sum g xhat,  dbeta = sum g
//   eval backward:  dx = g * gamma * rstd
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Batch normalisation of [N, C, H, W] (or [N, C]) over all axes but the channel axis.</summary>
    /// <param name="x">Input.</param>
    /// <param name="weight">Scale [C] or null.</param>
    /// <param name="bias">Shift [C] or null.</param>
    /// <param name="runningMean">Running mean [C], updated in place in training mode.</param>
    /// <param name="runningVar">Running variance [C], updated in place in training mode.</param>
    /// <param name="training">Use batch statistics (and update the running ones).</param>
    /// <param name="momentum">Weight of the batch statistics in the running update.</param>
    /// <param name="eps">Added to the variance.</param>
    public static Tensor BatchNorm2d(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, bool training, double momentum = 0.1, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        if (x.Rank < 2) throw new ArgumentException($"batch_norm: input needs at least [N, C], got {Shapes.Format(x.Shape)}.");
        int n = x.Dims[0], c = x.Dims[1], hw = x.Numel / Math.Max(1, n * c);
        foreach (var (name, t) in new[] { ("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar) })
            if (t is not null && (t.Numel != c || t.DType != x.DType))
                throw new ArgumentException($"batch_norm: {name} {Shapes.Format(t.Shape)} ({t.DType}) does not fit {c} channels of input {Shapes.Format(x.Shape)} ({x.DType}).");
        long m = (long)n * hw;
        if (training && m < 2) throw new ArgumentException($"batch_norm: training needs more than one value per channel, got input {Shapes.Format(x.Shape)}.");

        var y = Tensor.Uninitialized(x.DType, x.Dims);
        var mean = Tensor.Uninitialized(x.DType, [c]);
        var rstd = Tensor.Uninitialized(x.DType, [c]);
        if (x.DType == DType.Float32)
            BnForward(x.Buf<float>(), Opt<float>(weight), Opt<float>(bias), runningMean.Buf<float>(), runningVar.Buf<float>(), y.Buf<float>(), mean.Buf<float>(), rstd.Buf<float>(), n, c, hw, training, (float)momentum, (float)eps);
        else
            BnForward(x.Buf<double>(), Opt<double>(weight), Opt<double>(bias), runningMean.Buf<double>(), runningVar.Buf<double>(), y.Buf<double>(), mean.Buf<double>(), rstd.Buf<double>(), n, c, hw, training, momentum, eps);

        var inputs = weight is null ? (bias is null ? new[] { x } : [x, bias]) : bias is null ? [x, weight] : [x, weight, bias];
        if (!GradMode.Needs(inputs)) return y;
        return Tape.Record(y, "batch_norm", inputs, g =>
        {
            var gx = x.RequiresGrad ? Tensor.Uninitialized(x.DType, x.Dims) : null;
            var gw = weight is { RequiresGrad: true } ? Tensor.Uninitialized(x.DType, [c]) : null;
            var gb = bias is { RequiresGrad: true } ? Tensor.Uninitialized(x.DType, [c]) : null;
            if (x.DType == DType.Float32)
                BnBackward(g.Buf<float>(), x.Buf<float>(), Opt<float>(weight), mean.Buf<float>(), rstd.Buf<float>(), gx is null ? default : gx.Buf<float>(), gw is null ? default : gw.Buf<float>(), gb is null ? default : gb.Buf<float>(), n, c, hw, training, gx is not null, gw is not null, gb is not null);
            else
                BnBackward(g.Buf<double>(), x.Buf<double>(), Opt<double>(weight), mean.Buf<double>(), rstd.Buf<double>(), gx is null ? default : gx.Buf<double>(), gw is null ? default : gw.Buf<double>(), gb is null ? default : gb.Buf<double>(), n, c, hw, training, gx is not null, gw is not null, gb is not null);
            var grads = new List<Tensor?> { gx };
            if (weight is not null) grads.Add(gw);
            if (bias is not null) grads.Add(gb);
            return grads.ToArray();
        });
    }

    private static Span<T> Opt<T>(Tensor? t) where T : unmanaged => t is null ? default : t.Buf<T>();

    // x, y: [N, C, HW]; per channel: statistics (training) or running statistics (eval), then y = x * s + t.
    private static void BnForward<T>(ReadOnlySpan<T> x, Span<T> w, Span<T> b, Span<T> runMean, Span<T> runVar, Span<T> y, Span<T> mean, Span<T> rstd,
        int n, int c, int hw, bool training, T momentum, T eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T count = T.CreateTruncating((long)n * hw);
        for (int ch = 0; ch < c; ch++)
        {
            T mu, var;
            if (training)
            {
                T s = T.Zero;
                for (int i = 0; i < n; i++) s += TensorPrimitives.Sum(x.Slice((i * c + ch) * hw, hw));
                mu = s / count;
                T ss = T.Zero;
                for (int i = 0; i < n; i++)
                {
                    var plane = x.Slice((i * c + ch) * hw, hw);
                    for (int k = 0; k < hw; k++)
                    {
                        T d = plane[k] - mu;
                        ss += d * d;
                    }
                }
                var = ss / count;
                runMean[ch] = (T.One - momentum) * runMean[ch] + momentum * mu;
                runVar[ch] = (T.One - momentum) * runVar[ch] + momentum * (ss / (count - T.One));
            }
            else
            {
                mu = runMean[ch];
                var = runVar[ch];
            }
            T r = T.One / T.Sqrt(var + eps);
            mean[ch] = mu;
            rstd[ch] = r;
            T scale = (w.IsEmpty ? T.One : w[ch]) * r;
            T shift = (b.IsEmpty ? T.Zero : b[ch]) - mu * scale;
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * hw;
                TensorPrimitives.Multiply(x.Slice(off, hw), scale, y.Slice(off, hw));
                TensorPrimitives.Add(y.Slice(off, hw), shift, y.Slice(off, hw));
            }
        }
    }

    private static void BnBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> w, ReadOnlySpan<T> mean, ReadOnlySpan<T> rstd,
        Span<T> gx, Span<T> gw, Span<T> gb, int n, int c, int hw, bool training, bool needX, bool needW, bool needB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T count = T.CreateTruncating((long)n * hw);
        for (int ch = 0; ch < c; ch++)
        {
            T mu = mean[ch], r = rstd[ch];
            T sumG = T.Zero, sumGX = T.Zero; // sum g, sum g * (x - mu)
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * hw;
                var gs = g.Slice(off, hw);
                var xs = x.Slice(off, hw);
                sumG += TensorPrimitives.Sum(gs);
                T dot = TensorPrimitives.Dot(gs, xs);
                sumGX += dot - mu * TensorPrimitives.Sum(gs);
            }
            T gamma = w.IsEmpty ? T.One : w[ch];
            if (needW) gw[ch] = sumGX * r;
            if (needB) gb[ch] = sumG;
            if (!needX) continue;
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * hw;
                var gs = g.Slice(off, hw);
                var xs = x.Slice(off, hw);
                var d = gx.Slice(off, hw);
                if (!training)
                {
                    TensorPrimitives.Multiply(gs, gamma * r, d);
                    continue;
                }
                // dx = gamma r / M (M g - sumG - (x - mu) r^2 sumGX)
                T a = gamma * r, k1 = sumG / count, k2 = r * r * sumGX / count;
                for (int j = 0; j < hw; j++) d[j] = a * (gs[j] - k1 - (xs[j] - mu) * k2);
            }
        }
    }
}
