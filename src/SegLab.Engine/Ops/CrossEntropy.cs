// Cross-entropy over class logits [N, C, H, W] (or [N, C], or [N, C, d1, ...]) against integer class ids stored as
// floats, PyTorch's semantics (F.cross_entropy = nll_loss(log_softmax(x, 1))):
//   loss_i = -w[y_i] * log_softmax(x_i)[y_i]; pixels whose target is ignoreIndex contribute 0 (also with None);
//   Sum adds the kept losses; Mean divides that sum by the sum of w[y_i] over the kept pixels, so a batch whose
//   pixels are all ignored gives 0/0 = NaN (PyTorch's result) and a zero gradient.
// Fused hand-written kernels; the logits are read plane by plane (channel c of image n is a contiguous run of
// H*W values), in chunks of pixels that stay in L1, vectorised across the chunk, chunks spread over threads:
//   forward:  m = max_c x[c];  s = log sum_c exp(x[c] - m);  loss = w[y] * (s - (x[y] - m))   (log_softmax's order)
//   backward: dx[c] = k * exp((x[c] - m) - s) - k * [c == y],  k = g * w[y] (/ sum w for Mean), k = 0 where ignored
// Nothing of size N*C*H*W is allocated besides the gradient; the forward keeps m and s ([N, H*W] each) for backward.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

/// <summary>How a per-element loss is reduced.</summary>
public enum Reduction
{
    /// <summary>No reduction: one value per pixel (0 at ignored pixels).</summary>
    None,

    /// <summary>Sum of the kept losses divided by the sum of their class weights (NaN when every pixel is ignored).</summary>
    Mean,

    /// <summary>Sum over kept pixels.</summary>
    Sum,
}

public static partial class Ops
{
    /// <summary>Pixels per work item of the cross-entropy kernels: a chunk's scratch rows stay in L1.</summary>
    private const int CeChunk = 1024;

    /// <summary>
    /// Cross-entropy of logits [N, C, ...] against class ids [N, ...] (floats holding exact integers), as PyTorch's
    /// <c>F.cross_entropy</c>. With <see cref="Reduction.Mean"/> and every pixel ignored the result is NaN (as PyTorch).
    /// </summary>
    /// <param name="logits">Class scores [N, C, H, W] or [N, C].</param>
    /// <param name="target">Class ids [N, H, W] or [N], in [0, C) or equal to <paramref name="ignoreIndex"/>. Receives no gradient.</param>
    /// <param name="ignoreIndex">Target value whose pixels are skipped.</param>
    /// <param name="classWeights">Optional weights [C]. Receive no gradient.</param>
    /// <param name="reduction">Mean (default), Sum, or None ([N, H, W]).</param>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, int ignoreIndex = -100, Tensor? classWeights = null, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        if (logits.Rank < 2) throw new ArgumentException($"cross_entropy: logits need [N, C, ...], got {Shapes.Format(logits.Shape)}.");
        if (!Enum.IsDefined(reduction)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "cross_entropy: unknown reduction");
        int n = logits.Dims[0], c = logits.Dims[1];
        if (c == 0) throw new ArgumentException($"cross_entropy: logits {Shapes.Format(logits.Shape)} have no classes.");
        int s = logits.Numel / Math.Max(1, n * c);
        var expected = new int[logits.Rank - 1];
        expected[0] = n;
        for (int i = 2; i < logits.Rank; i++) expected[i - 1] = logits.Dims[i];
        if (!Shapes.Equal(target.Shape, expected))
            throw new ArgumentException($"cross_entropy: target {Shapes.Format(target.Shape)} does not match logits {Shapes.Format(logits.Shape)} (expected {Shapes.Format(expected)}).");
        if (classWeights is not null && (classWeights.Rank != 1 || classWeights.Numel != c))
            throw new ArgumentException($"cross_entropy: class weights {Shapes.Format(classWeights.Shape)} do not fit the {c} classes of logits {Shapes.Format(logits.Shape)}.");

        // Labels (-1 where ignored) and the Mean denominator, in one pass over the targets. The ints live in a float32
        // tensor's storage, which the tensor pools serve (a fresh int array was 512 KB of new pages per training step
        // at batch 8 of 128x128).
        var labelStore = Tensor.Uninitialized(DType.Float32, [n * s]);
        Span<int> labels = MemoryMarshal.Cast<float, int>(labelStore.Buf<float>());
        double[]? w = classWeights?.ToArrayF64();
        double weightSum = target.DType == DType.Float32
            ? CeLabels<float>(target.Buf<float>(), labels, w, ignoreIndex, c)
            : CeLabels<double>(target.Buf<double>(), labels, w, ignoreIndex, c);

        int chunks = (s + CeChunk - 1) / CeChunk, items = n * chunks;
        var stats = Tensor.Uninitialized(logits.DType, [2, n * s]); // row 0: max over classes, row 1: log sum exp(x - max)
        var perPixel = reduction == Reduction.None ? Tensor.Uninitialized(logits.DType, expected) : null;
        var partial = reduction == Reduction.None ? null : new double[items];
        long work = (long)c * Math.Min(s, CeChunk) * 24;
        if (logits.DType == DType.Float32)
        {
            var wt = CeWeights<float>(w);
            Parallelism.For(items, work, item => CeForward(logits.Buf<float>(), Labels(labelStore), wt, stats.Buf<float>(), perPixel is null ? default : perPixel.Buf<float>(), partial, item, chunks, n, c, s));
        }
        else
        {
            var wt = CeWeights<double>(w);
            Parallelism.For(items, work, item => CeForward(logits.Buf<double>(), Labels(labelStore), wt, stats.Buf<double>(), perPixel is null ? default : perPixel.Buf<double>(), partial, item, chunks, n, c, s));
        }

        Tensor y;
        if (perPixel is not null) y = perPixel;
        else
        {
            double total = 0;
            foreach (double p in partial!) total += p; // fixed order: the result does not depend on the threads
            y = Tensor.Full(logits.DType, reduction == Reduction.Sum ? total : total / weightSum, []);
        }
        if (!GradMode.Needs(logits)) return y;
        return Tape.Record(y, "cross_entropy", [logits], g =>
        {
            var gx = Tensor.Uninitialized(logits.DType, logits.Dims);
            double scale = reduction == Reduction.Mean ? 1.0 / weightSum : 1.0;
            bool perPixelGrad = reduction == Reduction.None;
            if (logits.DType == DType.Float32)
            {
                var wt = CeWeights<float>(w);
                Parallelism.For(items, work, item => CeBackward(logits.Buf<float>(), stats.Buf<float>(), Labels(labelStore), wt, g.Buf<float>(), perPixelGrad, (float)scale, gx.Buf<float>(), item, chunks, n, c, s));
            }
            else
            {
                var wt = CeWeights<double>(w);
                Parallelism.For(items, work, item => CeBackward(logits.Buf<double>(), stats.Buf<double>(), Labels(labelStore), wt, g.Buf<double>(), perPixelGrad, scale, gx.Buf<double>(), item, chunks, n, c, s));
            }
            return [gx];
        });
    }

    private static ReadOnlySpan<int> Labels(Tensor store) => MemoryMarshal.Cast<float, int>(store.Buf<float>());

    // target: [N*S] class ids as floats -> labels [N*S] (-1 where ignored); returns the sum of w[y] over kept pixels.
    private static double CeLabels<TT>(ReadOnlySpan<TT> target, Span<int> labels, double[]? w, int ignoreIndex, int c)
        where TT : unmanaged, IFloatingPointIeee754<TT>
    {
        double weightSum = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            double v = double.CreateTruncating(target[i]);
            int id = (int)v; // saturating; NaN -> 0, caught by the exactness test
            if (id != v || (id != ignoreIndex && (uint)id >= (uint)c))
                throw new ArgumentException($"cross_entropy: target value {v} at flat position {i} is not a class id in [0, {c}) ({c} classes) nor the ignore index {ignoreIndex}.");
            if (id == ignoreIndex)
            {
                labels[i] = -1;
                continue;
            }
            labels[i] = id;
            weightSum += w is null ? 1 : w[id];
        }
        return weightSum;
    }

    private static T[]? CeWeights<T>(double[]? w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (w is null) return null;
        var r = new T[w.Length];
        for (int i = 0; i < w.Length; i++) r[i] = T.CreateTruncating(w[i]);
        return r;
    }

    // x: [N, C, S] -> stats: [2, N*S] (max, log-sum-exp of x - max), loss: [N*S] (None) or partial[item] (reductions).
    // One item is image `item / chunks`, pixels [p0, p0 + len) of its planes.
    private static void CeForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> labels, T[]? w, Span<T> stats, Span<T> loss, double[]? partial,
        int item, int chunks, int n, int c, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int img = item / chunks, p0 = item % chunks * CeChunk, len = Math.Min(CeChunk, s - p0);
        int pix = img * s + p0;
        var max = stats.Slice(pix, len);
        var lse = stats.Slice(n * s + pix, len);
        var lab = labels.Slice(pix, len);
        int plane0 = img * c * s + p0;
        if (s == 1)
        {
            // [N, C]: one contiguous row of C logits.
            var row = x.Slice(plane0, c);
            T m = TensorPrimitives.Max(row);
            Span<T> tmp = c <= 4 * CeChunk ? stackalloc T[c] : new T[c];
            TensorPrimitives.Subtract(row, m, tmp);
            TensorPrimitives.Exp(tmp, tmp);
            max[0] = m;
            lse[0] = T.Log(TensorPrimitives.Sum<T>(tmp));
        }
        else
        {
            Span<T> tmp = stackalloc T[len];
            x.Slice(plane0, len).CopyTo(max);
            for (int ch = 1; ch < c; ch++) TensorPrimitives.Max(max, x.Slice(plane0 + ch * s, len), max);
            lse.Clear();
            for (int ch = 0; ch < c; ch++) CeAddExp(x.Slice(plane0 + ch * s, len), max, lse, tmp);
            TensorPrimitives.Log(lse, lse);
        }
        double acc = 0;
        for (int k = 0; k < len; k++)
        {
            int y = lab[k];
            T l = T.Zero;
            if (y >= 0)
            {
                l = lse[k] - (x[plane0 + y * s + k] - max[k]);
                if (w is not null) l *= w[y];
            }
            if (partial is null) loss[pix + k] = l;
            else acc += double.CreateTruncating(l);
        }
        if (partial is not null) partial[item] = acc;
    }

    // x, gx: [N, C, S]; stats: [2, N*S]; g: [N*S] (None) or [1].
    private static void CeBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> stats, ReadOnlySpan<int> labels, T[]? w, ReadOnlySpan<T> g, bool perPixelGrad, T scale,
        Span<T> gx, int item, int chunks, int n, int c, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int img = item / chunks, p0 = item % chunks * CeChunk, len = Math.Min(CeChunk, s - p0);
        int pix = img * s + p0;
        var max = stats.Slice(pix, len);
        var lse = stats.Slice(n * s + pix, len);
        var lab = labels.Slice(pix, len);
        int plane0 = img * c * s + p0;
        Span<T> coef = stackalloc T[len];
        for (int k = 0; k < len; k++)
        {
            int y = lab[k];
            coef[k] = y < 0 ? T.Zero : (perPixelGrad ? g[pix + k] : g[0] * scale) * (w is null ? T.One : w[y]);
        }
        if (s == 1)
        {
            var d = gx.Slice(plane0, c);
            TensorPrimitives.Subtract(x.Slice(plane0, c), max[0], d);
            TensorPrimitives.Subtract(d, lse[0], d);
            TensorPrimitives.Exp(d, d);
            TensorPrimitives.Multiply(d, coef[0], d);
        }
        else
        {
            for (int ch = 0; ch < c; ch++) CeScaledSoftmax(x.Slice(plane0 + ch * s, len), max, lse, coef, gx.Slice(plane0 + ch * s, len));
        }
        for (int k = 0; k < len; k++)
        {
            int y = lab[k];
            if (y >= 0) gx[plane0 + y * s + k] -= coef[k];
        }
    }

    /// <summary>Whether the float32 kernels may use the AVX2+FMA exponential below.</summary>
    private static bool CeFastExp => Avx2.IsSupported && Fma.IsSupported;

    // acc += exp(x - m) over a chunk (tmp: scratch of the same length for the generic path).
    private static void CeAddExp<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> m, Span<T> acc, Span<T> tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && CeFastExp)
        {
            var xf = MemoryMarshal.Cast<T, float>(x);
            var mf = MemoryMarshal.Cast<T, float>(m);
            var af = MemoryMarshal.Cast<T, float>(acc);
            ref float xr = ref MemoryMarshal.GetReference(xf);
            ref float mr = ref MemoryMarshal.GetReference(mf);
            ref float ar = ref MemoryMarshal.GetReference(af);
            int i = 0;
            for (; i <= xf.Length - 8; i += 8)
            {
                var e = ExpAvx2(Vector256.LoadUnsafe(ref xr, (nuint)i) - Vector256.LoadUnsafe(ref mr, (nuint)i));
                (Vector256.LoadUnsafe(ref ar, (nuint)i) + e).StoreUnsafe(ref ar, (nuint)i);
            }
            for (; i < xf.Length; i++) af[i] += MathF.Exp(xf[i] - mf[i]);
            return;
        }
        TensorPrimitives.Subtract(x, m, tmp);
        TensorPrimitives.Exp(tmp, tmp);
        TensorPrimitives.Add(acc, tmp, acc);
    }

    // d = exp((x - m) - s) * k over a chunk: the log-softmax's exponential times the per-pixel coefficient.
    private static void CeScaledSoftmax<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> m, ReadOnlySpan<T> s, ReadOnlySpan<T> k, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && CeFastExp)
        {
            var xf = MemoryMarshal.Cast<T, float>(x);
            var mf = MemoryMarshal.Cast<T, float>(m);
            var sf = MemoryMarshal.Cast<T, float>(s);
            var kf = MemoryMarshal.Cast<T, float>(k);
            var df = MemoryMarshal.Cast<T, float>(d);
            ref float xr = ref MemoryMarshal.GetReference(xf);
            ref float mr = ref MemoryMarshal.GetReference(mf);
            ref float sr = ref MemoryMarshal.GetReference(sf);
            ref float kr = ref MemoryMarshal.GetReference(kf);
            ref float dr = ref MemoryMarshal.GetReference(df);
            int i = 0;
            for (; i <= xf.Length - 8; i += 8)
            {
                var z = Vector256.LoadUnsafe(ref xr, (nuint)i) - Vector256.LoadUnsafe(ref mr, (nuint)i) - Vector256.LoadUnsafe(ref sr, (nuint)i);
                (ExpAvx2(z) * Vector256.LoadUnsafe(ref kr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            }
            for (; i < xf.Length; i++) df[i] = MathF.Exp(xf[i] - mf[i] - sf[i]) * kf[i];
            return;
        }
        TensorPrimitives.Subtract(x, m, d);
        TensorPrimitives.Subtract(d, s, d);
        TensorPrimitives.Exp(d, d);
        TensorPrimitives.Multiply(d, k, d);
    }

    // e^x for 8 floats (Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, scale by 2^n), about 1 ulp;
    // below -87.5 the result is 0 (e^x is then a denormal under 1e-38), above 88.72 it is infinity, NaN stays NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpAvx2(Vector256<float> x)
    {
        var xc = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.5f)), Vector256.Create(88.0f));
        var n = Avx.RoundToNearestInteger(xc * Vector256.Create(1.44269504088896341f));
        var r = Fma.MultiplyAdd(n, Vector256.Create(-0.693359375f), xc);
        r = Fma.MultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.Create(1.9875691500E-4f);
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1.3981999507E-3f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(8.3334519073E-3f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(4.1665795894E-2f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1.6666665459E-1f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(5.0000001201E-1f));
        p = Fma.MultiplyAdd(p, r * r, r) + Vector256<float>.One;
        var scale = Avx2.ShiftLeftLogical(Avx2.Add(Avx.ConvertToVector256Int32(n), Vector256.Create(127)), 23).AsSingle();
        var e = p * scale;
        e = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(-87.5f)), Vector256<float>.Zero, e);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(88.7228394f)), Vector256.Create(float.PositiveInfinity), e);
    }
}
