// The object/context attribution metric of Lost in Context (PAPERS.md B.1, utils/metrics.py): ReLU the map, min-max
// scale it to [0, 1] when it is not constant, then split its mass between the object mask and the rest (context):
// shares, per-pixel densities, densities over non-zero pixels, non-zero fractions, and the object's area fraction,
// which is the object share a uniform map would give (the baseline to judge concentration against).
namespace SegLab.Attribution;

/// <summary>B.1 statistics of one map and one object mask. Ratios with a zero denominator are NaN.</summary>
/// <param name="ObjectShare">Obj / Total.</param>
/// <param name="ContextShare">Ctx / Total (1 - ObjectShare).</param>
/// <param name="ObjectPerPixel">Obj / object pixels.</param>
/// <param name="ContextPerPixel">Ctx / context pixels.</param>
/// <param name="ObjectPerNonZero">Obj / (non-zero object pixels + 1).</param>
/// <param name="ContextPerNonZero">Ctx / (non-zero context pixels + 1).</param>
/// <param name="ObjectNonZeroFraction">Non-zero object pixels / object pixels.</param>
/// <param name="ContextNonZeroFraction">Non-zero context pixels / context pixels.</param>
/// <param name="AreaFraction">Object pixels / all pixels: the object share of a uniform map.</param>
/// <param name="Total">Sum of the normalised map.</param>
public sealed record ContextShareStats(
    double ObjectShare, double ContextShare, double ObjectPerPixel, double ContextPerPixel,
    double ObjectPerNonZero, double ContextPerNonZero, double ObjectNonZeroFraction, double ContextNonZeroFraction,
    double AreaFraction, double Total);

/// <summary>Computes <see cref="ContextShareStats"/>.</summary>
public static class ContextShares
{
    /// <summary>The B.1 statistics of <paramref name="map"/> against <paramref name="objectMask"/> (true = object).</summary>
    /// <param name="map">Row-major H*W attribution map.</param>
    /// <param name="objectMask">Row-major H*W object mask, not empty.</param>
    public static ContextShareStats Compute(ReadOnlySpan<float> map, ReadOnlySpan<bool> objectMask)
    {
        if (map.Length != objectMask.Length)
            throw new ArgumentException($"context shares: the map has {map.Length} pixels but the object mask {objectMask.Length}.");
        int n = map.Length, objPixels = 0;
        foreach (bool b in objectMask) if (b) objPixels++;
        if (objPixels == 0) throw new ArgumentException("context shares: the object mask is empty.");
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (float v in map)
        {
            if (!float.IsFinite(v)) throw new ArgumentException("context shares: the map has a NaN or infinite value.");
            double r = Math.Max(0, v);
            lo = Math.Min(lo, r);
            hi = Math.Max(hi, r);
        }
        bool scale = hi > lo;
        double obj = 0, ctx = 0;
        int nzObj = 0, nzCtx = 0;
        for (int i = 0; i < n; i++)
        {
            double a = Math.Max(0, map[i]);
            if (scale) a = (a - lo) / (hi - lo);
            if (objectMask[i])
            {
                obj += a;
                if (a != 0) nzObj++;
            }
            else
            {
                ctx += a;
                if (a != 0) nzCtx++;
            }
        }
        double total = obj + ctx;
        int ctxPixels = n - objPixels;
        return new ContextShareStats(
            obj / total, ctx / total, obj / objPixels, ctx / ctxPixels,
            obj / (nzObj + 1), ctx / (nzCtx + 1), (double)nzObj / objPixels, (double)nzCtx / ctxPixels,
            (double)objPixels / n, total);
    }
}
