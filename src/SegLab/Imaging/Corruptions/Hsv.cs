// RGB <-> HSV as skimage.color.rgb2hsv / hsv2rgb define them (hue in [0,1); grey pixels get hue 0 and saturation 0),
// for the brightness and saturate corruptions.
namespace SegLab.Imaging.Corruptions;

internal static class Hsv
{
    /// <summary>Rewrites every pixel of a CHW RGB image through a function of its (h, s, v).</summary>
    public static void Map(CorruptionImage image, Func<double, double, double, (double H, double S, double V)> f)
    {
        int plane = image.Plane;
        var d = image.Data;
        for (int i = 0; i < plane; i++)
        {
            var (h, s, v) = FromRgb(d[i], d[plane + i], d[2 * plane + i]);
            (h, s, v) = f(h, s, v);
            var (r, g, b) = ToRgb(h, s, v);
            d[i] = (float)r;
            d[plane + i] = (float)g;
            d[2 * plane + i] = (float)b;
        }
    }

    /// <summary>skimage's rgb2hsv for one pixel (blue wins ties for the maximum, then green).</summary>
    public static (double H, double S, double V) FromRgb(double r, double g, double b)
    {
        double v = Math.Max(r, Math.Max(g, b));
        double delta = v - Math.Min(r, Math.Min(g, b));
        if (delta == 0) return (0, 0, v);
        double s = delta / v;
        double h;
        if (b == v) h = 4 + (r - g) / delta;
        else if (g == v) h = 2 + (b - r) / delta;
        else h = (g - b) / delta;
        h /= 6;
        h -= Math.Floor(h);
        return (h, s, v);
    }

    /// <summary>skimage's hsv2rgb for one pixel.</summary>
    public static (double R, double G, double B) ToRgb(double h, double s, double v)
    {
        double h6 = h * 6;
        double hi = Math.Floor(h6);
        double f = h6 - hi;
        double p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
        int sector = (int)(((hi % 6) + 6) % 6);
        return sector switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }
}
