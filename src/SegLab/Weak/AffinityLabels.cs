// Training labels of the affinity head (AffinityNet, PSA CVPR'18; IRN CVPR'19; PAPERS.md C.2): confident regions of
// an image's max-normalised CAMs, then labels of the pixel pairs within a radius on the same grid.
//   region(p) = argmax over tagged c of CAM_c(p)   where max_c CAM_c(p) >  fg (IRN conf_fg_thres 0.30)
//             = background                          where max_c CAM_c(p) <= bg (IRN conf_bg_thres 0.05)
//             = ignored                              otherwise
// (IRN puts the constant in front of the CAMs and takes argmax, so a tie goes to the constant: hence > and <=.)
// Pairs (p, p + o) for the forward offsets o of PixelAffinity.ForwardOffsets(radius), both ends on the grid and
// neither ignored: same region and background = bg-positive, same region and a class = fg-positive, different = negative
// (psa tool/imutils.ExtractAffinityLabelInRadius). IRN and PSA also pass each region through a dense CRF: not done here.
using SegLab.Engine;

namespace SegLab.Weak;

/// <summary>Thresholds and radius of the affinity labels.</summary>
public sealed record AffinityLabelOptions
{
    /// <summary>Confident foreground: the best tagged CAM is above this (IRN: 0.30).</summary>
    public double Foreground { get; init; } = 0.30;

    /// <summary>Confident background: the best tagged CAM is at most this (IRN: 0.05).</summary>
    public double Background { get; init; } = 0.05;

    /// <summary>Pairs with 0 &lt; dy^2 + dx^2 &lt; radius^2 (PSA: 5 on its stride-8 grid).</summary>
    public int Radius { get; init; } = 5;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        if (!(Background >= 0) || !(Foreground <= 1) || !(Background < Foreground))
            throw new ArgumentException($"affinity labels: need 0 <= background threshold < foreground threshold <= 1, got {Background} and {Foreground}.");
        if (Radius is < 2 or > 16) throw new ArgumentException($"affinity labels: radius must be in 2..16, got {Radius}.");
    }
}

/// <summary>Pair labels on an h x w grid: three 0/1 masks [offsets][h * w] for the pair (p, p + offset).</summary>
/// <param name="Height">Grid height.</param>
/// <param name="Width">Grid width.</param>
/// <param name="Radius">Radius of the offsets.</param>
/// <param name="BgPositive">Both ends background.</param>
/// <param name="FgPositive">Both ends the same class.</param>
/// <param name="Negative">The ends in different regions (a class and another class or background).</param>
public sealed record AffinityPairs(int Height, int Width, int Radius, float[] BgPositive, float[] FgPositive, float[] Negative)
{
    /// <summary>Pair counts (bg-positive, fg-positive, negative).</summary>
    public (long Bg, long Fg, long Neg) Counts() => (Count(BgPositive), Count(FgPositive), Count(Negative));

    private static long Count(float[] m)
    {
        long n = 0;
        foreach (var v in m) if (v > 0) n++;
        return n;
    }
}

/// <summary>Confident regions of CAMs and the pair labels AffinityNet trains on.</summary>
public static class AffinityLabels
{
    /// <summary>Region code of a confident background position.</summary>
    public const int BackgroundRegion = -1;

    /// <summary>Region code of an ignored (unsure) position.</summary>
    public const int Ignored = -2;

    /// <summary>
    /// Regions of max-normalised CAMs [C, h, w]: the best tagged class where it is above the foreground threshold,
    /// <see cref="BackgroundRegion"/> where it is at most the background threshold, <see cref="Ignored"/> between.
    /// </summary>
    public static int[] Regions(Tensor cams, IReadOnlyCollection<int> tags, AffinityLabelOptions options)
    {
        ArgumentNullException.ThrowIfNull(cams);
        ArgumentNullException.ThrowIfNull(tags);
        options.Validate();
        if (cams.Rank != 3) throw new ArgumentException($"affinity labels: CAMs must be [C, h, w], got {Shapes.Format(cams.Shape)}.");
        int c = cams.Size(0), n = cams.Size(1) * cams.Size(2);
        foreach (var t in tags)
            if (t < 0 || t >= c) throw new ArgumentException($"affinity labels: tag {t} is outside the {c} CAMs.");
        var a = PixelAffinity.Float(cams);
        var regions = new int[n];
        for (int p = 0; p < n; p++)
        {
            double max = 0;
            int arg = -1;
            foreach (var t in tags)
                if (arg < 0 || a[t * n + p] > max) { max = a[t * n + p]; arg = t; }
            regions[p] = arg >= 0 && max > options.Foreground ? arg : max <= options.Background ? BackgroundRegion : Ignored;
        }
        return regions;
    }

    /// <summary>Pair labels of regions on an h x w grid for the forward offsets within <paramref name="radius"/>.</summary>
    public static AffinityPairs Pairs(int[] regions, int height, int width, int radius)
    {
        ArgumentNullException.ThrowIfNull(regions);
        if (regions.Length != height * width) throw new ArgumentException($"affinity labels: {regions.Length} regions for a {height}x{width} grid.");
        var offsets = PixelAffinity.ForwardOffsets(radius);
        int n = height * width;
        var bg = new float[offsets.Count * n];
        var fg = new float[offsets.Count * n];
        var neg = new float[offsets.Count * n];
        for (int o = 0; o < offsets.Count; o++)
        {
            var (dy, dx) = offsets[o];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int qy = y + dy, qx = x + dx;
                    if ((uint)qy >= (uint)height || (uint)qx >= (uint)width) continue;
                    int a = regions[y * width + x], b = regions[qy * width + qx], i = o * n + y * width + x;
                    if (a == Ignored || b == Ignored) continue;
                    if (a != b) neg[i] = 1;
                    else if (a == BackgroundRegion) bg[i] = 1;
                    else fg[i] = 1;
                }
        }
        return new AffinityPairs(height, width, radius, bg, fg, neg);
    }
}
