// Contextrast's auxiliary loss (Sung et al., CVPR 2024, arXiv 2404.10633; PAPERS.md E.1-E.3): per stage, class
// anchors as mini-batch means of the embeddings, static fusion with the deepest stage's anchors, and the
// pixel-to-anchor loss with BANE negatives:  L_i^n = mean_{z+} -log( e^{a.z+/t} / (e^{a.z+/t} + sum_{z-} e^{a.z-/t}) ),
// L_PA = sum_i lambda_i mean_n L_i^n. Written with masks over all pixels (P x K tensors) so that it composes
// existing Ops and needs no gather: memory is O(P*K) per stage, and the caps bound how many pixels are weighted.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Models;

namespace SegLab.Contextrast;

/// <summary>Contextrast's heads and L_PA for one model.</summary>
public sealed class ContextrastLoss
{
    private readonly ContextrastOptions _o;
    private readonly int _k;
    private readonly int _ignore;

    /// <summary>Creates heads for stages with the given channels.</summary>
    /// <param name="options">Settings.</param>
    /// <param name="stages">Stage module paths, shallow to deep.</param>
    /// <param name="channels">Channels of each stage.</param>
    /// <param name="numClasses">Scored classes.</param>
    /// <param name="ignoreIndex">Label without a class.</param>
    /// <param name="rng">Head initialisation and positive subsampling generator.</param>
    public ContextrastLoss(ContextrastOptions options, IReadOnlyList<string> stages, IReadOnlyList<int> channels, int numClasses, int ignoreIndex, Rng rng)
    {
        _o = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(channels);
        if (stages.Count == 0 || stages.Count != channels.Count || stages.Count != options.StageWeights.Length)
            throw new ArgumentException($"contextrast: {stages.Count} stages, {channels.Count} channel counts and {options.StageWeights.Length} stage weights must agree.");
        Stages = stages.ToArray();
        Heads = new ProjectionHeads(channels, options.Dim, options.HeadHidden, rng);
        _k = numClasses;
        _ignore = ignoreIndex;
    }

    /// <summary>Heads for the stages of <paramref name="model"/>, whose channels come from one eval-mode forward of a 64x64 input.</summary>
    /// <param name="options">Settings.</param>
    /// <param name="model">The segmentation model.</param>
    /// <param name="stages">Stage module paths, shallow to deep.</param>
    /// <param name="ignoreIndex">Label without a class.</param>
    /// <param name="rng">Initialisation generator.</param>
    public static ContextrastLoss ForModel(ContextrastOptions options, SegmentationModel model, IReadOnlyList<string> stages, int ignoreIndex, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool training = model.Network.Training;
        int[] channels;
        model.Network.Eval();
        using (GradMode.NoGrad())
        using (var cap = FeatureCapture.Start(model.Network, [.. stages]))
        {
            model.Forward(Tensor.Zeros(2, 3, 64, 64));
            channels = stages.Select(s => cap[s].Size(1)).ToArray();
        }
        model.Network.Train(training);
        return new ContextrastLoss(options, stages, channels, model.NumClasses, ignoreIndex, rng);
    }

    /// <summary>Stage module paths, shallow to deep.</summary>
    public IReadOnlyList<string> Stages { get; }

    /// <summary>The projection heads (trained with the model, never saved with it).</summary>
    public ProjectionHeads Heads { get; }

    /// <summary>L_PA (without alpha) for one mini-batch.</summary>
    /// <param name="features">Stage outputs [N, C_i, h_i, w_i], shallow to deep.</param>
    /// <param name="logits">Final logits [N, C, H, W] (their argmax is BANE's prediction).</param>
    /// <param name="labels">Ground truth [N * H * W].</param>
    /// <param name="rng">Generator for positive subsampling.</param>
    public Tensor Compute(IReadOnlyList<Tensor> features, Tensor logits, int[] labels, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        int n = logits.Size(0), h = logits.Size(2), w = logits.Size(3), last = features.Count - 1;
        int[] pred;
        using (GradMode.NoGrad())
        {
            var scored = logits.Size(1) == _k ? logits : Ops.Slice(logits, 1, 0, _k);
            pred = Ops.Argmax(scored, 1).ToArray().Select(v => (int)v).ToArray();
        }
        var stages = new StageData[features.Count];
        for (int i = 0; i < features.Count; i++) stages[i] = Prepare(i, features[i], labels, pred, n, h, w);
        var deep = stages[last];
        Tensor? total = null;
        for (int i = 0; i < stages.Length; i++)
        {
            var s = stages[i];
            if (s.Present.Count == 0) continue;
            var anchors = i == last || _o.FusionDeepWeight == 0 ? s.Anchors : Fuse(s, deep);
            if (_o.NormalizeAnchors) anchors = ProjectionHeads.Normalize(anchors, 1);
            if (_o.DetachAnchors) anchors = anchors.Detach();
            var term = Ops.Mul(PixelAnchor(s, anchors, rng), _o.StageWeights[last - i]);
            total = total is null ? term : Ops.Add(total, term);
        }
        return total ?? Ops.Mul(Ops.Sum(features[last]), 0.0);
    }

    /// <summary>Stage tensors and masks.</summary>
    private sealed record StageData(Tensor Z, Tensor Anchors, int[] Labels, int[] Pred, int N, int H, int W, List<int> Present, long[] Counts);

    private StageData Prepare(int stage, Tensor feature, int[] labels, int[] pred, int n, int h, int w)
    {
        int sh = feature.Size(2), sw = feature.Size(3), hw = sh * sw, p = n * hw;
        var y = new int[p];
        var yhat = new int[p];
        for (int img = 0; img < n; img++)
        {
            Data.Resampling.Nearest(labels[(img * h * w)..((img + 1) * h * w)], w, h, sw, sh).CopyTo(y, img * hw);
            Data.Resampling.Nearest(pred[(img * h * w)..((img + 1) * h * w)], w, h, sw, sh).CopyTo(yhat, img * hw);
        }
        for (int i = 0; i < p; i++) if (y[i] == _ignore || (uint)y[i] >= (uint)_k) y[i] = -1;
        var emb = Heads.Embed(stage, feature);                                      // [N, d, h, w]
        var z = Ops.Reshape(Ops.Permute(emb, 0, 2, 3, 1), p, Heads.Dim);             // [P, d]
        var anchors = ClassAnchors(z, y, _k, out var counts);
        var present = Enumerable.Range(0, _k).Where(c => counts[c] > 0).ToList();
        return new StageData(z, anchors, y, yhat, n, sh, sw, present, counts);
    }

    /// <summary>a^_i^n = w_l a_i^n + w_h a_I^n for classes present at both stages, a_i^n otherwise.</summary>
    private Tensor Fuse(StageData s, StageData deep)
    {
        var both = new float[_k];
        foreach (int c in s.Present) if (deep.Counts[c] > 0) both[c] = (float)_o.FusionDeepWeight;
        return Ops.Add(s.Anchors, Ops.Mul(Ops.Sub(deep.Anchors, s.Anchors), Tensor.FromArray(both, _k, 1)));
    }

    /// <summary>Mean over present classes of the PA loss of their anchors, with BANE negatives.</summary>
    private Tensor PixelAnchor(StageData s, Tensor anchors, Rng rng)
    {
        int p = s.Labels.Length;
        var bane = Bane.Select(s.Labels, s.Pred, s.N, s.H, s.W, _k, _o.BaneRatio, _o.MaxNegatives);
        var negMask = NegativeMask(bane, s.Counts, p, _o.Negatives);
        var weights = new double[p * _k];
        foreach (int c in s.Present)
        {
            var pos = Positives(s.Labels, c, _o.MaxPositives, rng);
            double wgt = 1.0 / ((double)pos.Count * s.Present.Count);
            foreach (int i in pos) weights[i * _k + c] = wgt;
        }
        return PixelAnchorLoss(s.Z, anchors, negMask, weights, _o.Temperature);
    }

    /// <summary>
    /// Anchors [K, d]: the mean embedding of each class (rows of absent classes are zero); <paramref name="counts"/>
    /// gets the pixels per class. <paramref name="labels"/> holds -1 for pixels without a class.
    /// </summary>
    /// <param name="z">Embeddings [P, d].</param>
    /// <param name="labels">[P] class ids or -1.</param>
    /// <param name="k">Classes.</param>
    /// <param name="counts">Pixels per class.</param>
    internal static Tensor ClassAnchors(Tensor z, int[] labels, int k, out long[] counts)
    {
        int p = labels.Length;
        counts = new long[k];
        var onehotT = new double[k * p];                                             // [K, P]
        for (int i = 0; i < p; i++)
        {
            if (labels[i] < 0) continue;
            counts[labels[i]]++;
            onehotT[labels[i] * p + i] = 1;
        }
        var inv = counts.Select(c => c == 0 ? 0.0 : 1.0 / c).ToArray();
        return Ops.Mul(Ops.MatMul(Constant(onehotT, z.DType, k, p), z), Constant(inv, z.DType, k, 1));
    }

    /// <summary>
    /// The [P, K] mask of negatives: a BANE sample (true n, predicted m) marks anchor m (PredictedClass) or n (TrueClass),
    /// when that anchor exists (its class is present at the stage).
    /// </summary>
    /// <param name="samples">BANE selections.</param>
    /// <param name="counts">Pixels per class at the stage.</param>
    /// <param name="p">Pixels.</param>
    /// <param name="assignment">Which anchor a sample is a negative of.</param>
    internal static double[] NegativeMask(IEnumerable<BaneSample> samples, long[] counts, int p, NegativeAssignment assignment)
    {
        int k = counts.Length;
        var mask = new double[p * k];
        foreach (var b in samples)
        {
            int anchor = assignment == NegativeAssignment.PredictedClass ? b.PredictedClass : b.TrueClass;
            if ((uint)anchor < (uint)k && counts[anchor] > 0) mask[b.Pixel * k + anchor] = 1;
        }
        return mask;
    }

    /// <summary>
    /// sum_{p,n} weights[p,n] * -log( e^{s_pn} / (e^{s_pn} + sum_q neg[q,n] e^{s_qn}) ), s = z a^T / tau, in z's dtype.
    /// With weights 1/(|Z+_n| |N|) at the positives this is the mean over anchors of the PA loss.
    /// </summary>
    /// <param name="z">Unit embeddings [P, d].</param>
    /// <param name="anchors">Anchors [K, d], norm at most 1.</param>
    /// <param name="negMask">[P * K] negatives.</param>
    /// <param name="weights">[P * K] positive weights.</param>
    /// <param name="temperature">tau.</param>
    internal static Tensor PixelAnchorLoss(Tensor z, Tensor anchors, double[] negMask, double[] weights, double temperature)
    {
        int p = z.Size(0), k = anchors.Size(0);
        double invT = 1 / temperature;
        // |z| = 1 and |a| <= 1 (a mean or convex combination of unit vectors), so a.z/t - 1/t lies in [-2/t, 0]:
        // the shift keeps exp in float32 range and cancels in the ratio.
        var logits = Ops.Add(Ops.Mul(Ops.MatMul(z, Ops.Transpose(anchors, 0, 1)), invT), -invT);   // [P, K]
        var e = Ops.Exp(logits);
        var negSum = Ops.Sum(Ops.Mul(e, Constant(negMask, z.DType, p, k)), [0], keepDim: true);      // [1, K]
        var perPixel = Ops.Sub(Ops.Log(Ops.Add(e, negSum)), logits);                                // -log of the positive's share
        return Ops.Sum(Ops.Mul(perPixel, Constant(weights, z.DType, p, k)));
    }

    private static Tensor Constant(double[] values, DType dtype, params int[] shape) =>
        dtype == DType.Float64 ? Tensor.FromArray(values, shape) : Tensor.FromArray(values.Select(v => (float)v).ToArray(), shape);

    /// <summary>Pixels of class c, all or a random subset of at most cap (partial Fisher-Yates, then sorted).</summary>
    private static List<int> Positives(int[] labels, int c, int cap, Rng rng)
    {
        var all = new List<int>();
        for (int i = 0; i < labels.Length; i++) if (labels[i] == c) all.Add(i);
        if (cap <= 0 || all.Count <= cap) return all;
        for (int i = 0; i < cap; i++)
        {
            int j = i + rng.NextInt(all.Count - i);
            (all[i], all[j]) = (all[j], all[i]);
        }
        var chosen = all.GetRange(0, cap);
        chosen.Sort();
        return chosen;
    }
}
