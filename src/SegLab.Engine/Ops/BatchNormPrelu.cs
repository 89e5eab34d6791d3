// Eval-mode batch norm fused with the PReLU that follows it (CGNet's and ESPNet's "BN + PReLU" pair, oneDNN's
// post-op idea): one pass over each channel plane instead of two passes and two output arrays. Both models apply
// the pair to a concatenation along channels: CatBatchNormPrelu reads the parts where they are, so the
// concatenated tensor is never written (channel ch of the output is channel ch - offset of its part).
//   forward:  z = x s + t  (s = gamma / sqrt(var + eps), t = beta - mean s),  y = max(z, 0) + a min(z, 0)
//   backward: gz = g (z > 0 ? 1 : a);  dx = gz s;  dgamma = sum gz (x - mean) / sqrt(var + eps);  dbeta = sum gz;
//             da = sum g min(z, 0)
//   under BackwardRules.Guided: the same with max(g, 0) for g (guided backpropagation, as the unfused PReLU)
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>PReLU(BatchNorm2d(x)) with running statistics (evaluation mode), in one pass.</summary>
    /// <param name="x">[N, C, ...].</param>
    /// <param name="weight">Batch-norm scale [C] or null.</param>
    /// <param name="bias">Batch-norm shift [C] or null.</param>
    /// <param name="runningMean">Running mean [C].</param>
    /// <param name="runningVar">Running variance [C].</param>
    /// <param name="preluWeight">PReLU slopes [1] or [C].</param>
    /// <param name="eps">Added to the variance.</param>
    public static Tensor BatchNormPrelu(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, Tensor preluWeight, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(x);
        return CatBatchNormPrelu([x], weight, bias, runningMean, runningVar, preluWeight, eps);
    }

    /// <summary>
    /// PReLU(BatchNorm2d(Cat(parts, 1))) with running statistics (evaluation mode), in one pass that reads each
    /// part in place: the concatenation is never materialised.
    /// </summary>
    /// <param name="parts">[N, C_i, ...] tensors of one type and the same sizes except the channels.</param>
    /// <param name="weight">Batch-norm scale [C] (C = sum of C_i) or null.</param>
    /// <param name="bias">Batch-norm shift [C] or null.</param>
    /// <param name="runningMean">Running mean [C].</param>
    /// <param name="runningVar">Running variance [C].</param>
    /// <param name="preluWeight">PReLU slopes [1] or [C].</param>
    /// <param name="eps">Added to the variance.</param>
    public static Tensor CatBatchNormPrelu(IReadOnlyList<Tensor> parts, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, Tensor preluWeight, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        ArgumentNullException.ThrowIfNull(preluWeight);
        if (parts.Count == 0) throw new ArgumentException("batch_norm_prelu: no input.");
        var x0 = parts[0] ?? throw new ArgumentNullException(nameof(parts));
        if (x0.Rank < 2) throw new ArgumentException($"batch_norm_prelu: input needs at least [N, C], got {Shapes.Format(x0.Shape)}.");
        int n = x0.Dims[0], hw = x0.Numel / Math.Max(1, n * x0.Dims[1]);
        // output channel ch comes from part partOf[ch], channel ch - offsets[partOf[ch]]
        var offsets = new int[parts.Count];
        int c = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var p = parts[i] ?? throw new ArgumentNullException(nameof(parts));
            bool fits = p.Rank == x0.Rank && p.DType == x0.DType && p.Dims[0] == n;
            for (int d = 2; fits && d < p.Rank; d++) fits = p.Dims[d] == x0.Dims[d];
            if (!fits)
                throw new ArgumentException($"batch_norm_prelu: part {i} {Shapes.Format(p.Shape)} ({p.DType}) does not concatenate with part 0 {Shapes.Format(x0.Shape)} ({x0.DType}) along channels.");
            offsets[i] = c;
            c += p.Dims[1];
        }
        var partOf = new int[c];
        for (int i = 0; i < parts.Count; i++) Array.Fill(partOf, i, offsets[i], parts[i].Dims[1]);
        string shapes = parts.Count == 1 ? $"input {Shapes.Format(x0.Shape)}" : $"{parts.Count} inputs of {c} channels in all";
        foreach (var (name, t) in new[] { ("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar) })
            if (t is not null && (t.Numel != c || t.DType != x0.DType))
                throw new ArgumentException($"batch_norm_prelu: {name} {Shapes.Format(t.Shape)} ({t.DType}) does not fit {c} channels of {shapes} ({x0.DType}).");
        if ((preluWeight.Numel != 1 && preluWeight.Numel != c) || preluWeight.DType != x0.DType)
            throw new ArgumentException($"batch_norm_prelu: PReLU weight {Shapes.Format(preluWeight.Shape)} fits neither one slope nor {c} channels.");

        // Per-channel affine in float64, as batch norm's evaluation path computes it.
        var s = new double[c];
        var t0 = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double r = 1.0 / Math.Sqrt(runningVar.GetFlat(ch) + eps);
            s[ch] = (weight?.GetFlat(ch) ?? 1) * r;
            t0[ch] = (bias?.GetFlat(ch) ?? 0) - runningMean.GetFlat(ch) * s[ch];
        }
        var a = new double[c];
        for (int ch = 0; ch < c; ch++) a[ch] = preluWeight.GetFlat(preluWeight.Numel == 1 ? 0 : ch);
        var outDims = x0.ShapeArray();
        outDims[1] = c;
        var y = Tensor.Uninitialized(x0.DType, outDims);
        var pc = new Plane[c];
        for (int ch = 0; ch < c; ch++) pc[ch] = new Plane(ch - offsets[partOf[ch]], parts[partOf[ch]].Dims[1], ch, c);
        if (x0.DType == DType.Float32)
            Parallelism.For(c, 4L * n * hw, ch => FusedForward(parts[partOf[ch]].Buf<float>(), y.Buf<float>(), (float)s[ch], (float)t0[ch], (float)a[ch], pc[ch], n, hw));
        else
            Parallelism.For(c, 4L * n * hw, ch => FusedForward(parts[partOf[ch]].Buf<double>(), y.Buf<double>(), s[ch], t0[ch], a[ch], pc[ch], n, hw));

        Tensor[] inputs = [.. parts, runningMean, runningVar, preluWeight, .. weight is null ? Array.Empty<Tensor>() : [weight], .. bias is null ? Array.Empty<Tensor>() : [bias]];
        if (!GradMode.Needs(inputs)) return y;
        var mean = runningMean.ToArrayF64();
        var var = runningVar.ToArrayF64();
        int k = parts.Count;
        return Tape.Record(y, "batch_norm_prelu", inputs, g =>
        {
            g = BackwardRules.Rectifier(g, parametric: true); // guided backpropagation through the fused PReLU
            var gxs = new Tensor?[k];
            for (int i = 0; i < k; i++) gxs[i] = Tape.Wants(parts[i]) ? Tensor.Uninitialized(x0.DType, parts[i].Dims) : null;
            // per channel: sum gz, sum gz (x - mean), sum g min(z, 0); only when a parameter gradient is wanted
            var sums = Tape.Wants(preluWeight) || Tape.Wants(weight) || Tape.Wants(bias) ? new double[c * 3] : null;
            if (x0.DType == DType.Float32)
                Parallelism.For(c, 8L * n * hw, ch => FusedBackward(parts[partOf[ch]].Buf<float>(), g.Buf<float>(), gxs[partOf[ch]] is { } gx ? gx.Buf<float>() : default, (float)s[ch], (float)t0[ch], (float)a[ch], (float)mean[ch], sums, pc[ch], n, hw));
            else
                Parallelism.For(c, 8L * n * hw, ch => FusedBackward(parts[partOf[ch]].Buf<double>(), g.Buf<double>(), gxs[partOf[ch]] is { } gx ? gx.Buf<double>() : default, s[ch], t0[ch], a[ch], mean[ch], sums, pc[ch], n, hw));
            Tensor? gp = null, gw = null, gb = null;
            if (Tape.Wants(preluWeight))
            {
                gp = Tensor.Zeros(x0.DType, preluWeight.Dims);
                for (int ch = 0; ch < c; ch++) gp.SetFlat(preluWeight.Numel == 1 ? 0 : ch, gp.GetFlat(preluWeight.Numel == 1 ? 0 : ch) + sums![ch * 3 + 2]);
            }
            if (Tape.Wants(weight))
            {
                gw = Tensor.Zeros(x0.DType, weight.Dims);
                for (int ch = 0; ch < c; ch++) gw.SetFlat(ch, sums![ch * 3 + 1] / Math.Sqrt(var[ch] + eps));
            }
            if (Tape.Wants(bias))
            {
                gb = Tensor.Zeros(x0.DType, bias.Dims);
                for (int ch = 0; ch < c; ch++) gb.SetFlat(ch, sums![ch * 3]);
            }
            var grads = new List<Tensor?>(gxs) { null, null, gp };
            if (weight is not null) grads.Add(gw);
            if (bias is not null) grads.Add(gb);
            return grads.ToArray();
        });
    }

    /// <summary>Where one output channel's planes are: channel XCh of a part with XC channels, channel YCh of the output's YC.</summary>
    private readonly record struct Plane(int XCh, int XC, int YCh, int YC);

    // x: [N, XC, HW] (a part), y: [N, YC, HW]; plane XCh of x -> plane YCh of y: z = x s + t, y = z > 0 ? z : a z
    // (Vector<T> lanes, scalar tail)
    private static void FusedForward<T>(ReadOnlySpan<T> x, Span<T> y, T s, T t, T a, Plane pl, int n, int hw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var vs = new Vector<T>(s);
        var vt = new Vector<T>(t);
        var va = new Vector<T>(a);
        int lanes = Vector<T>.Count;
        for (int i = 0; i < n; i++)
        {
            var xs = x.Slice((i * pl.XC + pl.XCh) * hw, hw);
            var ys = y.Slice((i * pl.YC + pl.YCh) * hw, hw);
            int k = 0;
            for (; k <= hw - lanes; k += lanes)
            {
                var z = new Vector<T>(xs.Slice(k)) * vs + vt;
                Vector.ConditionalSelect(Vector.GreaterThan(z, Vector<T>.Zero), z, z * va).CopyTo(ys.Slice(k));
            }
            for (; k < hw; k++)
            {
                T z = xs[k] * s + t;
                ys[k] = z > T.Zero ? z : a * z;
            }
        }
    }

    // x, gx: [N, XC, HW] (a part), g: [N, YC, HW]; plane XCh of x and gx, plane YCh of g: gz = z > 0 ? g : a g,
    // gx = gz s; sums (only when wanted, for the parameter gradients) of output channel YCh: sum gz, sum gz (x - mean),
    // sum_{z <= 0} g z. Vector<T> lanes; the lane sums are flushed into float64 every 1024 elements so long planes
    // keep float64-like accuracy.
    private static void FusedBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> g, Span<T> gx, T s, T t, T a, T mean, double[]? sums, Plane pl, int n, int hw)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var vs = new Vector<T>(s);
        var vt = new Vector<T>(t);
        var va = new Vector<T>(a);
        var vm = new Vector<T>(mean);
        int lanes = Vector<T>.Count;
        double sumGz = 0, sumGzX = 0, sumGNeg = 0;
        for (int i = 0; i < n; i++)
        {
            int off = (i * pl.XC + pl.XCh) * hw;
            var xs = x.Slice(off, hw);
            var gs = g.Slice((i * pl.YC + pl.YCh) * hw, hw);
            var gxs = gx.IsEmpty ? default : gx.Slice(off, hw);
            int k = 0;
            if (sums is null)
            {
                if (gxs.IsEmpty) continue; // nothing wanted from this rule
                for (; k <= hw - lanes; k += lanes)
                {
                    var z = new Vector<T>(xs.Slice(k)) * vs + vt;
                    var gv = new Vector<T>(gs.Slice(k));
                    (Vector.ConditionalSelect(Vector.GreaterThan(z, Vector<T>.Zero), gv, gv * va) * vs).CopyTo(gxs.Slice(k));
                }
            }
            else
            {
                while (k <= hw - lanes)
                {
                    Vector<T> aGz = Vector<T>.Zero, aGzX = Vector<T>.Zero, aNeg = Vector<T>.Zero;
                    int end = Math.Min(hw - lanes, k + 1024);
                    for (; k <= end; k += lanes)
                    {
                        var xv = new Vector<T>(xs.Slice(k));
                        var gv = new Vector<T>(gs.Slice(k));
                        var z = xv * vs + vt;
                        var pos = Vector.GreaterThan(z, Vector<T>.Zero);
                        var gz = Vector.ConditionalSelect(pos, gv, gv * va);
                        if (!gxs.IsEmpty) (gz * vs).CopyTo(gxs.Slice(k));
                        aGz += gz;
                        aGzX += gz * (xv - vm);
                        aNeg += Vector.ConditionalSelect(pos, Vector<T>.Zero, gv * z);
                    }
                    sumGz += double.CreateTruncating(Vector.Sum(aGz));
                    sumGzX += double.CreateTruncating(Vector.Sum(aGzX));
                    sumGNeg += double.CreateTruncating(Vector.Sum(aNeg));
                }
            }
            for (; k < hw; k++)
            {
                T xv = xs[k], gv = gs[k];
                T z = xv * s + t;
                T gz = z > T.Zero ? gv : gv * a;
                if (!gxs.IsEmpty) gxs[k] = gz * s;
                if (sums is null) continue;
                sumGz += double.CreateTruncating(gz);
                sumGzX += double.CreateTruncating(gz * (xv - mean));
                if (z <= T.Zero) sumGNeg += double.CreateTruncating(gv * z);
            }
        }
        if (sums is null) return;
        sums[pl.YCh * 3] = sumGz;
        sums[pl.YCh * 3 + 1] = sumGzX;
        sums[pl.YCh * 3 + 2] = sumGNeg;
    }
}
