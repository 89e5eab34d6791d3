// Per-image, per-class pixel counts of one prediction (PAPERS.md A.1): intersections (TP), ground-truth and
// predicted counts over valid pixels, from which every selection (worst accuracy, worst image mIoU, SEA's
// greedy worst-case dataset mIoU) is computed without another forward pass.
// Kept beside SegLab.Metrics.ImageConfusion (same definitions, A.1) because APGD also needs the ignored-pixel count;
// ToConfusion converts for the metrics code.
using System.Text.Json.Serialization;

namespace SegLab.Robustness;

/// <summary>Pixel counts of one prediction against one label map (valid = non-ignored pixels).</summary>
public sealed record ImageCounts(long[] Tp, long[] Gt, long[] Pred, long Valid, long Ignored)
{
    /// <summary>Counts for a prediction.</summary>
    /// <param name="prediction">Predicted class per pixel.</param>
    /// <param name="labels">Label per pixel, -1 = ignored.</param>
    /// <param name="classes">Scored classes.</param>
    public static ImageCounts Compute(ReadOnlySpan<int> prediction, ReadOnlySpan<int> labels, int classes)
    {
        if (prediction.Length != labels.Length)
            throw new ArgumentException($"image counts: {prediction.Length} predictions for {labels.Length} labels.");
        long[] tp = new long[classes], gt = new long[classes], pred = new long[classes];
        long valid = 0, ignored = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int y = labels[i];
            if (y < 0)
            {
                ignored++;
                continue;
            }
            int p = prediction[i];
            valid++;
            gt[y]++;
            if ((uint)p < (uint)classes) pred[p]++;
            if (p == y) tp[y]++;
        }
        return new ImageCounts(tp, gt, pred, valid, ignored);
    }

    /// <summary>The same counts as a <see cref="SegLab.Metrics.ImageConfusion"/> (for MetricAccumulator and reports).</summary>
    /// <param name="id">Image id.</param>
    public SegLab.Metrics.ImageConfusion ToConfusion(string id)
    {
        var fp = new long[Tp.Length];
        var fn = new long[Tp.Length];
        for (int c = 0; c < Tp.Length; c++)
        {
            fp[c] = Pred[c] - Tp[c];
            fn[c] = Gt[c] - Tp[c];
        }
        return SegLab.Metrics.ImageConfusion.FromCounts(id, Tp, fp, fn);
    }

    /// <summary>Correctly classified valid pixels.</summary>
    [JsonIgnore]
    public long Correct => Tp.Sum();

    /// <summary>Union of class c: GT + predicted - TP.</summary>
    /// <param name="c">Class.</param>
    public long Union(int c) => Gt[c] + Pred[c] - Tp[c];

    /// <summary>Pixel accuracy over valid pixels, in [0, 1] (1 for an image without valid pixels).</summary>
    [JsonIgnore]
    public double Accuracy => Valid == 0 ? 1 : (double)Correct / Valid;

    /// <summary>
    /// APGD's per-image accuracy over all pixels: ignored pixels count as correct, or as wrong when
    /// <paramref name="ignoredCorrect"/> is false (the official code's start point).
    /// </summary>
    /// <param name="ignoredCorrect">Whether ignored pixels count as correct.</param>
    public double AccuracyAllPixels(bool ignoredCorrect)
    {
        long all = Valid + Ignored;
        return all == 0 ? 1 : (double)(Correct + (ignoredCorrect ? Ignored : 0)) / all;
    }

    /// <summary>Mean IoU over classes with a non-empty union (NaN when there is none).</summary>
    /// <param name="skipClass">A class left out of the average (foreground variant), or -1.</param>
    public double MeanIoU(int skipClass = -1) => MeanIoU(skipClass < 0 ? [] : new ReadOnlySpan<int>(in skipClass));

    /// <summary>Mean IoU over classes present (union &gt; 0), leaving out <paramref name="excluded"/>; NaN when none is present.</summary>
    /// <param name="excluded">Classes left out (foreground metrics).</param>
    public double MeanIoU(ReadOnlySpan<int> excluded)
    {
        double sum = 0;
        int k = 0;
        for (int c = 0; c < Tp.Length; c++)
        {
            long u = Union(c);
            if (u == 0 || excluded.Contains(c)) continue;
            sum += (double)Tp[c] / u;
            k++;
        }
        return k == 0 ? double.NaN : sum / k;
    }

    /// <summary>Whether a is a stronger outcome than b for a selection rule (lower is stronger).</summary>
    /// <param name="a">Candidate.</param>
    /// <param name="b">Current.</param>
    /// <param name="byMeanIoU">Image mIoU first, accuracy on ties (Halmosi); else accuracy first, mIoU on ties (SEA).</param>
    public static bool Stronger(ImageCounts a, ImageCounts b, bool byMeanIoU)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        double ma = Nz(a.MeanIoU()), mb = Nz(b.MeanIoU());
        return byMeanIoU
            ? ma < mb || (ma == mb && a.Accuracy < b.Accuracy)
            : a.Accuracy < b.Accuracy || (a.Accuracy == b.Accuracy && ma < mb);
    }

    private static double Nz(double v) => double.IsNaN(v) ? 1 : v;
}
