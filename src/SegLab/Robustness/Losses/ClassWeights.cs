// Class weights for the balanced masked CE (SEA, arXiv 2306.12941, Eq. 3 and code VOC_WTS): w_c proportional to
// 1/N_c, N_c the pixel count of class c over the training set, normalised to sum 1. Also reads/writes them as JSON.
using System.Text.Json;

namespace SegLab.Robustness.Losses;

/// <summary>Computes, loads and saves balanced-CE class weights.</summary>
public static class ClassWeights
{
    /// <summary>
    /// Weights w_c = (1/N_c) / sum_k (1/N_k) over classes with N_c &gt; 0; classes never seen get 0.
    /// </summary>
    /// <param name="pixelCounts">Pixel count per class over the training set.</param>
    public static double[] FromPixelCounts(IReadOnlyList<long> pixelCounts)
    {
        ArgumentNullException.ThrowIfNull(pixelCounts);
        var w = new double[pixelCounts.Count];
        double total = 0;
        for (int c = 0; c < w.Length; c++)
        {
            if (pixelCounts[c] < 0) throw new ArgumentException($"class weights: class {c} has a negative pixel count {pixelCounts[c]}.");
            if (pixelCounts[c] > 0) total += w[c] = 1.0 / pixelCounts[c];
        }
        if (total == 0) throw new ArgumentException("class weights: every class has zero pixels.");
        for (int c = 0; c < w.Length; c++) w[c] /= total;
        return w;
    }

    /// <summary>Adds the pixel count of each class in <paramref name="labels"/> to <paramref name="counts"/>.</summary>
    /// <param name="labels">Label ids of one image.</param>
    /// <param name="counts">One counter per class; ids outside [0, counts.Length) (void, ignore) are skipped.</param>
    public static void Accumulate(ReadOnlySpan<int> labels, long[] counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        foreach (int y in labels)
            if ((uint)y < (uint)counts.Length) counts[y]++;
    }

    /// <summary>Uniform weights 1/K (the fallback when no training statistics are given).</summary>
    /// <param name="classes">K.</param>
    public static double[] Uniform(int classes) => Enumerable.Repeat(1.0 / classes, classes).ToArray();

    /// <summary>Reads weights from a JSON file: an array of numbers, or an object with a "weights" array.</summary>
    /// <param name="path">The file.</param>
    public static double[] Load(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var arr = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("weights", out var w) ? w : doc.RootElement;
            if (arr.ValueKind != JsonValueKind.Array)
                throw new FormatException($"{path}: expected a JSON array of class weights or an object with a \"weights\" array.");
            return arr.EnumerateArray().Select(e => e.GetDouble()).ToArray();
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not valid JSON ({e.Message}).", e);
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException($"{path}: a class weight is not a number ({e.Message}).", e);
        }
    }
}
