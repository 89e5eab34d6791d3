// Pictures made from segmentation outputs for reports: a label map in its palette colours (ignored pixels black),
// a label map blended over the image, an error map (correct / wrong / ignored), and an adversarial perturbation
// magnified so that +-eps spans the full range around mid grey. Label maps keep exact colours (nearest scaling);
// error maps are averaged when shrunk, so that thin errors stay visible.
namespace SegLab.Reports;

/// <summary>Builds report images from label maps, predictions and perturbations.</summary>
public static class Overlay
{
    /// <summary>Colour of ignored pixels in label and error maps (black).</summary>
    public static (byte R, byte G, byte B) IgnoreColour { get; } = (0, 0, 0);

    /// <summary>Colour of correctly predicted pixels in error maps (green).</summary>
    public static (byte R, byte G, byte B) CorrectColour { get; } = (0x3b, 0xa5, 0x5c);

    /// <summary>Colour of wrongly predicted pixels in error maps (red).</summary>
    public static (byte R, byte G, byte B) WrongColour { get; } = (0xe0, 0x24, 0x3b);

    /// <summary>The CSS colour "#rrggbb" of class <paramref name="index"/> in a packed RGB palette (for bar colours and legends).</summary>
    /// <param name="paletteRgb">RGB triples, one per class.</param>
    /// <param name="index">The class.</param>
    public static string Hex(byte[] paletteRgb, int index)
    {
        ArgumentNullException.ThrowIfNull(paletteRgb);
        if (index < 0 || 3 * index + 2 >= paletteRgb.Length) throw new ArgumentOutOfRangeException(nameof(index), $"Overlay.Hex: class {index} is not in a palette of {paletteRgb.Length / 3} colours.");
        return Markup.Hex(paletteRgb, index);
    }

    /// <summary>A label map drawn in its palette colours; pixels equal to <paramref name="ignoreIndex"/> are drawn in <see cref="IgnoreColour"/>.</summary>
    /// <param name="labels">height * width class indices, row-major.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="paletteRgb">RGB triples, one per class.</param>
    /// <param name="ignoreIndex">The ignore label (e.g. 255), drawn black.</param>
    /// <exception cref="ArgumentException">A label is neither a palette entry nor the ignore label.</exception>
    public static ReportImage Labels(int[] labels, int width, int height, byte[] paletteRgb, int ignoreIndex)
    {
        CheckLabels(labels, width, height, paletteRgb, ignoreIndex, "Labels");
        var rgb = new byte[3 * labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            int l = labels[i];
            if (l == ignoreIndex) Put(rgb, i, IgnoreColour);
            else { rgb[3 * i] = paletteRgb[3 * l]; rgb[3 * i + 1] = paletteRgb[3 * l + 1]; rgb[3 * i + 2] = paletteRgb[3 * l + 2]; }
        }
        return new ReportImage(width, height, rgb, ImageScaling.Nearest);
    }

    /// <summary>
    /// A label map blended over an image: each pixel is (1 - alpha) * image + alpha * class colour; ignored pixels show
    /// the image alone.
    /// </summary>
    /// <param name="planarRgb">The image, planar [3, H, W] in [0, 1].</param>
    /// <param name="labels">height * width class indices.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="paletteRgb">RGB triples, one per class.</param>
    /// <param name="ignoreIndex">The ignore label.</param>
    /// <param name="alpha">Weight of the class colour, in [0, 1].</param>
    public static ReportImage Blend(float[] planarRgb, int[] labels, int width, int height, byte[] paletteRgb, int ignoreIndex, double alpha = 0.5)
    {
        ArgumentNullException.ThrowIfNull(planarRgb);
        ReportImage.CheckPlanar(planarRgb.LongLength, width, height, "Blend");
        CheckLabels(labels, width, height, paletteRgb, ignoreIndex, "Blend");
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentException($"Overlay.Blend: alpha {alpha} is not in [0, 1].");
        int n = width * height;
        var rgb = new byte[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
            {
                double v = double.IsNaN(planarRgb[c * n + i]) ? 0.0 : Math.Clamp(planarRgb[c * n + i], 0f, 1f);
                int l = labels[i];
                if (l != ignoreIndex) v = (1 - alpha) * v + alpha * (paletteRgb[3 * l + c] / 255.0);
                rgb[3 * i + c] = ReportImage.ToByte(v);
            }
        return new ReportImage(width, height, rgb, ImageScaling.Box);
    }

    /// <summary>
    /// Where a prediction is right: <see cref="CorrectColour"/> where it equals the ground truth,
    /// <see cref="WrongColour"/> where it differs, <see cref="IgnoreColour"/> where the ground truth is ignored.
    /// Shrunk to a thumbnail by averaging (not nearest neighbour), so that errors one pixel thin stay visible as a tint
    /// instead of vanishing between the sampled pixels.
    /// </summary>
    /// <param name="prediction">height * width predicted classes.</param>
    /// <param name="groundTruth">height * width true classes (or the ignore label).</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="ignoreIndex">The ignore label.</param>
    public static ReportImage Error(int[] prediction, int[] groundTruth, int width, int height, int ignoreIndex)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(groundTruth);
        CheckSize(prediction.LongLength, width, height, "Error (prediction)");
        CheckSize(groundTruth.LongLength, width, height, "Error (ground truth)");
        var rgb = new byte[3 * prediction.Length];
        for (int i = 0; i < prediction.Length; i++)
            Put(rgb, i, groundTruth[i] == ignoreIndex ? IgnoreColour : prediction[i] == groundTruth[i] ? CorrectColour : WrongColour);
        return new ReportImage(width, height, rgb, ImageScaling.Box);
    }

    /// <summary>The legend of <see cref="Error"/> maps.</summary>
    public static ColourLegend ErrorLegend() => new([
        ("correct", Markup.Hex(CorrectColour.R, CorrectColour.G, CorrectColour.B)),
        ("wrong", Markup.Hex(WrongColour.R, WrongColour.G, WrongColour.B)),
        ("ignored", Markup.Hex(IgnoreColour.R, IgnoreColour.G, IgnoreColour.B))]);

    /// <summary>
    /// An adversarial perturbation made visible: each value d becomes 0.5 + d / (2 eps), so 0 is mid grey and
    /// -eps / +eps are 0 / 255 in that channel (values beyond are clamped).
    /// </summary>
    /// <param name="perturbation">The perturbation (adversarial minus clean image), planar [3, H, W].</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="eps">The L-inf budget (positive), e.g. 8/255.</param>
    public static ReportImage Magnify(float[] perturbation, int width, int height, double eps)
    {
        ArgumentNullException.ThrowIfNull(perturbation);
        ReportImage.CheckPlanar(perturbation.LongLength, width, height, "Magnify");
        if (!(eps > 0) || !double.IsFinite(eps)) throw new ArgumentException($"Overlay.Magnify: eps {eps} must be positive and finite.");
        int n = width * height;
        var rgb = new byte[3 * n];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < n; i++)
            {
                float d = perturbation[c * n + i];
                rgb[3 * i + c] = ReportImage.ToByte(float.IsNaN(d) ? 0.5 : 0.5 + d / (2 * eps));
            }
        return new ReportImage(width, height, rgb, ImageScaling.Nearest);
    }

    private static void Put(byte[] rgb, int i, (byte R, byte G, byte B) c)
    {
        rgb[3 * i] = c.R;
        rgb[3 * i + 1] = c.G;
        rgb[3 * i + 2] = c.B;
    }

    private static void CheckSize(long length, int width, int height, string what)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"Overlay.{what}: size {width}x{height} must be positive.");
        if (length != (long)width * height) throw new ArgumentException($"Overlay.{what}: {length} labels for {width}x{height}.");
    }

    private static void CheckLabels(int[] labels, int width, int height, byte[] paletteRgb, int ignoreIndex, string what)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(paletteRgb);
        CheckSize(labels.LongLength, width, height, what);
        if (paletteRgb.Length == 0 || paletteRgb.Length % 3 != 0) throw new ArgumentException($"Overlay.{what}: palette of {paletteRgb.Length} bytes; expected RGB triples.");
        int classes = paletteRgb.Length / 3;
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] != ignoreIndex && (uint)labels[i] >= (uint)classes)
                throw new ArgumentException($"Overlay.{what}: label {labels[i]} at pixel ({i % width}, {i / width}) is neither a class (palette has {classes}) nor the ignore label {ignoreIndex}.");
    }
}
