// Dense CRF by mean field (Krähenbühl and Koltun, NIPS 2011), as pydensecrf runs it (PAPERS.md C.2), Potts model:
//   Q <- softmax(-U);  N times:  Q <- softmax(-U + sum_m w_m Kn_m Q)   (per label, Kn_m = D^-1/2 K_m D^-1/2, D = K_m 1)
//   Gaussian  K_ij = exp(-|p_i - p_j|^2 / (2 sxy^2))                             (features p / sxy)
//   bilateral K_ij = exp(-|p_i - p_j|^2 / (2 sxy^2) - |I_i - I_j|^2 / (2 srgb^2)) (features p / sxy, I / srgb, I in 0..255)
// with pydensecrf's defaults: symmetric normalisation, self term included, w = compat. Gaussian messages: an exact
// separable blur truncated at 3 sxy; bilateral messages: the permutohedral lattice (PermutohedralLattice.cs; a few
// per cent off the exact kernel, see docs/weak.md). Unaries: -log(clip(p, 1e-5)) (PSA) or unary_from_labels (IRN).
using System.Numerics.Tensors;
using SegLab.Engine;
using SegLab.Engine.Threading;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Weak;

/// <summary>Kernels and iterations of the dense CRF; presets are PSA's and IRN's pydensecrf calls.</summary>
public sealed record DenseCrfOptions
{
    /// <summary>Mean-field iterations (10 in PSA and IRN).</summary>
    public int Iterations { get; init; } = 10;

    /// <summary>Gaussian kernel's spatial standard deviation in pixels.</summary>
    public double GaussianSxy { get; init; } = 3;

    /// <summary>Gaussian kernel's Potts weight (0 switches it off).</summary>
    public double GaussianCompat { get; init; } = 3;

    /// <summary>Bilateral kernel's spatial standard deviation in pixels.</summary>
    public double BilateralSxy { get; init; } = 80;

    /// <summary>Bilateral kernel's colour standard deviation, in 0..255 units.</summary>
    public double BilateralSrgb { get; init; } = 13;

    /// <summary>Bilateral kernel's Potts weight (0 switches it off).</summary>
    public double BilateralCompat { get; init; } = 10;

    /// <summary>The exact Gaussian blur is truncated at this many standard deviations.</summary>
    public double Truncate { get; init; } = 3;

    /// <summary>PSA's tool/imutils.crf_inference: Gaussian sxy 3 compat 3, bilateral sxy 80 srgb 13 compat 10.</summary>
    public static DenseCrfOptions Psa => new();

    /// <summary>IRN's misc/imutils.crf_inference_label: Gaussian sxy 3 compat 3, bilateral sxy 50 srgb 5 compat 10.</summary>
    public static DenseCrfOptions Irn => new() { BilateralSxy = 50, BilateralSrgb = 5 };

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        if (Iterations < 0 || Iterations > 1000) throw new ArgumentException($"CRF: iterations must be in [0, 1000], got {Iterations}.");
        Positive(GaussianSxy, "Gaussian sxy");
        Positive(BilateralSxy, "bilateral sxy");
        Positive(BilateralSrgb, "bilateral srgb");
        Positive(Truncate, "truncate");
        if (!(GaussianCompat >= 0) || double.IsInfinity(GaussianCompat)) throw new ArgumentException($"CRF: Gaussian compat must be a finite number >= 0, got {GaussianCompat}.");
        if (!(BilateralCompat >= 0) || double.IsInfinity(BilateralCompat)) throw new ArgumentException($"CRF: bilateral compat must be a finite number >= 0, got {BilateralCompat}.");
    }

    private static void Positive(double v, string name)
    {
        if (!(v > 0) || double.IsInfinity(v)) throw new ArgumentException($"CRF: {name} must be a finite number > 0, got {v}.");
    }
}

/// <summary>A CRF-refined CAM: per-class marginals and labels.</summary>
/// <param name="Probabilities">[C, H, W] marginals Q of the classes (untagged classes 0).</param>
/// <param name="Background">[H, W] marginal of the background.</param>
/// <param name="Labels">Argmax over background and tagged classes; background pixels carry the background label.</param>
public sealed record CrfResult(Tensor Probabilities, Tensor Background, byte[] Labels);

/// <summary>Dense CRF mean-field inference.</summary>
public static class DenseCrf
{
    /// <summary>PSA's unary: -log(max(p, clip)) of scores [L, H, W] (need not sum to 1).</summary>
    public static Tensor UnaryFromProbabilities(Tensor probabilities, double clip = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Rank != 3) throw new ArgumentException($"CRF: probabilities must be [L, H, W], got {Shapes.Format(probabilities.Shape)}.");
        if (!(clip > 0 && clip < 1)) throw new ArgumentException($"CRF: clip must be in (0, 1), got {clip}.");
        var a = PixelAffinity.Float(probabilities);
        for (int i = 0; i < a.Length; i++)
        {
            if (!(a[i] >= 0)) throw new ArgumentException($"CRF: probability {a[i]} at index {i} is negative or NaN.");
            a[i] = -MathF.Log(Math.Clamp(a[i], (float)clip, 1f));
        }
        return Tensor.FromArray(a, probabilities.ShapeArray());
    }

    /// <summary>
    /// IRN's unary_from_labels (zero_unsure off): -log(gtProb) for a pixel's label, -log((1 - gtProb) / (n - 1))
    /// for the others; <paramref name="labels"/> [H * W] in [0, n).
    /// </summary>
    public static Tensor UnaryFromLabels(int[] labels, int height, int width, int n, double gtProb = 0.7)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length != height * width) throw new ArgumentException($"CRF: {labels.Length} labels for a {height}x{width} image.");
        if (n < 2) throw new ArgumentException($"CRF: at least 2 labels are needed, got {n}.");
        if (!(gtProb > 0 && gtProb < 1)) throw new ArgumentException($"CRF: gt_prob must be in (0, 1), got {gtProb}.");
        int hw = labels.Length;
        var u = new float[n * hw];
        Array.Fill(u, (float)-Math.Log((1 - gtProb) / (n - 1)));
        float sure = (float)-Math.Log(gtProb);
        for (int p = 0; p < hw; p++)
        {
            if ((uint)labels[p] >= (uint)n) throw new ArgumentException($"CRF: label {labels[p]} at pixel {p} is outside [0, {n}).");
            u[labels[p] * hw + p] = sure;
        }
        return Tensor.FromArray(u, n, height, width);
    }

    /// <summary>Mean-field marginals Q [L, H, W] of the unary [L, H, W] on the image <paramref name="rgb"/> [3, H, W] in [0, 1].</summary>
    public static Tensor Infer(Tensor rgb, Tensor unary, DenseCrfOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentNullException.ThrowIfNull(unary);
        options ??= new DenseCrfOptions();
        options.Validate();
        if (rgb.Rank != 3 || rgb.Size(0) != 3) throw new ArgumentException($"CRF: the image must be [3, H, W], got {Shapes.Format(rgb.Shape)}.");
        if (unary.Rank != 3 || unary.Size(1) != rgb.Size(1) || unary.Size(2) != rgb.Size(2))
            throw new ArgumentException($"CRF: the unary must be [L, {rgb.Size(1)}, {rgb.Size(2)}] like the image, got {Shapes.Format(unary.Shape)}.");
        int l = unary.Size(0), h = rgb.Size(1), w = rgb.Size(2), n = h * w;
        if (l < 1) throw new ArgumentException("CRF: the unary has no labels.");
        var negU = PixelAffinity.Float(unary);
        TensorPrimitives.Negate(negU, negU);
        var q = new float[l * n];
        Softmax(negU, q, l, n);
        if (options.Iterations == 0) return Tensor.FromArray(q, l, h, w);
        var gauss = options.GaussianCompat > 0 ? new GaussianBlur(h, w, options.GaussianSxy, options.Truncate) : null;
        var bilateral = options.BilateralCompat > 0 ? new BilateralKernel(PixelAffinity.Float(rgb), h, w, options.BilateralSxy, options.BilateralSrgb) : null;
        var score = new float[l * n];
        var message = new float[l * n];
        int chunks = Math.Min(Parallelism.Threads, l);
        for (int it = 0; it < options.Iterations; it++)
        {
            negU.CopyTo(score, 0);
            if (gauss is not null) gauss.Message(q, message, l, chunks);
            if (gauss is not null) TensorPrimitives.MultiplyAdd(message, (float)options.GaussianCompat, score, score);
            if (bilateral is not null) bilateral.Message(q, message, l, chunks);
            if (bilateral is not null) TensorPrimitives.MultiplyAdd(message, (float)options.BilateralCompat, score, score);
            Softmax(score, q, l, n);
        }
        return Tensor.FromArray(q, l, h, w);
    }

    /// <summary>
    /// PSA's CRF of max-normalised CAMs [C, H, W]: unary -log of [background, tagged classes] with the background
    /// score from <paramref name="background"/> (PSA: (1 - max)^alpha), then labels by the argmax of Q.
    /// </summary>
    public static CrfResult RefineCams(Tensor rgb, Tensor cams, IReadOnlyCollection<int>? present, BackgroundRule background, byte backgroundLabel, DenseCrfOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cams);
        ArgumentNullException.ThrowIfNull(background);
        if (cams.Rank != 3) throw new ArgumentException($"CRF: CAMs must be [C, H, W], got {Shapes.Format(cams.Shape)}.");
        int c = cams.Size(0), h = cams.Size(1), w = cams.Size(2), n = h * w;
        var keys = Keys(present, c);
        var a = PixelAffinity.Float(cams);
        var scores = new float[(keys.Length + 1) * n];
        for (int p = 0; p < n; p++)
        {
            double max = 0;
            for (int k = 0; k < keys.Length; k++) max = Math.Max(max, a[keys[k] * n + p]);
            scores[p] = (float)background.Score(max);
        }
        for (int k = 0; k < keys.Length; k++) a.AsSpan(keys[k] * n, n).CopyTo(scores.AsSpan((k + 1) * n));
        var q = Infer(rgb, UnaryFromProbabilities(Tensor.FromArray(scores, keys.Length + 1, h, w)), options).ToArray();
        return Result(q, keys, c, h, w, backgroundLabel);
    }

    /// <summary>
    /// IRN's CRF of a label map [H * W] (class ids of <paramref name="present"/>, or the background label):
    /// unary_from_labels over [background, tagged classes] with <paramref name="gtProb"/>, then the argmax of Q.
    /// </summary>
    public static CrfResult RefineLabels(Tensor rgb, byte[] labels, int classes, IReadOnlyCollection<int>? present, byte backgroundLabel, DenseCrfOptions? options = null, double gtProb = 0.7)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentNullException.ThrowIfNull(labels);
        if (rgb.Rank != 3) throw new ArgumentException($"CRF: the image must be [3, H, W], got {Shapes.Format(rgb.Shape)}.");
        int h = rgb.Size(1), w = rgb.Size(2), n = h * w;
        if (labels.Length != n) throw new ArgumentException($"CRF: {labels.Length} labels for a {h}x{w} image.");
        var keys = Keys(present, classes);
        if (keys.Contains(backgroundLabel)) throw new ArgumentException($"CRF: the background label {backgroundLabel} is also a tagged class, so the labels are ambiguous.");
        var index = new int[256];
        Array.Fill(index, -1);
        index[backgroundLabel] = 0;
        for (int k = 0; k < keys.Length; k++) index[keys[k]] = k + 1;
        var compact = new int[n];
        for (int p = 0; p < n; p++)
            if ((compact[p] = index[labels[p]]) < 0)
                throw new ArgumentException($"CRF: label {labels[p]} at pixel {p} is neither a tagged class nor the background label {backgroundLabel}.");
        var q = Infer(rgb, UnaryFromLabels(compact, h, w, keys.Length + 1, gtProb), options).ToArray();
        return Result(q, keys, classes, h, w, backgroundLabel);
    }

    private static CrfResult Result(float[] q, int[] keys, int classes, int h, int w, byte backgroundLabel)
    {
        int n = h * w;
        var probs = new float[classes * n];
        for (int k = 0; k < keys.Length; k++) q.AsSpan((k + 1) * n, n).CopyTo(probs.AsSpan(keys[k] * n));
        var labels = new byte[n];
        for (int p = 0; p < n; p++)
        {
            float best = q[p];
            int arg = -1;
            for (int k = 0; k < keys.Length; k++)
                if (q[(k + 1) * n + p] > best) { best = q[(k + 1) * n + p]; arg = keys[k]; }
            labels[p] = arg >= 0 ? (byte)arg : backgroundLabel;
        }
        return new CrfResult(Tensor.FromArray(probs, classes, h, w), Tensor.FromArray(q.AsSpan(0, n).ToArray(), h, w), labels);
    }

    private static int[] Keys(IReadOnlyCollection<int>? present, int c)
    {
        if (c < 1 || c > 255) throw new ArgumentException($"CRF: 1 to 255 classes, got {c}.");
        if (present is null) return Enumerable.Range(0, c).ToArray();
        foreach (var k in present)
            if (k < 0 || k >= c) throw new ArgumentException($"CRF: tagged class {k} is outside the {c} classes.");
        return present.Distinct().Order().ToArray();
    }

    // q = softmax over labels of s, per pixel (label-major planes).
    private static void Softmax(float[] s, float[] q, int l, int n)
    {
        var max = new float[n];
        var sum = new float[n];
        s.AsSpan(0, n).CopyTo(max);
        for (int k = 1; k < l; k++) TensorPrimitives.Max(max, s.AsSpan(k * n, n), max);
        for (int k = 0; k < l; k++)
        {
            var dst = q.AsSpan(k * n, n);
            TensorPrimitives.Subtract(s.AsSpan(k * n, n), max, dst);
            TensorPrimitives.Exp(dst, dst);
            TensorPrimitives.Add(sum, dst, sum);
        }
        TensorPrimitives.Reciprocal(sum, sum);
        for (int k = 0; k < l; k++) TensorPrimitives.Multiply(q.AsSpan(k * n, n), sum, q.AsSpan(k * n, n));
    }

    /// <summary>
    /// Approximate bytes held during <see cref="Infer"/> for L labels at H x W: six [L, H, W] planes, the five bilateral
    /// features, the lattice's 12 values per pixel and two normalisations; the lattice's vertex buffers come on top.
    /// </summary>
    public static long MemoryBytes(int height, int width, int labels) => 4L * height * width * (6L * labels + 5 + 12 + 2);

    // Exact Gaussian messages: D^-1/2 G (D^-1/2 q) with G separable, taps exp(-k^2 / (2 sxy^2)) for |k| <= truncate sxy.
    private sealed class GaussianBlur
    {
        private readonly int _h, _w;
        private readonly float[] _taps;
        private readonly float[] _invSqrtNorm;
        private readonly float[] _tmp;

        public GaussianBlur(int h, int w, double sxy, double truncate)
        {
            _h = h;
            _w = w;
            int r = (int)Math.Ceiling(truncate * sxy);
            _taps = new float[2 * r + 1];
            for (int k = -r; k <= r; k++) _taps[k + r] = (float)Math.Exp(-k * k / (2 * sxy * sxy));
            var ones = new float[h * w];
            Array.Fill(ones, 1f);
            _invSqrtNorm = new float[h * w];
            _tmp = new float[h * w * Math.Max(1, Parallelism.Threads)];
            Blur(ones, _invSqrtNorm, _tmp.AsSpan(0, h * w));
            for (int p = 0; p < _invSqrtNorm.Length; p++) _invSqrtNorm[p] = 1f / MathF.Sqrt(_invSqrtNorm[p] + 1e-20f);
        }

        public void Message(float[] q, float[] message, int l, int chunks)
        {
            int n = _h * _w;
            Parallelism.For(chunks, (long)(l / chunks + 1) * n * 2 * _taps.Length, t =>
            {
                var tmp = _tmp.AsSpan(t * n, n);
                var scaled = new float[n];
                for (int k = t * l / chunks; k < (t + 1) * l / chunks; k++)
                {
                    TensorPrimitives.Multiply(q.AsSpan(k * n, n), _invSqrtNorm, scaled);
                    var dst = message.AsSpan(k * n, n);
                    Blur(scaled, dst, tmp);
                    TensorPrimitives.Multiply(dst, _invSqrtNorm, dst);
                }
            });
        }

        // dst = vertical(horizontal(src)), tmp holds the horizontal pass; borders are not padded (truncated sums).
        private void Blur(ReadOnlySpan<float> src, Span<float> dst, Span<float> tmp)
        {
            int h = _h, w = _w, r = _taps.Length / 2;
            tmp.Clear();
            for (int y = 0; y < h; y++)
            {
                var row = src.Slice(y * w, w);
                var outRow = tmp.Slice(y * w, w);
                for (int k = -r; k <= r; k++)
                {
                    int lo = Math.Max(0, -k), hi = Math.Min(w, w - k);
                    if (hi <= lo) continue;
                    TensorPrimitives.MultiplyAdd(row.Slice(lo + k, hi - lo), _taps[k + r], outRow.Slice(lo, hi - lo), outRow.Slice(lo, hi - lo));
                }
            }
            // columns row by row, so that the 2r + 1 source rows of an output row stay in the first-level cache
            dst.Clear();
            for (int y = 0; y < h; y++)
            {
                var d = dst.Slice(y * w, w);
                for (int k = Math.Max(-r, -y); k <= Math.Min(r, h - 1 - y); k++)
                    TensorPrimitives.MultiplyAdd(tmp.Slice((y + k) * w, w), _taps[k + r], d, d);
            }
        }
    }

    // Bilateral messages D^-1/2 K (D^-1/2 q) on a permutohedral lattice over (x / sxy, y / sxy, 255 rgb / srgb).
    private sealed class BilateralKernel
    {
        private readonly int _n;
        private readonly PermutohedralLattice _lattice;
        private readonly float[] _invSqrtNorm;
        private readonly float[][] _buffers;
        private float[] _scaled = [];

        public BilateralKernel(float[] rgb, int h, int w, double sxy, double srgb)
        {
            int n = _n = h * w;
            var f = new float[n * 5];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int p = y * w + x;
                    f[p * 5] = (float)(x / sxy);
                    f[p * 5 + 1] = (float)(y / sxy);
                    for (int c = 0; c < 3; c++) f[p * 5 + 2 + c] = (float)(255.0 * rgb[c * n + p] / srgb);
                }
            _lattice = new PermutohedralLattice(f, n, 5);
            _buffers = new float[3 * Math.Max(1, Parallelism.Threads)][];
            var ones = new float[n];
            Array.Fill(ones, 1f);
            _invSqrtNorm = new float[n];
            _lattice.Filter(ones, _invSqrtNorm, 0, 1, Buffer(0, 1), Buffer(1, 1), Pixels(2, 1));
            for (int p = 0; p < n; p++) _invSqrtNorm[p] = 1f / MathF.Sqrt(_invSqrtNorm[p] + 1e-20f);
        }

        public void Message(float[] q, float[] message, int l, int chunks)
        {
            int n = _n;
            if (_scaled.Length != l * n) _scaled = new float[l * n];
            for (int k = 0; k < l; k++) TensorPrimitives.Multiply(q.AsSpan(k * n, n), _invSqrtNorm, _scaled.AsSpan(k * n, n));
            Parallelism.For(chunks, (long)(l / chunks + 1) * n * 24, t =>
            {
                int l0 = t * l / chunks, l1 = (t + 1) * l / chunks;
                _lattice.Filter(_scaled, message, l0, l1, Buffer(3 * t, l1 - l0), Buffer(3 * t + 1, l1 - l0), Pixels(3 * t + 2, l1 - l0));
            });
            for (int k = 0; k < l; k++) TensorPrimitives.Multiply(message.AsSpan(k * n, n), _invSqrtNorm, message.AsSpan(k * n, n));
        }

        private float[] Buffer(int i, int labels) => Sized(i, (_lattice.Vertices + 1) * labels);

        private float[] Pixels(int i, int labels) => Sized(i, _n * labels);

        private float[] Sized(int i, int size)
        {
            if (_buffers[i] is null || _buffers[i].Length < size) _buffers[i] = new float[size];
            return _buffers[i];
        }
    }
}
