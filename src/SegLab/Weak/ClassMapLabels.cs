// From class score maps to a label map, the last step shared by CAM pseudo-masks (PAPERS.md C.1) and iSeg (D.4):
// maps [C, h, w] are resized to the image (bilinear, align_corners=false), normalised per class (IRN's
// max-normalisation x / (max + 1e-5), or iSeg's min-max), restricted to the classes present (the image-level tags),
// and a background score is put in front: a constant tau (IRN: 0.15) or (1 - max_c map_c)^alpha (PSA: 4..32, iSeg: 2).
// label = argmax over [background, present classes]; background becomes the dataset's background class id, or the
// ignore id where the dataset has no background class (CamVid: its pixels are then not scored as any class).
// A dataset has a background class, VOC style, where its class 0 is named "background" (BackgroundClass).
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;

namespace SegLab.Weak;

/// <summary>Per-class normalisation of a class map.</summary>
public enum MapNormalisation
{
    /// <summary>x / (max + 1e-5) (IRN's CAM), negative values clamped to 0 first.</summary>
    Max,

    /// <summary>(x - min) / (max - min), a constant map becomes 0 (iSeg).</summary>
    MinMax,
}

/// <summary>How the background score is made from the normalised class maps.</summary>
/// <param name="Threshold">Constant background score (used when <paramref name="Alpha"/> is null).</param>
/// <param name="Alpha">Exponent of (1 - max)^alpha, or null for the constant.</param>
public sealed record BackgroundRule(double Threshold, double? Alpha)
{
    /// <summary>IRN's CAM evaluation threshold 0.15.</summary>
    public static BackgroundRule Constant(double threshold = 0.15) => new(threshold, null);

    /// <summary>(1 - max_c map_c)^alpha: PSA's alpha 4/16/24/32, iSeg's 2.</summary>
    public static BackgroundRule Power(double alpha) => new(0, alpha);

    /// <summary>Reads "0.15" (a constant) or "pow:2" (the power rule); throws an ArgumentException naming the text.</summary>
    public static BackgroundRule Parse(string text)
    {
        var t = text.Trim();
        if (t.StartsWith("pow:", StringComparison.OrdinalIgnoreCase)
            && double.TryParse(t[4..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var a) && a > 0 && !double.IsInfinity(a))
            return Power(a);
        if (double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 0 && v <= 1)
            return Constant(v);
        throw new ArgumentException($"background '{text}': expected a constant in [0, 1] (for example 0.15) or pow:ALPHA with ALPHA > 0 (for example pow:2).");
    }

    /// <summary>Background score of a pixel whose largest normalised class score is <paramref name="max"/>.</summary>
    public double Score(double max) => Alpha is { } a ? Math.Pow(Math.Max(0, 1 - max), a) : Threshold;

    /// <inheritdoc/>
    public override string ToString() => Alpha is { } a ? $"(1 - max)^{a:0.###}" : $"constant {Threshold:0.###}";
}

/// <summary>Turns class maps into labels.</summary>
public static class ClassMapLabels
{
    /// <summary>
    /// The dataset's background class, VOC style: 0 where class 0 is named "background" (case-insensitive), else null
    /// (CamVid: no background class, the background score means unsure).
    /// </summary>
    public static int? BackgroundClass(ClassTable classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        return string.Equals(classes.Classes[0].Name, "background", StringComparison.OrdinalIgnoreCase) ? 0 : null;
    }

    /// <summary>The label pixels get where the background score wins: the background class, else the ignore id.</summary>
    public static byte BackgroundLabel(ClassTable classes) => BackgroundClass(classes) is int b ? (byte)b : (byte)classes.IgnoreIndex;

    /// <summary>Resizes [C, h, w] maps to [C, height, width] (bilinear, align_corners=false).</summary>
    public static Tensor Resize(Tensor maps, int height, int width)
    {
        Check(maps);
        if (maps.Size(1) == height && maps.Size(2) == width) return maps.Detach();
        using var noGrad = GradMode.NoGrad();
        int c = maps.Size(0);
        var x = Tensor.FromArray(Float(maps), 1, c, maps.Size(1), maps.Size(2));
        var y = Ops.Interpolate(x, height, width, InterpolationMode.Bilinear);
        return Tensor.FromArray(y.ToArray(), c, height, width);
    }

    /// <summary>Normalises each class plane of [C, H, W] maps.</summary>
    public static Tensor Normalise(Tensor maps, MapNormalisation how)
    {
        Check(maps);
        int c = maps.Size(0), hw = maps.Size(1) * maps.Size(2);
        var a = Float(maps);
        for (int k = 0; k < c; k++)
        {
            var p = a.AsSpan(k * hw, hw);
            if (how == MapNormalisation.Max)
            {
                float max = 0;
                for (int i = 0; i < hw; i++) { p[i] = Math.Max(p[i], 0); max = Math.Max(max, p[i]); }
                float inv = 1f / (max + 1e-5f);
                for (int i = 0; i < hw; i++) p[i] *= inv;
            }
            else
            {
                float min = float.PositiveInfinity, max = float.NegativeInfinity;
                foreach (var v in p) { min = Math.Min(min, v); max = Math.Max(max, v); }
                float range = max - min;
                for (int i = 0; i < hw; i++) p[i] = range > 0 ? (p[i] - min) / range : 0;
            }
        }
        return Tensor.FromArray(a, c, maps.Size(1), maps.Size(2));
    }

    /// <summary>
    /// Labels from normalised maps [C, H, W]: per pixel the argmax over the background score and the classes in
    /// <paramref name="present"/> (all classes when null). Background pixels get <paramref name="backgroundLabel"/>.
    /// </summary>
    public static byte[] Labels(Tensor normalisedMaps, IReadOnlyCollection<int>? present, BackgroundRule background, byte backgroundLabel)
    {
        Check(normalisedMaps);
        int c = normalisedMaps.Size(0), hw = normalisedMaps.Size(1) * normalisedMaps.Size(2);
        var keep = new bool[c];
        if (present is null) Array.Fill(keep, true);
        else
            foreach (var k in present)
            {
                if (k < 0 || k >= c) throw new ArgumentException($"labels: class {k} is outside the {c} maps.");
                keep[k] = true;
            }
        var a = Float(normalisedMaps);
        var labels = new byte[hw];
        for (int i = 0; i < hw; i++)
        {
            double best = double.NegativeInfinity, max = 0;
            int arg = -1;
            for (int k = 0; k < c; k++)
            {
                if (!keep[k]) continue;
                double v = a[k * hw + i];
                if (v > best) { best = v; arg = k; }
            }
            if (arg >= 0) max = best;
            labels[i] = arg >= 0 && (float)best > (float)background.Score(max) ? (byte)arg : backgroundLabel;
        }
        return labels;
    }

    private static void Check(Tensor maps)
    {
        ArgumentNullException.ThrowIfNull(maps);
        if (maps.Rank != 3) throw new ArgumentException($"class maps must be [C, H, W], got {Shapes.Format(maps.Shape)}.");
        if (maps.Size(0) > 255) throw new ArgumentException($"class maps: at most 255 classes, got {maps.Size(0)}.");
    }

    private static float[] Float(Tensor t) => t.DType == DType.Float32 ? t.ToArray() : Array.ConvertAll(t.ToArrayF64(), v => (float)v);
}
