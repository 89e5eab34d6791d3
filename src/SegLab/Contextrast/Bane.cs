// BANE, boundary-aware negative sampling (Contextrast, Sung et al. CVPR 2024; PAPERS.md E.3). For each class n
// present at a stage: B^n = pixels whose ground truth is n and whose (downsampled) prediction is not n; D^n = the
// Euclidean distance of each B^n pixel to the edge of the error region (to the nearest pixel outside B^n, within its
// image); the K_s fraction with the smallest D^n over the mini-batch is kept (ties by image, then pixel order).
namespace SegLab.Contextrast;

/// <summary>One selected hard sample: a pixel of true class n predicted as m.</summary>
/// <param name="Pixel">Index into the stage's [N * h * w] pixels.</param>
/// <param name="TrueClass">Ground-truth class n.</param>
/// <param name="PredictedClass">Predicted class m (not n).</param>
/// <param name="SquaredDistance">Squared distance to the error-region edge.</param>
public readonly record struct BaneSample(int Pixel, int TrueClass, int PredictedClass, double SquaredDistance);

/// <summary>Selects boundary-nearest mispredicted pixels.</summary>
public static class Bane
{
    /// <summary>The selected samples of every present class, class by class.</summary>
    /// <param name="labels">Ground truth [n * h * w] at the stage's resolution.</param>
    /// <param name="predictions">Predictions [n * h * w] at the stage's resolution.</param>
    /// <param name="n">Images.</param>
    /// <param name="h">Height.</param>
    /// <param name="w">Width.</param>
    /// <param name="numClasses">Classes (labels outside [0, numClasses) are ignored).</param>
    /// <param name="ratio">K_s, the fraction kept per class (at least one when any pixel is mispredicted).</param>
    /// <param name="cap">At most this many per class (0: no cap).</param>
    public static List<BaneSample> Select(ReadOnlySpan<int> labels, ReadOnlySpan<int> predictions, int n, int h, int w, int numClasses, double ratio, int cap)
    {
        int hw = h * w;
        if (labels.Length != n * hw || predictions.Length != n * hw)
            throw new ArgumentException($"Bane: {labels.Length} labels and {predictions.Length} predictions for {n}x{h}x{w}.");
        var result = new List<BaneSample>();
        var mask = new bool[hw];
        var perClass = new List<BaneSample>();
        for (int c = 0; c < numClasses; c++)
        {
            perClass.Clear();
            for (int img = 0; img < n; img++)
            {
                var lab = labels.Slice(img * hw, hw);
                var pred = predictions.Slice(img * hw, hw);
                bool any = false;
                for (int i = 0; i < hw; i++) any |= mask[i] = lab[i] == c && pred[i] != c;
                if (!any) continue;
                var d = DistanceTransform.Squared(mask, h, w);
                for (int i = 0; i < hw; i++)
                    if (mask[i]) perClass.Add(new BaneSample(img * hw + i, c, pred[i], d[i]));
            }
            if (perClass.Count == 0) continue;
            int keep = (int)Math.Ceiling(ratio * perClass.Count);
            if (cap > 0) keep = Math.Min(keep, cap);
            // Stable: equal distances keep image-then-pixel order.
            result.AddRange(perClass.OrderBy(s => s.SquaredDistance).Take(keep));
        }
        return result;
    }
}
