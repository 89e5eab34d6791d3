// Dataset-level robustness results from per-image outcomes (PAPERS.md A.1, A.4, A.6): per radius the clean and
// worst-case metrics (pooled and per-image pixel accuracy, dataset and image mIoU, foreground variants), every
// attack's own metrics and win count, SEA's greedy worst-case mIoU, the size-bias analysis (IoU and recall by
// object area, clean against attacked; image mIoU minus dataset mIoU), and AutoAttack-style sanity checks.
// All values in percent (0-100).
using System.Globalization;

namespace SegLab.Robustness.Protocols;

/// <summary>Metrics of one selection of predictions, in percent.</summary>
/// <param name="PixelAccuracy">Pooled: sum of correct / sum of valid pixels.</param>
/// <param name="ImagePixelAccuracy">Mean of per-image accuracies (SEA's worst-case accuracy).</param>
/// <param name="MIoU">Dataset mIoU from summed intersections and unions.</param>
/// <param name="ImageMIoU">Mean over images of the per-image mIoU.</param>
/// <param name="ForegroundMIoU">Dataset mIoU without the excluded classes (the same as MIoU when none is excluded).</param>
/// <param name="ForegroundImageMIoU">Image mIoU without the excluded classes.</param>
public sealed record MetricSet(double PixelAccuracy, double ImagePixelAccuracy, double MIoU, double ImageMIoU, double ForegroundMIoU, double ForegroundImageMIoU)
{
    /// <summary>Metrics of one counts record per image.</summary>
    /// <param name="selected">Counts per image.</param>
    /// <param name="excluded">Classes dropped by the foreground variants (eval's and attack's --exclude).</param>
    public static MetricSet From(IReadOnlyList<ImageCounts> selected, IReadOnlyList<int> excluded)
    {
        var skip = excluded.ToArray();
        ArgumentNullException.ThrowIfNull(selected);
        long correct = selected.Sum(c => c.Correct), valid = selected.Sum(c => c.Valid);
        return new MetricSet(
            valid == 0 ? double.NaN : 100.0 * correct / valid,
            100 * Mean(selected.Select(c => c.Accuracy)),
            100 * WorstCase.DatasetMeanIoU(selected),
            100 * Mean(selected.Select(c => c.MeanIoU())),
            100 * WorstCase.DatasetMeanIoU(selected, skip),
            100 * Mean(selected.Select(c => c.MeanIoU(skip))));
    }

    internal static double Mean(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToArray();
        return v.Length == 0 ? double.NaN : v.Average();
    }
}

/// <summary>One attack's results over the images at one radius.</summary>
/// <param name="Attack">Attack name.</param>
/// <param name="Metrics">Its metrics.</param>
/// <param name="Wins">Images where it was the protocol's worst case.</param>
/// <param name="ImagesAboveClean">Images where its accuracy exceeds the clean accuracy (a sanity flag).</param>
/// <param name="BallViolations">Elements outside the ball or [0, 1] over all images (must be 0).</param>
/// <param name="MaxLinfNorm">Largest perturbation norm, times 255.</param>
/// <param name="SecondsPerImage">Mean wall time per image.</param>
/// <param name="ForwardsPerImage">Mean forward passes per image.</param>
/// <param name="MeanTrace">The attack's loss, accuracy and image mIoU at each iteration, averaged over images, or null where no trace was kept.</param>
public sealed record AttackSummary(string Attack, MetricSet Metrics, int Wins, int ImagesAboveClean, long BallViolations, double MaxLinfNorm, double SecondsPerImage, double ForwardsPerImage,
    IReadOnlyList<TracePoint>? MeanTrace = null);

/// <summary>One iteration of an attack, averaged over the images that reached it.</summary>
/// <param name="Step">Steps taken (0 = start point).</param>
/// <param name="Loss">Mean attack loss (each image's mean over all pixels, ignored pixels 0).</param>
/// <param name="PixelAccuracy">Mean pixel accuracy, percent.</param>
/// <param name="ImageMIoU">Mean image mIoU, percent.</param>
/// <param name="Images">Images averaged.</param>
public sealed record TracePoint(int Step, double Loss, double PixelAccuracy, double ImageMIoU, int Images);

/// <summary>Objects (image, class) in one area bin: IoU and recall clean and under the worst case, in percent.</summary>
/// <param name="Range">Bin label (share of the image).</param>
/// <param name="Objects">(image, class) pairs with ground truth in the bin.</param>
/// <param name="CleanIoU">Mean IoU clean.</param>
/// <param name="AttackedIoU">Mean IoU under the worst case.</param>
/// <param name="CleanRecall">Mean recall clean.</param>
/// <param name="AttackedRecall">Mean recall under the worst case.</param>
public sealed record SizeBin(string Range, int Objects, double CleanIoU, double AttackedIoU, double CleanRecall, double AttackedRecall);

/// <summary>Results at one radius.</summary>
/// <param name="Eps">Radius as text (8/255).</param>
/// <param name="EpsValue">Radius.</param>
/// <param name="Clean">Clean metrics.</param>
/// <param name="WorstCase">Metrics of the per-image worst case (clean image included as a candidate).</param>
/// <param name="GreedyWorstMIoU">SEA's greedy worst-case dataset mIoU, or null.</param>
/// <param name="Attacks">Per attack.</param>
/// <param name="SizeBias">IoU by object area bin.</param>
/// <param name="SizeBiasGapClean">Image mIoU minus dataset mIoU, clean.</param>
/// <param name="SizeBiasGapWorst">Image mIoU minus dataset mIoU, worst case.</param>
/// <param name="PerClassIoUClean">Dataset-wise IoU per class of the clean predictions (NaN where the union is empty), or null.</param>
/// <param name="PerClassIoUWorst">Dataset-wise IoU per class of the per-image worst case, or null.</param>
/// <param name="CleanToWorst">
/// Pixels correct on the clean image, by class (row) and worst-case prediction (column), summed over images
/// (<see cref="Protocols.CleanToWorst"/>), or null when the state holds none.
/// </param>
public sealed record EpsSummary(string Eps, double EpsValue, MetricSet Clean, MetricSet WorstCase, double? GreedyWorstMIoU, IReadOnlyList<AttackSummary> Attacks,
    IReadOnlyList<SizeBin> SizeBias, double SizeBiasGapClean, double SizeBiasGapWorst, double[]? PerClassIoUClean = null, double[]? PerClassIoUWorst = null,
    long[][]? CleanToWorst = null);

/// <summary>The chosen attack of one image at one radius.</summary>
/// <param name="Id">Image id.</param>
/// <param name="Eps">Radius as text.</param>
/// <param name="Chosen">Chosen candidate ("clean" when no attack lowered the score).</param>
/// <param name="CleanAccuracy">Clean accuracy, percent.</param>
/// <param name="Accuracy">Worst-case accuracy, percent.</param>
/// <param name="CleanMIoU">Clean image mIoU, percent.</param>
/// <param name="MIoU">Worst-case image mIoU, percent.</param>
public sealed record ImageChoice(string Id, string Eps, string Chosen, double CleanAccuracy, double Accuracy, double CleanMIoU, double MIoU);

/// <summary>Sanity checks (AutoAttack's checks.py, adapted).</summary>
/// <param name="Gradients">Input gradients computed.</param>
/// <param name="ZeroGradients">Gradients that were entirely zero (gradient masking, or a saturated loss).</param>
/// <param name="NonFiniteGradients">Gradients with NaN or infinity.</param>
/// <param name="MaxForwardDifference">Largest difference between two clean forward passes of one image.</param>
/// <param name="BallViolations">Adversarial elements outside the ball or [0, 1] (exact check; must be 0).</param>
/// <param name="AttackRunsAboveClean">(image, radius, attack) runs whose accuracy exceeds clean.</param>
/// <param name="WorstAboveClean">(image, radius) worst cases above clean (impossible by construction; must be 0).</param>
/// <param name="Warnings">Human-readable findings.</param>
public sealed record SanityReport(long Gradients, long ZeroGradients, long NonFiniteGradients, double MaxForwardDifference, long BallViolations,
    int AttackRunsAboveClean, int WorstAboveClean, IReadOnlyList<string> Warnings);

/// <summary>A whole protocol run.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Protocol">Protocol name.</param>
/// <param name="ProtocolDescription">What it runs.</param>
/// <param name="Selection">Per-image rule.</param>
/// <param name="LossLogits">Which logits the losses read.</param>
/// <param name="Images">Images evaluated.</param>
/// <param name="Eps">Per radius.</param>
/// <param name="PerImage">Chosen attack per image and radius.</param>
/// <param name="Sanity">Sanity checks.</param>
/// <param name="Seconds">Total attack wall time (sum over images).</param>
public sealed record RobustnessReport(string Model, string Protocol, string ProtocolDescription, string Selection, string LossLogits, int Images,
    IReadOnlyList<EpsSummary> Eps, IReadOnlyList<ImageChoice> PerImage, SanityReport Sanity, double Seconds)
{
    /// <summary>Classes left out of the foreground metrics (empty: they equal the full ones).</summary>
    public IReadOnlyList<int> ExcludedClasses { get; init; } = [];

    /// <summary>Where the images came from and which shard of them this run covers (what `seglab merge` needs), or null.</summary>
    public RobustnessRunInfo? Run { get; init; }
}

/// <summary>The data and shard of a protocol run, kept in robustness.json so that shards can be merged.</summary>
/// <param name="Data">Dataset folder.</param>
/// <param name="Dataset">Dataset name (its class table when <paramref name="ClassTable"/> is null).</param>
/// <param name="Split">Split.</param>
/// <param name="Layout">Dataset layout option.</param>
/// <param name="ClassTable">Class-table option, or null.</param>
/// <param name="IgnoreIndex">Label of ignored pixels.</param>
/// <param name="Shard">The shard ("i/n"), or null for the whole selection.</param>
/// <param name="ShardSource">"explicit", "slurm" or "kubernetes", or null.</param>
/// <param name="ShardTask">The scheduler's task behind the shard, or null.</param>
/// <param name="MergedShards">Shards merged into this result (null for a run).</param>
/// <param name="MissingShards">Shards missing from a partial merge (null otherwise).</param>
public sealed record RobustnessRunInfo(string Data, string Dataset, string Split, string Layout, string? ClassTable, int IgnoreIndex, string? Shard, string? ShardSource, string? ShardTask,
    int? MergedShards = null, IReadOnlyList<string>? MissingShards = null);

/// <summary>Builds a <see cref="RobustnessReport"/> from per-image results without any forward pass.</summary>
public static class RobustnessSummary
{
    private static readonly (string Label, double Lo, double Hi)[] Bins =
        [("<0.1%", 0, 0.001), ("0.1-1%", 0.001, 0.01), ("1-10%", 0.01, 0.1), (">=10%", 0.1, 1.01)];

    /// <summary>Summarises a run.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="protocol">The protocol.</param>
    /// <param name="lossLogits">Loss logits used.</param>
    /// <param name="eps">Radii.</param>
    /// <param name="images">Per-image results.</param>
    /// <param name="excluded">Classes dropped by the foreground metrics (none by default, as in seglab eval).</param>
    public static RobustnessReport Build(string model, Protocol protocol, LossLogits lossLogits, IReadOnlyList<double> eps, IReadOnlyList<ImageRobustness> images, IReadOnlyList<int>? excluded = null)
    {
        var background = excluded ?? [];
        ArgumentNullException.ThrowIfNull(protocol);
        ArgumentNullException.ThrowIfNull(eps);
        ArgumentNullException.ThrowIfNull(images);
        var summaries = new List<EpsSummary>();
        var choices = new List<ImageChoice>();
        int runsAbove = 0, worstAbove = 0;
        long violations = 0;
        var clean = images.Select(i => i.Clean).ToArray();
        var cleanMetrics = MetricSet.From(clean, background);
        foreach (double e in eps)
        {
            string epsText = LinfBall.FormatEps(e);
            var names = images.Count == 0 ? [] : images[0].At(e).Attacks.Select(a => a.Attack).ToArray();
            var perImage = images.Select(i => i.CandidatesAt(e).Select(c => c.Counts).ToArray()).ToArray();
            var chosen = perImage.Select(c => WorstCase.Strongest(c, protocol.Selection)).ToArray();
            var worst = perImage.Select((c, i) => c[chosen[i]]).ToArray();
            for (int i = 0; i < images.Count; i++)
            {
                var cand = images[i].CandidatesAt(e);
                choices.Add(new ImageChoice(images[i].Id, epsText, cand[chosen[i]].Name, 100 * clean[i].Accuracy, 100 * worst[i].Accuracy,
                    100 * clean[i].MeanIoU(), 100 * worst[i].MeanIoU()));
                if (worst[i].Accuracy > clean[i].Accuracy) worstAbove++;
            }
            var attacks = new List<AttackSummary>();
            for (int a = 0; a < names.Length; a++)
            {
                var outs = images.Select(i => i.At(e).Attacks[a]).ToArray();
                int above = outs.Select((o, i) => o.Counts.Accuracy > clean[i].Accuracy ? 1 : 0).Sum();
                runsAbove += above;
                long v = outs.Sum(o => o.Violations);
                violations += v;
                attacks.Add(new AttackSummary(names[a], MetricSet.From(outs.Select(o => o.Counts).ToArray(), background), chosen.Count(c => c == a + 1), above, v,
                    outs.Length == 0 ? 0 : outs.Max(o => o.LinfNorm) * 255, outs.Length == 0 ? 0 : outs.Average(o => o.Seconds), outs.Length == 0 ? 0 : outs.Average(o => (double)o.Forwards),
                    MeanTrace(outs)));
            }
            double? greedy = protocol.Greedy && images.Count > 0 ? 100 * WorstCase.GreedyMeanIoU(perImage).MeanIoU : null;
            var worstMetrics = MetricSet.From(worst, background);
            summaries.Add(new EpsSummary(epsText, e, cleanMetrics, worstMetrics, greedy, attacks, SizeBias(clean, worst),
                cleanMetrics.ImageMIoU - cleanMetrics.MIoU, worstMetrics.ImageMIoU - worstMetrics.MIoU, PerClassIoU(clean), PerClassIoU(worst),
                images.Count == 0 ? null : CleanToWorst.Sum(images.Select(i => i.At(e).CleanToWorst))));
        }
        var sanity = Sanity(images, violations, runsAbove, worstAbove);
        return new RobustnessReport(model, protocol.Name, protocol.Description, protocol.Selection.ToString(), lossLogits.ToString(), images.Count,
            summaries, choices, sanity, images.Sum(i => i.Seconds)) { ExcludedClasses = [.. background] };
    }

    /// <summary>An attack's trace averaged over images step by step, or null when an image has no trace.</summary>
    /// <param name="outcomes">The attack's outcome on each image at one radius.</param>
    public static IReadOnlyList<TracePoint>? MeanTrace(IReadOnlyList<AttackOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        if (outcomes.Count == 0 || outcomes.Any(o => o.Trace is null)) return null;
        return outcomes.SelectMany(o => o.Trace!).GroupBy(t => t.Step).OrderBy(g => g.Key)
            .Select(g => new TracePoint(g.Key, g.Average(t => t.Loss), 100 * g.Average(t => t.Accuracy), 100 * MetricSet.Mean(g.Select(t => t.MeanIoU)), g.Count()))
            .ToList();
    }

    /// <summary>Dataset-wise IoU per class in percent (summed intersections over summed unions; NaN where the union is 0).</summary>
    /// <param name="selected">Counts per image.</param>
    public static double[] PerClassIoU(IReadOnlyList<ImageCounts> selected)
    {
        ArgumentNullException.ThrowIfNull(selected);
        int k = selected.Count == 0 ? 0 : selected[0].Tp.Length;
        var iou = new double[k];
        for (int c = 0; c < k; c++)
        {
            long tp = selected.Sum(x => x.Tp[c]), union = selected.Sum(x => x.Union(c));
            iou[c] = union == 0 ? double.NaN : 100.0 * tp / union;
        }
        return iou;
    }

    /// <summary>Mean IoU and recall per object-area bin, clean against the worst case.</summary>
    /// <param name="clean">Clean counts per image.</param>
    /// <param name="worst">Worst-case counts per image.</param>
    public static IReadOnlyList<SizeBin> SizeBias(IReadOnlyList<ImageCounts> clean, IReadOnlyList<ImageCounts> worst)
    {
        ArgumentNullException.ThrowIfNull(clean);
        ArgumentNullException.ThrowIfNull(worst);
        var result = new List<SizeBin>();
        foreach (var (label, lo, hi) in Bins)
        {
            var ci = new List<double>(); var ai = new List<double>(); var cr = new List<double>(); var ar = new List<double>();
            for (int i = 0; i < clean.Count; i++)
            {
                var c = clean[i];
                double area = c.Valid + c.Ignored;
                for (int k = 0; k < c.Gt.Length; k++)
                {
                    if (c.Gt[k] == 0) continue;
                    double f = c.Gt[k] / area;
                    if (f < lo || f >= hi) continue;
                    ci.Add((double)c.Tp[k] / c.Union(k));
                    cr.Add((double)c.Tp[k] / c.Gt[k]);
                    ai.Add((double)worst[i].Tp[k] / worst[i].Union(k));
                    ar.Add((double)worst[i].Tp[k] / worst[i].Gt[k]);
                }
            }
            result.Add(new SizeBin(label, ci.Count, 100 * MetricSet.Mean(ci), 100 * MetricSet.Mean(ai), 100 * MetricSet.Mean(cr), 100 * MetricSet.Mean(ar)));
        }
        return result;
    }

    private static SanityReport Sanity(IReadOnlyList<ImageRobustness> images, long violations, int runsAbove, int worstAbove)
    {
        long grads = images.Sum(i => i.Gradients), zero = images.Sum(i => i.ZeroGradients), nonFinite = images.Sum(i => i.NonFiniteGradients);
        double diff = images.Count == 0 ? 0 : images.Max(i => i.ForwardDifference);
        var w = new List<string>();
        var ci = CultureInfo.InvariantCulture;
        if (nonFinite > 0) w.Add(string.Format(ci, "{0} of {1} input gradients had NaN or infinite values.", nonFinite, grads));
        if (zero > 0) w.Add(string.Format(ci, "{0} of {1} input gradients were entirely zero (gradient masking, or a loss with no active pixel).", zero, grads));
        if (diff > 1e-4) w.Add(string.Format(ci, "two forward passes on the same image differ by up to {0:G3}: the model is not deterministic (dropout or batch statistics in use?).", diff));
        if (violations > 0) w.Add(string.Format(ci, "{0} adversarial values lie outside the eps-ball or [0, 1].", violations));
        if (runsAbove > 0) w.Add(string.Format(ci, "{0} attack runs ended above the clean accuracy of their image (the clean image remains a candidate of the worst case).", runsAbove));
        if (worstAbove > 0) w.Add(string.Format(ci, "{0} worst cases lie above clean accuracy: a bug.", worstAbove));
        return new SanityReport(grads, zero, nonFinite, diff, violations, runsAbove, worstAbove, w);
    }
}
