// Collects per-image records (process) and reduces them to a MetricSummary (compute), after mmsegmentation's
// IoUMetric split. Accumulators of disjoint shards merge; every reduction runs over the records sorted by id, so a
// merged accumulator summarises to exactly (bit for bit) what one accumulator over the whole dataset gives.
namespace SegLab.Metrics;

/// <summary>Per-image confusion (and optional small-object) records of a set of images, with their reductions.</summary>
public sealed class MetricAccumulator
{
    private readonly List<ImageConfusion> _images = [];
    private readonly List<SmallObjectRecord> _small = [];
    private readonly Dictionary<string, ImageConfusion> _byId = new(StringComparer.Ordinal);

    /// <summary>Creates an empty accumulator.</summary>
    /// <param name="numClasses">Number of classes K (at least 1).</param>
    public MetricAccumulator(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentException($"MetricAccumulator: numClasses {numClasses} must be at least 1.");
        NumClasses = numClasses;
    }

    /// <summary>Number of classes K.</summary>
    public int NumClasses { get; }

    /// <summary>Number of images added.</summary>
    public int Count => _images.Count;

    /// <summary>The confusion records in the order they were added.</summary>
    public IReadOnlyList<ImageConfusion> Images => _images;

    /// <summary>The small-object records in the order they were added.</summary>
    public IReadOnlyList<SmallObjectRecord> SmallObjectRecords => _small;

    /// <summary>Adds one image's records; image ids must be unique within the accumulator.</summary>
    /// <param name="c">The image's confusion counts.</param>
    /// <param name="s">The image's small-object record (same id and class count), or null.</param>
    /// <exception cref="ArgumentException">Class counts or ids differ, or the id was added before.</exception>
    public void Add(ImageConfusion c, SmallObjectRecord? s = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        Check(c, s);
        if (_byId.ContainsKey(c.Id)) throw new ArgumentException($"MetricAccumulator: image '{c.Id}' was already added; ids must be unique.");
        _byId.Add(c.Id, c);
        _images.Add(c);
        if (s is not null) _small.Add(s);
    }

    /// <summary>Adds all records of another accumulator (a shard of the same dataset); nothing is added on error.</summary>
    /// <param name="other">The accumulator to take records from (unchanged).</param>
    /// <exception cref="ArgumentException">Class counts differ or an image id occurs in both.</exception>
    public void Merge(MetricAccumulator other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(other, this)) throw new ArgumentException("MetricAccumulator: cannot merge an accumulator into itself.");
        if (other.NumClasses != NumClasses)
            throw new ArgumentException($"MetricAccumulator: cannot merge {other.NumClasses} classes into {NumClasses}.");
        foreach (var c in other._images)
            if (_byId.ContainsKey(c.Id)) throw new ArgumentException($"MetricAccumulator: image '{c.Id}' is in both accumulators; shards must be disjoint.");
        foreach (var c in other._images)
        {
            _byId.Add(c.Id, c);
            _images.Add(c);
        }
        _small.AddRange(other._small);
    }

    /// <summary>All images' counts added up (dataset-wise tp, fp, fn).</summary>
    /// <param name="id">Identifier of the sum.</param>
    /// <returns>The sum; an all-zero record when empty.</returns>
    public ImageConfusion Total(string id = "total") =>
        _images.Count == 0 ? ImageConfusion.FromCounts(id, new long[NumClasses], new long[NumClasses], new long[NumClasses]) : ImageConfusion.Sum(id, _images);

    /// <summary>The dataset-wide K x K confusion matrix (row: ground truth, column: prediction), or null when an image lacks one.</summary>
    public long[,]? ConfusionMatrix()
    {
        var total = Total();
        if (total.Confusion is null && _images.Count > 0) return null;
        int k = NumClasses;
        var m = new long[k, k];
        if (total.Confusion is not null)
            for (int g = 0; g < k; g++)
                for (int p = 0; p < k; p++) m[g, p] = total.Confusion[g * k + p];
        return m;
    }

    /// <summary>The images with the lowest image mIoU first (ties broken by id); images without valid pixels are skipped.</summary>
    /// <param name="k">How many to return at most.</param>
    /// <param name="gtPresentOnly">Rank by the mIoU over ground-truth classes only.</param>
    /// <returns>The worst images with their scores (0-100).</returns>
    public IReadOnlyList<ImageScore> Worst(int k, bool gtPresentOnly = false) =>
        _images.Where(i => i.Valid > 0)
            .Select(i => new ImageScore(i.Id, 100 * i.MeanIoU(gtPresentOnly), 100 * i.Accuracy))
            .OrderBy(s => s.MIoU).ThenBy(s => s.Id, StringComparer.Ordinal)
            .Take(Math.Max(0, k)).ToArray();

    /// <summary>Every image's score (0-100; NaN for images without valid pixels), in ordinal order of id.</summary>
    /// <param name="gtPresentOnly">Image mIoU over ground-truth classes only.</param>
    public IReadOnlyList<ImageScore> ImageScores(bool gtPresentOnly = false) =>
        _images.OrderBy(i => i.Id, StringComparer.Ordinal)
            .Select(i => new ImageScore(i.Id, 100 * i.MeanIoU(gtPresentOnly), 100 * i.Accuracy)).ToArray();

    /// <summary>The ids of the <paramref name="k"/> images with the lowest image mIoU.</summary>
    /// <param name="k">How many to return at most.</param>
    public IReadOnlyList<string> WorstIds(int k) => Worst(k).Select(s => s.Id).ToArray();

    /// <summary>Reduces the records to dataset-wise, image-wise, foreground and size-binned metrics (0-100).</summary>
    /// <param name="options">Excluded classes, bin edges, worst count; null for <see cref="MetricOptions.Default"/>.</param>
    /// <returns>The summary.</returns>
    public MetricSummary Summarize(MetricOptions? options = null)
    {
        options ??= MetricOptions.Default;
        options.Validate(NumClasses);
        int k = NumClasses;
        var excluded = options.ExcludedMask(k);
        var images = _images.OrderBy(i => i.Id, StringComparer.Ordinal).ToArray();
        var small = _small.OrderBy(s => s.Id, StringComparer.Ordinal).ToArray();
        var total = Total();

        var iou = new double[k];
        var acc = new double[k];
        for (int c = 0; c < k; c++)
        {
            iou[c] = 100 * total.IoU(c);
            long gt = total.GroundTruth(c);
            acc[c] = gt == 0 ? double.NaN : 100.0 * total.Tp[c] / gt;
        }
        long fgCorrect = 0, fgPixels = 0;
        for (int c = 0; c < k; c++)
            if (!excluded[c]) { fgCorrect += total.Tp[c]; fgPixels += total.GroundTruth(c); }

        double miou = MeanDefined(iou, null), imageMiou = MeanOverImages(images, i => i.MeanIoU());
        return new MetricSummary
        {
            NumClasses = k,
            Images = images.Length,
            ImagesScored = images.Count(i => i.Valid > 0),
            ValidPixels = total.Valid,
            MIoU = miou,
            ImageMIoU = imageMiou,
            ImageMIoUGtOnly = MeanOverImages(images, i => i.MeanIoU(gtPresentOnly: true)),
            PixelAccuracy = total.Valid == 0 ? double.NaN : 100.0 * total.Correct / total.Valid,
            MeanImagePixelAccuracy = MeanOverImages(images, i => i.Accuracy),
            MeanClassAccuracy = MeanDefined(acc, null),
            PerClassIoU = iou,
            PerClassAccuracy = acc,
            ExcludedClasses = [.. options.ExcludedClasses],
            ForegroundMIoU = MeanDefined(iou, excluded),
            ForegroundImageMIoU = MeanOverImages(images, i => i.MeanIoU(false, excluded)),
            ForegroundPixelAccuracy = fgPixels == 0 ? double.NaN : 100.0 * fgCorrect / fgPixels,
            SizeBiasGap = imageMiou - miou,
            WorstImages = Worst(options.WorstCount),
            SmallObjectImages = small.Length,
            ComponentBins = small.Length == 0 ? [] : SizeBins.Components(small, k, options.ComponentAreaEdges),
            AreaFractionBins = SizeBins.AreaFractions(images, k, options.AreaFractionEdges),
        };
    }

    private void Check(ImageConfusion c, SmallObjectRecord? s)
    {
        if (c.NumClasses != NumClasses)
            throw new ArgumentException($"MetricAccumulator: image '{c.Id}' has {c.NumClasses} classes; the accumulator has {NumClasses}.");
        if (s is null) return;
        if (s.Id != c.Id) throw new ArgumentException($"MetricAccumulator: small-object record '{s.Id}' given with confusion record '{c.Id}'.");
        if (s.NumClasses != NumClasses)
            throw new ArgumentException($"MetricAccumulator: small-object record '{s.Id}' has {s.NumClasses} classes; the accumulator has {NumClasses}.");
    }

    /// <summary>Mean of the non-NaN values not excluded; NaN if none.</summary>
    private static double MeanDefined(double[] values, bool[]? excluded)
    {
        double sum = 0;
        int n = 0;
        for (int c = 0; c < values.Length; c++)
        {
            if (double.IsNaN(values[c]) || (excluded is not null && excluded[c])) continue;
            sum += values[c];
            n++;
        }
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>100 x the mean over images of a per-image fraction, skipping images where it is NaN (no valid pixels).</summary>
    private static double MeanOverImages(ImageConfusion[] images, Func<ImageConfusion, double> score)
    {
        double sum = 0;
        int n = 0;
        foreach (var img in images)
        {
            double v = score(img);
            if (double.IsNaN(v)) continue;
            sum += v;
            n++;
        }
        return n == 0 ? double.NaN : 100 * sum / n;
    }
}
