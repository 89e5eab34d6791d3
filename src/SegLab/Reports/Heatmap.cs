// Heat maps for attribution and class-activation reports: a per-pixel score drawn with the viridis colour ramp
// (non-negative scores, 0 to max) or a blue-white-red ramp symmetric around 0 (signed scores such as gradients),
// alone or blended over the image, so that where a prediction rests can be seen beside the image itself.
namespace SegLab.Reports;

/// <summary>Draws per-pixel scores (attributions, CAMs) as colour images.</summary>
public static class Heatmap
{
    // Five samples of viridis (dark purple to yellow) and of a diverging blue-white-red ramp, linearly interpolated.
    private static readonly byte[][] Viridis = [[0x44, 0x01, 0x54], [0x3b, 0x52, 0x8b], [0x21, 0x91, 0x8c], [0x5e, 0xc9, 0x62], [0xfd, 0xe7, 0x25]];
    private static readonly byte[][] Diverging = [[0x21, 0x66, 0xac], [0x92, 0xc5, 0xde], [0xf7, 0xf7, 0xf7], [0xf4, 0xa5, 0x82], [0xb2, 0x18, 0x2b]];

    /// <summary>The colour of <paramref name="t"/> in [0, 1] on the ramp (clamped; NaN is mid grey).</summary>
    /// <param name="t">Position on the ramp: 0 lowest, 1 highest (for a signed ramp 0.5 is zero).</param>
    /// <param name="signed">Whether to use the diverging blue-white-red ramp instead of viridis.</param>
    public static (byte R, byte G, byte B) Colour(double t, bool signed = false)
    {
        if (double.IsNaN(t)) return (128, 128, 128);
        var ramp = signed ? Diverging : Viridis;
        double p = Math.Clamp(t, 0, 1) * (ramp.Length - 1);
        int i = Math.Min((int)p, ramp.Length - 2);
        double u = p - i;
        byte Mix(int c) => (byte)Math.Round(ramp[i][c] + (ramp[i + 1][c] - ramp[i][c]) * u);
        return (Mix(0), Mix(1), Mix(2));
    }

    /// <summary>
    /// A heat map of <paramref name="scores"/>: viridis from 0 to <paramref name="max"/> (negative scores clamp to 0), or,
    /// when <paramref name="signed"/>, blue (-max) through white (0) to red (+max).
    /// </summary>
    /// <param name="scores">height * width scores, row-major.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="signed">Whether the scores are signed (diverging ramp around 0).</param>
    /// <param name="max">The score drawn at full colour; null: the largest absolute finite score.</param>
    public static ReportImage Draw(float[] scores, int width, int height, bool signed = false, double? max = null)
    {
        double scale = Scale(scores, width, height, max, "Draw");
        var rgb = new byte[3 * scores.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            var (r, g, b) = Colour(Position(scores[i], scale, signed), signed);
            rgb[3 * i] = r; rgb[3 * i + 1] = g; rgb[3 * i + 2] = b;
        }
        return new ReportImage(width, height, rgb, ImageScaling.Box);
    }

    /// <summary>A heat map blended over an image: (1 - alpha) * image + alpha * heat colour.</summary>
    /// <param name="planarRgb">The image, planar [3, H, W] in [0, 1].</param>
    /// <param name="scores">height * width scores.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="alpha">Weight of the heat colour, in [0, 1].</param>
    /// <param name="signed">Whether the scores are signed.</param>
    /// <param name="max">The score drawn at full colour; null: the largest absolute finite score.</param>
    public static ReportImage Over(float[] planarRgb, float[] scores, int width, int height, double alpha = 0.5, bool signed = false, double? max = null)
    {
        ArgumentNullException.ThrowIfNull(planarRgb);
        ReportImage.CheckPlanar(planarRgb.LongLength, width, height, "Heatmap.Over");
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentException($"Heatmap.Over: alpha {alpha} is not in [0, 1].");
        double scale = Scale(scores, width, height, max, "Over");
        int n = width * height;
        var rgb = new byte[3 * n];
        for (int i = 0; i < n; i++)
        {
            var (r, g, b) = Colour(Position(scores[i], scale, signed), signed);
            byte[] heat = [r, g, b];
            for (int c = 0; c < 3; c++)
            {
                float v = planarRgb[c * n + i];
                rgb[3 * i + c] = ReportImage.ToByte((1 - alpha) * (float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 1f)) + alpha * heat[c] / 255.0);
            }
        }
        return new ReportImage(width, height, rgb, ImageScaling.Box);
    }

    /// <summary>A legend of the ramp: the low end, the middle and the high end with their scores.</summary>
    /// <param name="max">The score at full colour.</param>
    /// <param name="signed">Whether the ramp is the signed one.</param>
    /// <param name="format">.NET numeric format of the scores.</param>
    public static ColourLegend Legend(double max, bool signed = false, string format = "0.###")
    {
        string Hex(double t) { var (r, g, b) = Colour(t, signed); return Markup.Hex(r, g, b); }
        double low = signed ? -max : 0, mid = signed ? 0 : max / 2;
        return new ColourLegend([(Markup.Num(low, format), Hex(0)), (Markup.Num(mid, format), Hex(0.5)), (Markup.Num(max, format), Hex(1))]);
    }

    private static double Position(float score, double scale, bool signed)
    {
        if (float.IsNaN(score)) return double.NaN;
        double t = scale > 0 ? score / scale : 0;
        return signed ? 0.5 + 0.5 * t : t;
    }

    private static double Scale(float[] scores, int width, int height, double? max, string what)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (width <= 0 || height <= 0 || scores.LongLength != (long)width * height)
            throw new ArgumentException($"Heatmap.{what}: {scores.LongLength} scores for {width}x{height}.");
        if (max is double m)
        {
            if (!(m > 0) || !double.IsFinite(m)) throw new ArgumentException($"Heatmap.{what}: max {m} must be positive and finite.");
            return m;
        }
        double largest = 0;
        foreach (var s in scores)
            if (float.IsFinite(s)) largest = Math.Max(largest, Math.Abs(s));
        return largest;
    }
}
