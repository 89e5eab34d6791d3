// What the pixels a model gets right on the clean image become under the per-image worst-case attack (issue 24):
// a K x K count matrix, row = class of a clean-correct pixel (its label, equal to the clean prediction), column =
// the worst-case prediction at that pixel; the diagonal is what survives. Kept per image and radius in the resume
// state (the adversarial predictions themselves are not kept), summed over images for the report.
namespace SegLab.Robustness.Protocols;

/// <summary>Clean-versus-adversarial confusion counts.</summary>
public static class CleanToWorst
{
    /// <summary>Counts [class][prediction under attack] over the valid pixels whose clean prediction equals the label.</summary>
    /// <param name="clean">Clean prediction per pixel.</param>
    /// <param name="adversarial">Worst-case prediction per pixel.</param>
    /// <param name="labels">Label per pixel, -1 = ignored.</param>
    /// <param name="classes">Scored classes.</param>
    public static long[][] Compute(ReadOnlySpan<int> clean, ReadOnlySpan<int> adversarial, ReadOnlySpan<int> labels, int classes)
    {
        if (clean.Length != labels.Length || adversarial.Length != labels.Length)
            throw new ArgumentException($"clean-to-worst: {clean.Length} clean and {adversarial.Length} adversarial predictions for {labels.Length} labels.");
        var m = new long[classes][];
        for (int c = 0; c < classes; c++) m[c] = new long[classes];
        for (int i = 0; i < labels.Length; i++)
        {
            int y = labels[i], a = adversarial[i];
            if (y < 0 || clean[i] != y || (uint)a >= (uint)classes) continue;
            m[y][a]++;
        }
        return m;
    }

    /// <summary>The sum over images, or null when any image has none (a state written before these counts were kept).</summary>
    /// <param name="perImage">One matrix per image, or null.</param>
    public static long[][]? Sum(IEnumerable<long[][]?> perImage)
    {
        ArgumentNullException.ThrowIfNull(perImage);
        long[][]? sum = null;
        foreach (var m in perImage)
        {
            if (m is null) return null;
            sum ??= m.Select(r => new long[r.Length]).ToArray();
            if (m.Length != sum.Length) throw new ArgumentException("clean-to-worst: matrices of different sizes.");
            for (int r = 0; r < m.Length; r++)
                for (int c = 0; c < m[r].Length; c++) sum[r][c] += m[r][c];
        }
        return sum;
    }

    /// <summary>The matrix as a rectangular array (for <see cref="SegLab.Reports.ConfusionMatrix"/>).</summary>
    /// <param name="m">Rows of counts.</param>
    public static long[,] ToArray(long[][] m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var a = new long[m.Length, m.Length];
        for (int r = 0; r < m.Length; r++)
            for (int c = 0; c < m.Length; c++) a[r, c] = m[r][c];
        return a;
    }
}
