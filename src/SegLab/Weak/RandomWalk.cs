// Random walk over pixel affinities (PSA's AffinityNet and IRN, PAPERS.md C.2) on a feature grid h x w, sparse:
// a_ij is kept only for pairs within the radius (offsets with 0 < dy^2 + dx^2 < r^2, PSA's and IRN's search set;
// r = 5 gives 68 neighbours) plus a_ii = 1, so A is symmetric and stored per offset, never as a dense N x N.
//   A = a^beta (beta 8 PSA, 10 IRN), d_j = sum_i A_ij (column sums), T = A / colsum, t = 2^logt steps (logt 8).
//   Average (PSA/IRN code: rw = x T^t, x a row vector): each step x_j <- sum_i x_i A_ij / d_j, a weighted mean, so a
//   constant map stays constant and each map's degree-weighted mass sum_j d_j x_j is kept exactly (A is symmetric:
//   sum_j d_j x'_j = sum_i x_i sum_j A_ij = sum_i d_i x_i); its plain total sum_j x_j is not kept.
//   Spread (T^t x): x_i <- sum_j A_ij x_j / d_j, which keeps each map's total mass sum_i x_i. The two are conjugate:
//   Spread(D x) = D Average(x). Both hold for any symmetric non-negative a: cosine, learned or boundary affinities.
// The codes square the dense T logt times; here T is applied t times to the maps (same result, linear in t).
// Affinities: cosine similarity of features [K, h, w] with negatives clamped to 0 (training-free), given values,
// or IRN's boundary rule a_ij = 1 - max B over the straight path from i to j (end points included).
using System.Numerics.Tensors;
using SegLab.Engine;
using SegLab.Engine.Threading;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Weak;

/// <summary>Which way the transition matrix is applied.</summary>
public enum WalkDirection
{
    /// <summary>x T^t as PSA and IRN code it: every value becomes a weighted mean of its neighbours' (constants and the degree-weighted mass sum d_p x_p kept).</summary>
    Average,

    /// <summary>T^t x: mass moves to neighbours, each map's total is kept.</summary>
    Spread,
}

/// <summary>Settings of the random walk.</summary>
public sealed record RandomWalkOptions
{
    /// <summary>Exponent beta of A = a^beta: 8 (PSA), 10 (IRN).</summary>
    public double Beta { get; init; } = 8;

    /// <summary>log2 of the number of steps t (PSA's logt, IRN's exp_times): 8, so 256 steps.</summary>
    public int LogT { get; init; } = 8;

    /// <summary>How T is applied.</summary>
    public WalkDirection Direction { get; init; } = WalkDirection.Average;

    /// <summary>PSA's infer_aff.py: beta 8, logt 8.</summary>
    public static RandomWalkOptions Psa => new() { Beta = 8, LogT = 8 };

    /// <summary>IRN's make_sem_seg_labels.py: beta 10, exp_times 8.</summary>
    public static RandomWalkOptions Irn => new() { Beta = 10, LogT = 8 };

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        if (!(Beta > 0) || double.IsInfinity(Beta)) throw new ArgumentException($"random walk: beta must be a finite number > 0, got {Beta}.");
        if (LogT < 0 || LogT > 16) throw new ArgumentException($"random walk: logt must be in [0, 16], got {LogT}.");
    }
}

/// <summary>Symmetric pixel affinities a(p, p + o) on an h x w grid for the offsets within a radius.</summary>
public sealed class PixelAffinity
{
    private PixelAffinity(int height, int width, int radius, float[] forward)
    {
        Height = height;
        Width = width;
        Radius = radius;
        Forward = forward;
    }

    /// <summary>Grid height.</summary>
    public int Height { get; }

    /// <summary>Grid width.</summary>
    public int Width { get; }

    /// <summary>Radius: pairs with 0 &lt; dy^2 + dx^2 &lt; radius^2.</summary>
    public int Radius { get; }

    /// <summary>a(p, p + o) for the forward offsets o, [offsets][h * w]; 0 where p + o leaves the grid.</summary>
    internal float[] Forward { get; }

    /// <summary>
    /// The forward half of the neighbourhood, PSA's and IRN's order: (0, 1..r-1), then rows dy = 1..r-1 with
    /// dx = -(r-1)..r-1, keeping dy^2 + dx^2 &lt; r^2. The other half is the negated offsets.
    /// </summary>
    public static IReadOnlyList<(int Dy, int Dx)> ForwardOffsets(int radius)
    {
        if (radius < 2 || radius > 32) throw new ArgumentException($"affinity: radius must be in [2, 32], got {radius}.");
        var list = new List<(int, int)>();
        for (int dx = 1; dx < radius; dx++) list.Add((0, dx));
        for (int dy = 1; dy < radius; dy++)
            for (int dx = -radius + 1; dx < radius; dx++)
                if (dx * dx + dy * dy < radius * radius) list.Add((dy, dx));
        return list;
    }

    /// <summary>Training-free affinities: max(0, cosine similarity) of the feature vectors of [K, h, w] features.</summary>
    public static PixelAffinity FromFeatures(Tensor features, int radius = 5)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != 3) throw new ArgumentException($"affinity: features must be [K, h, w], got {Shapes.Format(features.Shape)}.");
        int k = features.Size(0), h = features.Size(1), w = features.Size(2), n = h * w;
        var f = Float(features);
        var norm = new float[n];
        for (int c = 0; c < k; c++)
            for (int p = 0; p < n; p++) norm[p] += f[c * n + p] * f[c * n + p];
        for (int p = 0; p < n; p++) norm[p] = norm[p] > 0 ? 1f / MathF.Sqrt(norm[p]) : 0;
        var offsets = ForwardOffsets(radius);
        var a = new float[offsets.Count * n];
        var dot = new float[n];
        for (int o = 0; o < offsets.Count; o++)
        {
            var (dy, dx) = offsets[o];
            int shift = dy * w + dx;
            Array.Clear(dot);
            var (lo, hi) = Range(n, shift);
            for (int c = 0; c < k; c++)
            {
                var plane = f.AsSpan(c * n, n);
                TensorPrimitives.MultiplyAdd(plane[lo..hi], plane[(lo + shift)..(hi + shift)], dot.AsSpan(lo, hi - lo), dot.AsSpan(lo, hi - lo));
            }
            var dst = a.AsSpan(o * n, n);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if (Inside(y + dy, x + dx, h, w))
                    {
                        int p = y * w + x;
                        dst[p] = Math.Max(0, dot[p] * norm[p] * norm[p + shift]);
                    }
        }
        return new PixelAffinity(h, w, radius, a);
    }

    /// <summary>Given affinities [M, h, w] in [0, 1] for the M forward offsets (<see cref="ForwardOffsets"/> order); values leaving the grid are ignored.</summary>
    public static PixelAffinity FromValues(Tensor values, int radius = 5)
    {
        ArgumentNullException.ThrowIfNull(values);
        var offsets = ForwardOffsets(radius);
        if (values.Rank != 3 || values.Size(0) != offsets.Count)
            throw new ArgumentException($"affinity: values must be [{offsets.Count}, h, w] for radius {radius}, got {Shapes.Format(values.Shape)}.");
        int h = values.Size(1), w = values.Size(2), n = h * w;
        var a = Float(values);
        for (int o = 0; o < offsets.Count; o++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    ref float v = ref a[o * n + y * w + x];
                    if (!(v >= 0 && v <= 1)) throw new ArgumentException($"affinity: value {v} at offset {o}, pixel ({y}, {x}) is outside [0, 1].");
                    if (!Inside(y + offsets[o].Dy, x + offsets[o].Dx, h, w)) v = 0;
                }
        return new PixelAffinity(h, w, radius, a);
    }

    /// <summary>IRN's affinities from a class-boundary map B [h, w] in [0, 1]: 1 - max B on the path from p to p + o.</summary>
    public static PixelAffinity FromBoundary(Tensor boundary, int radius = 5)
    {
        ArgumentNullException.ThrowIfNull(boundary);
        if (boundary.Rank != 2) throw new ArgumentException($"affinity: the boundary map must be [h, w], got {Shapes.Format(boundary.Shape)}.");
        int h = boundary.Size(0), w = boundary.Size(1), n = h * w;
        var b = Float(boundary);
        foreach (var v in b)
            if (!(v >= 0 && v <= 1)) throw new ArgumentException($"affinity: boundary value {v} is outside [0, 1].");
        var offsets = ForwardOffsets(radius);
        var a = new float[offsets.Count * n];
        for (int o = 0; o < offsets.Count; o++)
        {
            var (dy, dx) = offsets[o];
            int steps = Math.Max(Math.Abs(dy), Math.Abs(dx));
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    if (!Inside(y + dy, x + dx, h, w)) continue;
                    float max = 0;
                    for (int s = 0; s <= steps; s++)
                    {
                        int py = y + (int)Math.Round((double)s * dy / steps, MidpointRounding.AwayFromZero);
                        int px = x + (int)Math.Round((double)s * dx / steps, MidpointRounding.AwayFromZero);
                        max = Math.Max(max, b[py * w + px]);
                    }
                    a[o * n + y * w + x] = 1 - max;
                }
        }
        return new PixelAffinity(h, w, radius, a);
    }

    /// <summary>The valid range [lo, hi) of p for which p + shift stays in [0, n).</summary>
    internal static (int Lo, int Hi) Range(int n, int shift) => (Math.Max(0, -shift), Math.Min(n, n - shift));

    private static bool Inside(int y, int x, int h, int w) => (uint)y < (uint)h && (uint)x < (uint)w;

    internal static float[] Float(Tensor t) => t.DType == DType.Float32 ? t.ToArray() : Array.ConvertAll(t.ToArrayF64(), v => (float)v);
}

/// <summary>Class maps after the walk, on the feature grid.</summary>
/// <param name="Maps">[C, h, w]: the walked class maps (untagged classes 0), not normalised.</param>
/// <param name="Background">[h, w] walked background plane ((1 - max)^alpha rule), or null for a constant background.</param>
public sealed record RandomWalkResult(Tensor Maps, Tensor? Background);

/// <summary>Random walk refinement of class maps.</summary>
public static class RandomWalk
{
    /// <summary>Applies T t times to each plane of <paramref name="maps"/> [C, h, w]; returns the walked maps.</summary>
    public static Tensor Propagate(Tensor maps, PixelAffinity affinity, RandomWalkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentNullException.ThrowIfNull(affinity);
        options ??= new RandomWalkOptions();
        options.Validate();
        if (maps.Rank != 3 || maps.Size(1) != affinity.Height || maps.Size(2) != affinity.Width)
            throw new ArgumentException($"random walk: maps must be [C, {affinity.Height}, {affinity.Width}] like the affinities, got {Shapes.Format(maps.Shape)}.");
        int c = maps.Size(0), n = affinity.Height * affinity.Width;
        var (shifts, weights) = Transition(affinity, options);
        var x = PixelAffinity.Float(maps);
        int steps = 1 << options.LogT;
        Parallelism.For(c, (long)steps * shifts.Length * n, k =>
        {
            var cur = x.AsSpan(k * n, n).ToArray();
            var next = new float[n];
            for (int s = 0; s < steps; s++)
            {
                Step(cur, next, shifts, weights, n);
                (cur, next) = (next, cur);
            }
            cur.CopyTo(x.AsSpan(k * n, n));
        });
        return Tensor.FromArray(x, maps.ShapeArray());
    }

    /// <summary>
    /// PSA/IRN refinement of max-normalised CAMs [C, h, w]: untagged classes are zeroed; with a power background rule
    /// the plane (1 - max over tagged)^alpha is walked with them (PSA), with a constant it is applied at labelling (IRN).
    /// </summary>
    public static RandomWalkResult Refine(Tensor cams, IReadOnlyCollection<int>? present, PixelAffinity affinity, BackgroundRule background, RandomWalkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cams);
        ArgumentNullException.ThrowIfNull(background);
        if (cams.Rank != 3) throw new ArgumentException($"random walk: CAMs must be [C, h, w], got {Shapes.Format(cams.Shape)}.");
        int c = cams.Size(0), n = cams.Size(1) * cams.Size(2);
        var keep = Keep(present, c);
        var a = PixelAffinity.Float(cams);
        for (int k = 0; k < c; k++)
            if (!keep[k]) a.AsSpan(k * n, n).Clear();
        int planes = background.Alpha is null ? c : c + 1;
        var x = new float[planes * n];
        a.CopyTo(x, 0);
        if (background.Alpha is not null)
            for (int p = 0; p < n; p++)
            {
                double max = 0;
                for (int k = 0; k < c; k++) max = Math.Max(max, a[k * n + p]);
                x[c * n + p] = (float)background.Score(max);
            }
        var walked = Propagate(Tensor.FromArray(x, planes, cams.Size(1), cams.Size(2)), affinity, options).ToArray();
        var maps = Tensor.FromArray(walked.AsSpan(0, c * n).ToArray(), c, cams.Size(1), cams.Size(2));
        var bg = background.Alpha is null ? null : Tensor.FromArray(walked.AsSpan(c * n, n).ToArray(), cams.Size(1), cams.Size(2));
        return new RandomWalkResult(maps, bg);
    }

    /// <summary>
    /// Labels at <paramref name="height"/> x <paramref name="width"/> (bilinear upsampling): with a walked background,
    /// argmax over [background, tagged classes] (PSA); otherwise the maps divided by their global max and
    /// <see cref="ClassMapLabels.Labels"/> with the constant (IRN: 0.25).
    /// </summary>
    public static byte[] Labels(RandomWalkResult result, int height, int width, IReadOnlyCollection<int>? present, BackgroundRule background, byte backgroundLabel)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(background);
        int c = result.Maps.Size(0), n = height * width;
        var maps = ClassMapLabels.Resize(result.Maps, height, width).ToArray();
        if (result.Background is null)
        {
            float max = 0;
            foreach (var v in maps) max = Math.Max(max, v);
            if (max > 0) TensorPrimitives.Multiply(maps, 1f / max, maps);
            return ClassMapLabels.Labels(Tensor.FromArray(maps, c, height, width), present, background, backgroundLabel);
        }
        var keep = Keep(present, c);
        var bg = ClassMapLabels.Resize(Tensor.FromArray(result.Background.ToArray(), 1, result.Background.Size(0), result.Background.Size(1)), height, width).ToArray();
        var labels = new byte[n];
        for (int p = 0; p < n; p++)
        {
            float best = bg[p];
            int arg = -1;
            for (int k = 0; k < c; k++)
                if (keep[k] && maps[k * n + p] > best) { best = maps[k * n + p]; arg = k; }
            labels[p] = arg >= 0 ? (byte)arg : backgroundLabel;
        }
        return labels;
    }

    /// <summary>Bytes held by <see cref="Propagate"/> beyond its input: the 2M + 1 weight planes and two buffers per thread.</summary>
    public static long MemoryBytes(int height, int width, int channels, int radius = 5)
        => 4L * height * width * (2L * PixelAffinity.ForwardOffsets(radius).Count + 1 + channels + 2L * Parallelism.Threads);

    /// <summary>
    /// The degrees d_p = sum_q A_pq of A = a^beta (self term 1 included): the weights of the mass that
    /// <see cref="WalkDirection.Average"/> preserves, sum_p d_p x_p (Spread preserves sum_p x_p).
    /// </summary>
    public static float[] Degrees(PixelAffinity affinity, RandomWalkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(affinity);
        options ??= new RandomWalkOptions();
        options.Validate();
        var (_, weights) = Unnormalised(affinity, options);
        var degree = new float[affinity.Height * affinity.Width];
        foreach (var wt in weights) TensorPrimitives.Add(degree, wt, degree);
        return degree;
    }

    // Flattened shifts of all 2M + 1 offsets (self, forward, backward) and their weights W_o[p], so that one step is
    // next[p] = sum_o W_o[p] cur[p + shift_o]: Average W_o[p] = A_o[p] / d[p], Spread W_o[p] = A_o[p] / d[p + shift_o].
    private static (int[] Shifts, float[][] Weights) Transition(PixelAffinity affinity, RandomWalkOptions options)
    {
        int n = affinity.Height * affinity.Width;
        var (shifts, weights) = Unnormalised(affinity, options);
        var degree = new float[n];
        foreach (var wt in weights) TensorPrimitives.Add(degree, wt, degree);
        for (int o = 0; o < weights.Length; o++)
        {
            var wt = weights[o];
            if (options.Direction == WalkDirection.Average) TensorPrimitives.Divide(wt, degree, wt);
            else
            {
                var (lo, hi) = PixelAffinity.Range(n, shifts[o]);
                for (int p = lo; p < hi; p++) wt[p] /= degree[p + shifts[o]];
            }
        }
        return (shifts, weights);
    }

    // The shifts and A_o[p] = a(p, p + shift_o)^beta of the 2M + 1 offsets (self, forward, backward).
    private static (int[] Shifts, float[][] Weights) Unnormalised(PixelAffinity affinity, RandomWalkOptions options)
    {
        int h = affinity.Height, w = affinity.Width, n = h * w;
        var offsets = PixelAffinity.ForwardOffsets(affinity.Radius);
        int m = offsets.Count;
        var shifts = new int[2 * m + 1];
        var weights = new float[2 * m + 1][];
        weights[0] = new float[n];
        Array.Fill(weights[0], 1f);
        float beta = (float)options.Beta;
        for (int o = 0; o < m; o++)
        {
            int shift = offsets[o].Dy * w + offsets[o].Dx;
            var fwd = affinity.Forward.AsSpan(o * n, n).ToArray();
            for (int p = 0; p < n; p++) fwd[p] = fwd[p] > 0 ? MathF.Pow(fwd[p], beta) : 0;
            var bwd = new float[n];
            var (lo, hi) = PixelAffinity.Range(n, shift);
            fwd.AsSpan(lo, hi - lo).CopyTo(bwd.AsSpan(lo + shift)); // a(q, q - o) = a(q - o, q)
            shifts[1 + o] = shift;
            weights[1 + o] = fwd;
            shifts[1 + m + o] = -shift;
            weights[1 + m + o] = bwd;
        }
        return (shifts, weights);
    }

    private static void Step(float[] cur, float[] next, int[] shifts, float[][] weights, int n)
    {
        Array.Clear(next);
        for (int o = 0; o < shifts.Length; o++)
        {
            var (lo, hi) = PixelAffinity.Range(n, shifts[o]);
            if (hi <= lo) continue;
            var dst = next.AsSpan(lo, hi - lo);
            TensorPrimitives.MultiplyAdd(weights[o].AsSpan(lo, hi - lo), cur.AsSpan(lo + shifts[o], hi - lo), dst, dst);
        }
    }

    private static bool[] Keep(IReadOnlyCollection<int>? present, int c)
    {
        var keep = new bool[c];
        if (present is null) Array.Fill(keep, true);
        else
            foreach (var k in present)
            {
                if (k < 0 || k >= c) throw new ArgumentException($"random walk: tagged class {k} is outside the {c} maps.");
                keep[k] = true;
            }
        return keep;
    }
}
