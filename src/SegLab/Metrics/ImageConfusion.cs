// Per-image, per-class pixel counts (tp, fp, fn) over valid (non-ignored) pixels: the "process" half of the metrics
// (segmentation_models_pytorch's tp/fp/fn-then-reduce, mmsegmentation's process/compute split). Every dataset-wise
// and image-wise metric is a reduction of these records (MetricAccumulator); definitions in docs PAPERS.md A.1.
namespace SegLab.Metrics;

/// <summary>
/// Pixel counts of one image per class: true positives, false positives and false negatives over the valid pixels
/// (ground truth not equal to the ignore index), optionally with the full ground-truth x prediction confusion matrix.
/// Immutable once built.
/// </summary>
public sealed class ImageConfusion
{
    private ImageConfusion(string id, long[] tp, long[] fp, long[] fn, long valid, long correct, long[]? confusion)
    {
        Id = id;
        NumClasses = tp.Length;
        Tp = tp;
        Fp = fp;
        Fn = fn;
        Valid = valid;
        Correct = correct;
        Confusion = confusion;
    }

    /// <summary>The image's identifier (e.g. its file name), used in error messages, worst-image lists and state files.</summary>
    public string Id { get; }

    /// <summary>Number of classes K.</summary>
    public int NumClasses { get; }

    /// <summary>Per class: valid pixels of that class predicted as that class.</summary>
    public long[] Tp { get; }

    /// <summary>Per class: valid pixels predicted as that class whose ground truth is another class.</summary>
    public long[] Fp { get; }

    /// <summary>Per class: valid pixels of that class predicted as something else.</summary>
    public long[] Fn { get; }

    /// <summary>Number of valid (non-ignored) pixels.</summary>
    public long Valid { get; }

    /// <summary>Number of valid pixels predicted correctly (the sum of <see cref="Tp"/>).</summary>
    public long Correct { get; }

    /// <summary>
    /// Row-major K x K counts (row: ground-truth class, column: predicted class) over valid pixels, or null when the
    /// record was built from per-class counts only.
    /// </summary>
    public long[]? Confusion { get; }

    /// <summary>Pixel accuracy of the image, Correct / Valid as a fraction; NaN when there are no valid pixels.</summary>
    public double Accuracy => Valid == 0 ? double.NaN : (double)Correct / Valid;

    /// <summary>Counts the pixels of one prediction against its ground truth in a single pass.</summary>
    /// <param name="id">The image's identifier, named in errors.</param>
    /// <param name="prediction">Predicted class per pixel; only pixels with valid ground truth are read.</param>
    /// <param name="groundTruth">Ground-truth class per pixel, or <paramref name="ignoreIndex"/> for pixels not scored.</param>
    /// <param name="numClasses">Number of classes K (at least 1).</param>
    /// <param name="ignoreIndex">Ground-truth value of pixels that are not scored (e.g. 11 or 255 for void).</param>
    /// <returns>The counts, with the confusion matrix.</returns>
    /// <exception cref="ArgumentException">Lengths differ, or a valid pixel's prediction is outside [0, K), or a
    /// ground-truth value is neither a class nor the ignore index.</exception>
    public static ImageConfusion Compute(string id, ReadOnlySpan<int> prediction, ReadOnlySpan<int> groundTruth, int numClasses, int ignoreIndex)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (numClasses < 1) throw new ArgumentException($"ImageConfusion '{id}': numClasses {numClasses} must be at least 1.");
        if (prediction.Length != groundTruth.Length)
            throw new ArgumentException($"ImageConfusion '{id}': prediction has {prediction.Length} pixels but ground truth has {groundTruth.Length}.");
        int k = numClasses;
        var confusion = new long[k * k];
        uint uk = (uint)k;
        for (int i = 0; i < groundTruth.Length; i++)
        {
            int g = groundTruth[i];
            if (g == ignoreIndex) continue;
            int p = prediction[i];
            if ((uint)g >= uk) throw BadLabel(id, "ground-truth", g, i, k, ignoreIndex);
            if ((uint)p >= uk) throw BadLabel(id, "prediction", p, i, k, ignoreIndex);
            confusion[g * k + p]++;
        }
        return FromMatrix(id, confusion, k);
    }

    /// <summary>Builds a record from per-class counts (for deserialisation and for sums over images or attacks).</summary>
    /// <param name="id">The image's identifier.</param>
    /// <param name="tp">True positives per class (copied).</param>
    /// <param name="fp">False positives per class (copied).</param>
    /// <param name="fn">False negatives per class (copied).</param>
    /// <returns>The record; Valid = sum(tp + fn), Correct = sum(tp).</returns>
    /// <exception cref="ArgumentException">Lengths differ, are zero, or a count is negative.</exception>
    public static ImageConfusion FromCounts(string id, ReadOnlySpan<long> tp, ReadOnlySpan<long> fp, ReadOnlySpan<long> fn)
    {
        ArgumentNullException.ThrowIfNull(id);
        int k = tp.Length;
        if (k == 0 || fp.Length != k || fn.Length != k)
            throw new ArgumentException($"ImageConfusion '{id}': tp, fp and fn have {tp.Length}, {fp.Length} and {fn.Length} classes; expected one equal, positive count.");
        long valid = 0, correct = 0;
        for (int c = 0; c < k; c++)
        {
            if (tp[c] < 0 || fp[c] < 0 || fn[c] < 0)
                throw new ArgumentException($"ImageConfusion '{id}': class {c} has a negative count (tp {tp[c]}, fp {fp[c]}, fn {fn[c]}).");
            valid += tp[c] + fn[c];
            correct += tp[c];
        }
        return new ImageConfusion(id, tp.ToArray(), fp.ToArray(), fn.ToArray(), valid, correct, null);
    }

    /// <summary>
    /// Builds a record from a ground-truth x prediction matrix with K rows and K or more columns; columns beyond K
    /// count predictions that are no class (e.g. a "void" output): they are false negatives of the row's class and
    /// nobody's false positives (the "strict" convention of the PyTorch reference).
    /// </summary>
    /// <param name="id">The image's identifier.</param>
    /// <param name="matrix">Row-major counts, <paramref name="numClasses"/> rows of <paramref name="columns"/> entries (copied).</param>
    /// <param name="numClasses">Number of classes K (rows).</param>
    /// <param name="columns">Number of columns (at least K); defaults to K.</param>
    /// <returns>The record; it keeps the K x K part as <see cref="Confusion"/>.</returns>
    /// <exception cref="ArgumentException">The matrix has the wrong size or a negative entry.</exception>
    public static ImageConfusion FromMatrix(string id, ReadOnlySpan<long> matrix, int numClasses, int columns = 0)
    {
        ArgumentNullException.ThrowIfNull(id);
        int k = numClasses;
        int cols = columns == 0 ? k : columns;
        if (k < 1 || cols < k || matrix.Length != (long)k * cols)
            throw new ArgumentException($"ImageConfusion '{id}': a matrix of {matrix.Length} entries does not have {k} rows of {cols} (>= {k}) columns.");
        var tp = new long[k];
        var fp = new long[k];
        var fn = new long[k];
        var square = new long[k * k];
        long valid = 0;
        for (int g = 0; g < k; g++)
        {
            for (int p = 0; p < cols; p++)
            {
                long n = matrix[g * cols + p];
                if (n < 0) throw new ArgumentException($"ImageConfusion '{id}': matrix entry (ground truth {g}, prediction {p}) is negative ({n}).");
                valid += n;
                if (p == g) tp[g] = n;
                else
                {
                    fn[g] += n;
                    if (p < k) fp[p] += n;
                }
                if (p < k) square[g * k + p] = n;
            }
        }
        long correct = 0;
        for (int c = 0; c < k; c++) correct += tp[c];
        return new ImageConfusion(id, tp, fp, fn, valid, correct, square);
    }

    /// <summary>Adds the counts of several records of the same class count (e.g. the images of a batch) under one id.</summary>
    /// <param name="id">The identifier of the sum.</param>
    /// <param name="parts">The records to add (at least one).</param>
    /// <returns>The summed record; it has a confusion matrix only when every part has one.</returns>
    /// <exception cref="ArgumentException">No parts, or class counts differ.</exception>
    public static ImageConfusion Sum(string id, IEnumerable<ImageConfusion> parts)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(parts);
        long[]? tp = null, fp = null, fn = null, matrix = null;
        bool allMatrices = true;
        foreach (var part in parts)
        {
            if (tp is null)
            {
                tp = new long[part.NumClasses];
                fp = new long[part.NumClasses];
                fn = new long[part.NumClasses];
                matrix = new long[part.NumClasses * part.NumClasses];
            }
            else if (part.NumClasses != tp.Length)
                throw new ArgumentException($"ImageConfusion.Sum '{id}': '{part.Id}' has {part.NumClasses} classes, the first part {tp.Length}.");
            for (int c = 0; c < tp.Length; c++)
            {
                tp[c] += part.Tp[c];
                fp![c] += part.Fp[c];
                fn![c] += part.Fn[c];
            }
            if (part.Confusion is null) allMatrices = false;
            else for (int j = 0; j < matrix!.Length; j++) matrix[j] += part.Confusion[j];
        }
        if (tp is null) throw new ArgumentException($"ImageConfusion.Sum '{id}': no records to add.");
        var sum = FromCounts(id, tp, fp, fn);
        return allMatrices ? new ImageConfusion(id, sum.Tp, sum.Fp, sum.Fn, sum.Valid, sum.Correct, matrix) : sum;
    }

    /// <summary>Builds a record from per-class counts and a K x K matrix, checking that they agree (state files).</summary>
    /// <exception cref="ArgumentException">The counts are invalid or disagree with the matrix.</exception>
    internal static ImageConfusion FromCountsAndMatrix(string id, ReadOnlySpan<long> tp, ReadOnlySpan<long> fp, ReadOnlySpan<long> fn, ReadOnlySpan<long> matrix)
    {
        var counts = FromCounts(id, tp, fp, fn);
        int k = counts.NumClasses;
        if (matrix.Length != k * k) throw new ArgumentException($"ImageConfusion '{id}': confusion has {matrix.Length} entries; expected {k}x{k}.");
        for (int c = 0; c < k; c++)
        {
            long row = 0, col = 0;
            for (int j = 0; j < k; j++)
            {
                if (matrix[c * k + j] < 0 || matrix[j * k + c] < 0) throw new ArgumentException($"ImageConfusion '{id}': confusion has a negative entry.");
                if (j != c) { row += matrix[c * k + j]; col += matrix[j * k + c]; }
            }
            if (matrix[c * k + c] != tp[c] || col != fp[c] || row > fn[c])
                throw new ArgumentException($"ImageConfusion '{id}': confusion disagrees with the counts of class {c} (tp {tp[c]}, fp {fp[c]}, fn {fn[c]}).");
        }
        return new ImageConfusion(id, counts.Tp, counts.Fp, counts.Fn, counts.Valid, counts.Correct, matrix.ToArray());
    }

    /// <summary>Ground-truth pixel count of a class (tp + fn).</summary>
    /// <param name="c">Class index.</param>
    public long GroundTruth(int c) => Tp[c] + Fn[c];

    /// <summary>Predicted pixel count of a class over valid pixels (tp + fp).</summary>
    /// <param name="c">Class index.</param>
    public long Predicted(int c) => Tp[c] + Fp[c];

    /// <summary>Union of ground truth and prediction of a class (tp + fp + fn).</summary>
    /// <param name="c">Class index.</param>
    public long Union(int c) => Tp[c] + Fp[c] + Fn[c];

    /// <summary>Intersection over union of a class as a fraction; NaN when the union is 0.</summary>
    /// <param name="c">Class index.</param>
    public double IoU(int c)
    {
        long u = Union(c);
        return u == 0 ? double.NaN : (double)Tp[c] / u;
    }

    /// <summary>The image's mIoU as a fraction: mean IoU over classes with union &gt; 0 (or with ground truth &gt; 0).</summary>
    /// <param name="gtPresentOnly">Average only over classes present in the ground truth.</param>
    /// <returns>The mean, or NaN when no class qualifies.</returns>
    public double MeanIoU(bool gtPresentOnly = false) => MeanIoU(gtPresentOnly, null);

    /// <summary>The image's mIoU over the classes not excluded (see <see cref="MeanIoU(bool)"/>).</summary>
    /// <param name="gtPresentOnly">Average only over classes present in the ground truth.</param>
    /// <param name="excluded">Per class, true to leave it out of the average; null keeps all.</param>
    /// <returns>The mean, or NaN when no class qualifies.</returns>
    /// <exception cref="ArgumentException"><paramref name="excluded"/> does not have one entry per class.</exception>
    public double MeanIoU(bool gtPresentOnly, bool[]? excluded)
    {
        if (excluded is not null && excluded.Length != NumClasses)
            throw new ArgumentException($"ImageConfusion '{Id}': {excluded.Length} exclusion flags for {NumClasses} classes.");
        double sum = 0;
        int n = 0;
        for (int c = 0; c < NumClasses; c++)
        {
            if (excluded is not null && excluded[c]) continue;
            long u = Union(c);
            if (u == 0 || (gtPresentOnly && GroundTruth(c) == 0)) continue;
            sum += (double)Tp[c] / u;
            n++;
        }
        return n == 0 ? double.NaN : sum / n;
    }

    private static ArgumentException BadLabel(string id, string what, int value, int index, int k, int ignoreIndex) =>
        new($"ImageConfusion '{id}': {what} value {value} at pixel {index} is not a class in [0, {k})"
            + (what == "ground-truth" ? $" nor the ignore index {ignoreIndex}." : "."));
}
