// The learned affinity head of AffinityNet (PSA, Ahn and Kwak CVPR'18; PAPERS.md C.2), on the frozen tag classifier:
// each level of the encoder (layer1..layer4 of SegLab's ResNets) is standardised per channel (statistics of the
// training images), reduced by a 1x1 conv + ReLU, resized (bilinear) to the walk's grid and concatenated; a last 1x1
// conv gives the embedding f [B, D, h, w]. PSA reduces three levels of its ResNet-38 the same way (64, 128, 256
// channels, then a 448-channel 1x1 conv).
//   a_ij = exp(-mean_k |f_ki - f_kj|)       PSA's code (net/resnet38_aff.py): the L1 distance over D, i.e. the paper's
//                                           exp(-||f_i - f_j||_1) with f scaled by 1/D
// so a_ij = a_ji and 0 < a_ij <= 1 by construction.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;

namespace SegLab.Weak;

/// <summary>Embedding head whose L1 distances give AffinityNet's pixel affinities.</summary>
public sealed class AffinityHead : Module
{
    private readonly Conv2d[] _reduce;
    private readonly Tensor[] _mean, _std;
    private readonly Conv2d _out;

    /// <summary>A head over levels of <paramref name="levelChannels"/> channels.</summary>
    /// <param name="levelChannels">Channels of each encoder level, finest first.</param>
    /// <param name="reduced">Channels each level is reduced to.</param>
    /// <param name="dim">Embedding channels D.</param>
    /// <param name="rng">Initialisation.</param>
    public AffinityHead(IReadOnlyList<int> levelChannels, IReadOnlyList<int> reduced, int dim, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(levelChannels);
        ArgumentNullException.ThrowIfNull(reduced);
        if (levelChannels.Count == 0 || levelChannels.Count != reduced.Count || levelChannels.Any(c => c < 1) || reduced.Any(c => c < 1) || dim < 1)
            throw new ArgumentException($"affinity head: {levelChannels.Count} levels [{string.Join(", ", levelChannels)}] need as many positive reduced widths (got [{string.Join(", ", reduced)}]) and a positive dim ({dim}).");
        LevelChannels = [.. levelChannels];
        Dim = dim;
        _reduce = new Conv2d[levelChannels.Count];
        _mean = new Tensor[levelChannels.Count];
        _std = new Tensor[levelChannels.Count];
        for (int i = 0; i < levelChannels.Count; i++)
        {
            _reduce[i] = RegisterModule($"reduce{i}", new Conv2d(levelChannels[i], reduced[i], 1, rng: rng));
            _mean[i] = RegisterBuffer($"mean{i}", Tensor.Zeros(1, levelChannels[i], 1, 1));
            _std[i] = RegisterBuffer($"std{i}", Tensor.Full(1f, 1, levelChannels[i], 1, 1));
        }
        _out = RegisterModule("out", new Conv2d(reduced.Sum(), dim, 1, rng: rng));
    }

    /// <summary>Channels of each input level.</summary>
    public int[] LevelChannels { get; }

    /// <summary>Embedding channels D.</summary>
    public int Dim { get; }

    /// <summary>Sets the per-channel standardisation of each level from features [B, C_l, h_l, w_l] (mean and std over all positions).</summary>
    public void SetNormalisation(IReadOnlyList<IReadOnlyList<Tensor>> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        for (int l = 0; l < LevelChannels.Length; l++)
        {
            int c = LevelChannels[l];
            var sum = new double[c];
            var sq = new double[c];
            long count = 0;
            foreach (var levels in samples)
            {
                var f = levels[l];
                CheckLevel(f, l);
                int hw = f.Size(2) * f.Size(3);
                var a = f.ToArray();
                for (int b = 0; b < f.Size(0); b++)
                    for (int k = 0; k < c; k++)
                        for (int p = 0; p < hw; p++)
                        {
                            double v = a[(b * c + k) * hw + p];
                            sum[k] += v;
                            sq[k] += v * v;
                        }
                count += (long)f.Size(0) * hw;
            }
            var mean = _mean[l].Span;
            var std = _std[l].Span;
            for (int k = 0; k < c; k++)
            {
                double m = sum[k] / Math.Max(1, count), v = sq[k] / Math.Max(1, count) - m * m;
                mean[k] = (float)m;
                std[k] = (float)Math.Max(1e-3, Math.Sqrt(Math.Max(0, v)));
            }
        }
    }

    /// <summary>The embedding f [B, D, gh, gw] of the encoder levels (finest first).</summary>
    public Tensor Embed(IReadOnlyList<Tensor> levels, int gh, int gw)
    {
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Count != LevelChannels.Length)
            throw new ArgumentException($"affinity head: {levels.Count} feature levels given, the head was built for {LevelChannels.Length} ([{string.Join(", ", LevelChannels)}] channels).");
        var parts = new Tensor[levels.Count];
        for (int l = 0; l < levels.Count; l++)
        {
            CheckLevel(levels[l], l);
            var x = Ops.Div(Ops.Sub(levels[l], _mean[l]), _std[l]);
            x = Ops.Relu(_reduce[l].Forward(x));
            if (x.Size(2) != gh || x.Size(3) != gw) x = Ops.Interpolate(x, gh, gw, InterpolationMode.Bilinear);
            parts[l] = x;
        }
        return _out.Forward(parts.Length == 1 ? parts[0] : Ops.Cat(parts, 1));
    }

    /// <summary>A single level at its own size.</summary>
    protected override Tensor ForwardCore(Tensor x) => Embed([x], x.Size(2), x.Size(3));

    /// <summary>
    /// Differentiable affinities of the pairs (p, p + o) inside the grid for one offset: [B, h - |dy|, w - |dx|],
    /// the first end p running over rows max(0, -dy).. and columns max(0, -dx)..
    /// </summary>
    public static Tensor PairAffinity(Tensor embedding, int dy, int dx) => Ops.Exp(Ops.Neg(PairDistance(embedding, dy, dx)));

    /// <summary>mean_k |f_k(p) - f_k(p + o)| for the pairs inside the grid, [B, h - |dy|, w - |dx|] (differentiable).</summary>
    public static Tensor PairDistance(Tensor embedding, int dy, int dx)
    {
        int h = embedding.Size(2), w = embedding.Size(3);
        int y0 = Math.Max(0, -dy), y1 = h - Math.Max(0, dy), x0 = Math.Max(0, -dx), x1 = w - Math.Max(0, dx);
        var a = Ops.Slice(Ops.Slice(embedding, 2, y0, y1), 3, x0, x1);
        var b = Ops.Slice(Ops.Slice(embedding, 2, y0 + dy, y1 + dy), 3, x0 + dx, x1 + dx);
        return Ops.Mean(Ops.Abs(Ops.Sub(a, b)), [1]);
    }

    /// <summary>The random walk's affinities of one image's embedding [D, h, w] or [1, D, h, w] (no autograd).</summary>
    public static PixelAffinity Affinities(Tensor embedding, int radius = 5)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        if (embedding.Rank == 4 && embedding.Size(0) == 1) embedding = Ops.Reshape(embedding, [embedding.Size(1), embedding.Size(2), embedding.Size(3)]);
        if (embedding.Rank != 3) throw new ArgumentException($"affinity: the embedding must be [D, h, w], got {Shapes.Format(embedding.Shape)}.");
        int d = embedding.Size(0), h = embedding.Size(1), w = embedding.Size(2), n = h * w;
        var f = PixelAffinity.Float(embedding);
        var offsets = PixelAffinity.ForwardOffsets(radius);
        var a = new float[offsets.Count * n];
        var acc = new float[n];
        for (int o = 0; o < offsets.Count; o++)
        {
            var (dy, dx) = offsets[o];
            int shift = dy * w + dx;
            Array.Clear(acc);
            var (lo, hi) = PixelAffinity.Range(n, shift);
            for (int k = 0; k < d; k++)
            {
                var plane = f.AsSpan(k * n, n);
                for (int p = lo; p < hi; p++) acc[p] += MathF.Abs(plane[p] - plane[p + shift]);
            }
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int qy = y + dy, qx = x + dx;
                    if ((uint)qy < (uint)h && (uint)qx < (uint)w) a[o * n + y * w + x] = MathF.Exp(-acc[y * w + x] / d);
                }
        }
        return PixelAffinity.FromValues(Tensor.FromArray(a, offsets.Count, h, w), radius);
    }

    /// <summary>The affinities of an image through the frozen classifier and this head, on the gh x gw grid.</summary>
    public PixelAffinity Affinities(TagClassifier classifier, Tensor image, int gh, int gw, int radius = 5)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        bool wasTraining = Training, clsTraining = classifier.Training;
        Eval();
        classifier.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            return Affinities(Embed(classifier.Levels(image), gh, gw), radius);
        }
        finally
        {
            if (wasTraining) Train();
            if (clsTraining) classifier.TrainMode();
        }
    }

    private void CheckLevel(Tensor f, int l)
    {
        if (f.Rank != 4 || f.Size(1) != LevelChannels[l])
            throw new ArgumentException($"affinity head: level {l} is {Shapes.Format(f.Shape)}, expected [B, {LevelChannels[l]}, h, w].");
    }
}
