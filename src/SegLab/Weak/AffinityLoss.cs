// AffinityNet's balanced loss (PSA train_aff.py; PAPERS.md C.2): the three kinds of pairs are averaged separately, so
// the many background pairs do not drown the others:
//   L = L_bg+ / 4 + L_fg+ / 4 + L_neg / 2,   L_bg+ = mean over bg-positive pairs of -log a_ij,
//   L_fg+ likewise over fg-positive pairs,    L_neg = mean over negative pairs of -log(1 + 1e-5 - a_ij)
// (the paper's L_fg+ + L_bg+ + 2 L_neg, divided by 4). -log a_ij is the distance itself (a = exp(-d)); PSA's
// log(a + 1e-5) differs from it only where d > 10. A kind without pairs in the batch contributes 0.
using SegLab.Engine;

namespace SegLab.Weak;

/// <summary>Value and parts of the loss of one batch.</summary>
/// <param name="Loss">The scalar loss (differentiable).</param>
/// <param name="BgPositive">Mean -log a over bg-positive pairs (NaN without any).</param>
/// <param name="FgPositive">Mean -log a over fg-positive pairs.</param>
/// <param name="Negative">Mean -log(1 - a) over negative pairs.</param>
public sealed record AffinityLossValue(Tensor Loss, double BgPositive, double FgPositive, double Negative);

/// <summary>AffinityNet's balanced pair loss.</summary>
public static class AffinityLoss
{
    /// <summary>The loss of embeddings [B, D, h, w] against one pair labelling per batch item.</summary>
    public static AffinityLossValue Compute(Tensor embedding, IReadOnlyList<AffinityPairs> labels)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        ArgumentNullException.ThrowIfNull(labels);
        int b = embedding.Size(0), h = embedding.Size(2), w = embedding.Size(3), n = h * w;
        if (labels.Count != b) throw new ArgumentException($"affinity loss: {labels.Count} label sets for a batch of {b}.");
        int radius = labels[0].Radius;
        foreach (var l in labels)
            if (l.Height != h || l.Width != w || l.Radius != radius)
                throw new ArgumentException($"affinity loss: labels of a {l.Height}x{l.Width} grid (radius {l.Radius}) for an embedding of {h}x{w} (radius {radius}).");
        var offsets = PixelAffinity.ForwardOffsets(radius);
        long bgCount = 0, fgCount = 0, negCount = 0;
        foreach (var l in labels)
        {
            var (bg, fg, neg) = l.Counts();
            bgCount += bg; fgCount += fg; negCount += neg;
        }
        Tensor? bgSum = null, fgSum = null, negSum = null;
        for (int o = 0; o < offsets.Count; o++)
        {
            var (dy, dx) = offsets[o];
            int y0 = Math.Max(0, -dy), y1 = h - Math.Max(0, dy), x0 = Math.Max(0, -dx), x1 = w - Math.Max(0, dx);
            if (y1 <= y0 || x1 <= x0) continue;
            var bgM = Mask(labels, l => l.BgPositive, o, n, w, y0, y1, x0, x1, out bool anyBg);
            var fgM = Mask(labels, l => l.FgPositive, o, n, w, y0, y1, x0, x1, out bool anyFg);
            var negM = Mask(labels, l => l.Negative, o, n, w, y0, y1, x0, x1, out bool anyNeg);
            if (!anyBg && !anyFg && !anyNeg) continue;
            var d = AffinityHead.PairDistance(embedding, dy, dx);
            if (anyBg) bgSum = Acc(bgSum, Ops.Sum(Ops.Mul(d, bgM)));
            if (anyFg) fgSum = Acc(fgSum, Ops.Sum(Ops.Mul(d, fgM)));
            if (anyNeg)
            {
                var a = Ops.Exp(Ops.Neg(d));
                negSum = Acc(negSum, Ops.Sum(Ops.Mul(Ops.Neg(Ops.Log(Ops.Add(Ops.Neg(a), 1 + 1e-5))), negM)));
            }
        }
        Tensor loss = Ops.Mul(Ops.Sum(embedding), 0.0); // 0 with a gradient path when no kind has pairs
        double bgMean = double.NaN, fgMean = double.NaN, negMean = double.NaN;
        if (bgSum is not null) { var t = Ops.Mul(bgSum, 1.0 / bgCount); bgMean = t.Item(); loss = Ops.Add(loss, Ops.Mul(t, 0.25)); }
        if (fgSum is not null) { var t = Ops.Mul(fgSum, 1.0 / fgCount); fgMean = t.Item(); loss = Ops.Add(loss, Ops.Mul(t, 0.25)); }
        if (negSum is not null) { var t = Ops.Mul(negSum, 1.0 / negCount); negMean = t.Item(); loss = Ops.Add(loss, Ops.Mul(t, 0.5)); }
        return new AffinityLossValue(loss, bgMean, fgMean, negMean);
    }

    private static Tensor Acc(Tensor? sum, Tensor term) => sum is null ? term : Ops.Add(sum, term);

    // The labels of offset o for the first ends p in rows y0..y1 and columns x0..x1, as [B, y1 - y0, x1 - x0].
    private static Tensor Mask(IReadOnlyList<AffinityPairs> labels, Func<AffinityPairs, float[]> kind, int o, int n, int w, int y0, int y1, int x0, int x1, out bool any)
    {
        int hh = y1 - y0, ww = x1 - x0;
        var m = new float[labels.Count * hh * ww];
        any = false;
        for (int b = 0; b < labels.Count; b++)
        {
            var src = kind(labels[b]);
            for (int y = 0; y < hh; y++)
                for (int x = 0; x < ww; x++)
                {
                    float v = src[o * n + (y + y0) * w + x + x0];
                    m[(b * hh + y) * ww + x] = v;
                    any |= v > 0;
                }
        }
        return Tensor.FromArray(m, labels.Count, hh, ww);
    }
}
