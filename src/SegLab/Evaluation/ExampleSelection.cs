// Which images a report shows: the worst and the best by image mIoU, chosen greedily in rank order so that no two
// shown images are near-duplicate frames of one video sequence. CamVid-style ids "0016E5_07959" name a sequence
// (before the last '_') and a frame number (after it); two such images conflict when they share the sequence and
// lie fewer than MinFrameDistance frames apart. Ids without a frame number never conflict.
using SegLab.Metrics;

namespace SegLab.Evaluation;

/// <summary>Chooses the worst and best images of an evaluation, spread over sequences and frames.</summary>
public static class ExampleSelection
{
    /// <summary>
    /// The default least frame distance between two shown images of one sequence: 30 frames (one second of CamVid's
    /// 30 fps video; its val frames are 2 apart, its test frames 30).
    /// </summary>
    public const int DefaultMinFrameDistance = 30;

    /// <summary>The sequence and frame of a CamVid-style id ("0016E5_07959" is sequence "0016E5", frame 7959), or null.</summary>
    /// <param name="id">Image id.</param>
    public static (string Sequence, long Frame)? Frame(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        int cut = id.LastIndexOf('_');
        if (cut <= 0 || cut == id.Length - 1) return null;
        var digits = id.AsSpan(cut + 1);
        foreach (char c in digits)
            if (!char.IsAsciiDigit(c)) return null;
        return digits.Length <= 15 ? (id[..cut], long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture)) : null;
    }

    /// <summary>Whether two images are frames of one sequence fewer than <paramref name="minFrameDistance"/> frames apart.</summary>
    /// <param name="a">One id.</param>
    /// <param name="b">The other id.</param>
    /// <param name="minFrameDistance">Least distance allowed; 0 or less: only an id conflicts with itself.</param>
    public static bool TooClose(string a, string b, int minFrameDistance)
    {
        if (string.Equals(a, b, StringComparison.Ordinal)) return true;
        if (Frame(a) is not var (sa, fa) || Frame(b) is not var (sb, fb)) return false;
        return string.Equals(sa, sb, StringComparison.Ordinal) && Math.Abs(fa - fb) < minFrameDistance;
    }

    /// <summary>
    /// The worst and the best images: the worst chosen first, lowest image mIoU first, then the best, highest first,
    /// each skipping any image too close to one already chosen (of either list). When fewer scored images exist than
    /// <paramref name="worst"/> + <paramref name="best"/>, the best get at most half of them, so that both lists show.
    /// </summary>
    /// <param name="scores">Every candidate's score; NaN image mIoU (no valid pixels) is never chosen.</param>
    /// <param name="worst">How many worst images at most.</param>
    /// <param name="best">How many best images at most.</param>
    /// <param name="minFrameDistance">Least frame distance of two chosen images of one sequence.</param>
    public static (IReadOnlyList<ImageScore> Worst, IReadOnlyList<ImageScore> Best) Choose(IReadOnlyList<ImageScore> scores, int worst, int best, int minFrameDistance = DefaultMinFrameDistance)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var scored = scores.Where(s => !double.IsNaN(s.MIoU)).ToList();
        worst = Math.Max(0, worst);
        best = Math.Max(0, best);
        if (worst + best > scored.Count && best > 0)
        {
            best = Math.Min(best, scored.Count / 2);
            worst = Math.Min(worst, scored.Count - best);
        }
        var chosen = new List<ImageScore>();
        var w = Pick(scored.OrderBy(s => s.MIoU).ThenBy(s => s.Id, StringComparer.Ordinal), worst, minFrameDistance, chosen);
        var b = Pick(scored.OrderByDescending(s => s.MIoU).ThenBy(s => s.Id, StringComparer.Ordinal), best, minFrameDistance, chosen);
        return (w, b);
    }

    private static List<ImageScore> Pick(IEnumerable<ImageScore> ranked, int k, int minFrameDistance, List<ImageScore> chosen)
    {
        var picked = new List<ImageScore>();
        foreach (var s in ranked)
        {
            if (picked.Count >= k) break;
            if (chosen.Any(c => TooClose(c.Id, s.Id, minFrameDistance))) continue;
            picked.Add(s);
            chosen.Add(s);
        }
        return picked;
    }
}

/// <summary>
/// Keeps the predictions of the images that may be shown (the <see cref="Capacity"/> lowest and highest by image
/// mIoU), as bytes, while an evaluation streams; the images themselves are reloaded for the few finally chosen.
/// </summary>
internal sealed class ExamplePool(int capacity)
{
    private readonly List<(ImageScore Score, int Index, byte[] Prediction)> low = [], high = [];

    /// <summary>Candidates kept at each end.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>Offers one evaluated image.</summary>
    public void Offer(ImageScore score, int index, int[] prediction)
    {
        if (Capacity <= 0 || double.IsNaN(score.MIoU)) return;
        bool keepLow = low.Count < Capacity || Compare(score, low[^1].Score) < 0;
        bool keepHigh = high.Count < Capacity || Compare(score, high[^1].Score, descending: true) < 0;
        if (!keepLow && !keepHigh) return;
        var bytes = new byte[prediction.Length];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)prediction[i];
        if (keepLow) Insert(low, (score, index, bytes), descending: false);
        if (keepHigh) Insert(high, (score, index, bytes), descending: true);
    }

    /// <summary>Every kept candidate's score, once each.</summary>
    public IReadOnlyList<ImageScore> Scores => low.Concat(high).Select(c => c.Score).DistinctBy(s => s.Id).ToList();

    /// <summary>The dataset index and prediction kept for an image.</summary>
    public (int Index, int[] Prediction) Get(string id)
    {
        var c = low.Concat(high).First(x => x.Score.Id == id);
        return (c.Index, c.Prediction.Select(v => (int)v).ToArray());
    }

    private void Insert(List<(ImageScore Score, int Index, byte[] Prediction)> list, (ImageScore, int, byte[]) item, bool descending)
    {
        list.Add(item);
        list.Sort((a, b) => Compare(a.Score, b.Score, descending));
        if (list.Count > Capacity) list.RemoveAt(list.Count - 1);
    }

    private static int Compare(ImageScore a, ImageScore b, bool descending = false)
    {
        int c = descending ? b.MIoU.CompareTo(a.MIoU) : a.MIoU.CompareTo(b.MIoU);
        return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
    }
}
