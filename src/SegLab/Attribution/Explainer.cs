// One attribution map for one image, for everyday use (`seglab explain`): the target from a mask file, a pixel, a
// box or the predicted region of the class; the map as OUTDIR/attribution.safetensors (tensor `attribution`,
// float32 [H, W]), OUTDIR/overlay.png (heat map over the image) and OUTDIR/explain.json (method, layer, target,
// score, context shares where the target is a region, IG completeness). Every file is written atomically.
using System.Buffers;
using System.Text.Json;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.IO;
using SegLab.Engine.Serialization;
using SegLab.Imaging;
using SegLab.Models;
using SegLab.Reports;

namespace SegLab.Attribution;

/// <summary>What <see cref="Explainer.Write"/> wrote.</summary>
/// <param name="Map">The map.</param>
/// <param name="Target">The target.</param>
/// <param name="Shares">Object/context shares against the target's mask (null for a one-pixel target).</param>
/// <param name="AttributionFile">attribution.safetensors.</param>
/// <param name="OverlayFile">overlay.png.</param>
/// <param name="JsonFile">explain.json.</param>
public sealed record ExplainResult(AttributionMap Map, AttributionTarget Target, ContextShareStats? Shares, string AttributionFile, string OverlayFile, string JsonFile);

/// <summary>Targets from user input, and the files of one explanation.</summary>
public static class Explainer
{
    /// <summary>The pixels the model predicts as <paramref name="cls"/>, or an error saying the class is predicted nowhere.</summary>
    /// <param name="model">The model.</param>
    /// <param name="image">Planar RGB [3, H, W].</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="cls">Class index.</param>
    /// <param name="className">The class's name, for the message.</param>
    public static AttributionTarget Predicted(SegmentationModel model, float[] image, int height, int width, int cls, string className)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        using var _ = SegLab.Engine.Autograd.GradMode.NoGrad();
        var pred = model.Predict(model.Forward(Tensor.FromArray((float[])image.Clone(), 1, 3, height, width))).ToArray();
        var labels = pred.Select(v => (int)v).ToArray();
        if (!labels.Contains(cls))
            throw new ArgumentException($"The model predicts {className} (class {cls}) nowhere in the image, so there is no predicted region to explain; give --mask, --pixel or --box.");
        return AttributionTarget.FromLabels(cls, labels, height, width, TargetRegion.Predicted);
    }

    /// <summary>A mask image (non-zero pixels are the object) as a target of <paramref name="cls"/>.</summary>
    /// <param name="path">PNG/JPEG/PNM file.</param>
    /// <param name="cls">Class index.</param>
    /// <param name="height">Image height the mask must have.</param>
    /// <param name="width">Image width the mask must have.</param>
    public static AttributionTarget MaskFile(string path, int cls, int height, int width)
    {
        var img = ImageIO.Load(path).ExpandPalette(withAlpha: false);
        if (img.Width != width || img.Height != height)
            throw new ArgumentException($"The mask {path} is {img.Width}x{img.Height} but the image is {width}x{height}.");
        var mask = new bool[width * height];
        int ch = img.Channels;
        for (int i = 0; i < mask.Length; i++)
            for (int c = 0; c < Math.Min(ch, 3); c++)
                if (img.Pixels[(i * ch) + c] != 0) mask[i] = true;
        if (!mask.Contains(true)) throw new ArgumentException($"The mask {path} is empty (every pixel is 0).");
        return AttributionTarget.FromMask(cls, mask, height, width, TargetRegion.Mask);
    }

    /// <summary>Computes the map and writes attribution.safetensors, overlay.png and explain.json to <paramref name="outDir"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="method">The method.</param>
    /// <param name="image">Planar RGB [3, H, W] in [0, 1].</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="target">The target.</param>
    /// <param name="className">The target class's name.</param>
    /// <param name="options">Method settings.</param>
    /// <param name="outDir">Output folder (created).</param>
    public static ExplainResult Write(SegmentationModel model, IAttribution method, float[] image, int height, int width,
        AttributionTarget target, string className, AttributionOptions options, string outDir)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        var map = method.Attribute(model, Tensor.FromArray((float[])image.Clone(), 3, height, width), target, options);
        var shares = target.IsClassifier || target.Region == TargetRegion.Pixel || target.Pixels == height * width ? null : ContextShares.Compute(map.Values, target.Mask);
        Directory.CreateDirectory(outDir);
        string tensors = Path.Combine(outDir, "attribution.safetensors");
        string overlay = Path.Combine(outDir, "overlay.png");
        string json = Path.Combine(outDir, "explain.json");
        var bytes = SafeTensors.Serialize([new("attribution", Tensor.FromArray((float[])map.Values.Clone(), height, width))],
            new Dictionary<string, string> { ["method"] = map.Method, ["target"] = target.Description });
        AtomicFile.Write(tensors, bytes);
        bool signed = map.Values.Any(v => v < 0);
        Png.Save(overlay, Heatmap.Over(image, map.Values, width, height, 0.5, signed).ToImage());
        AtomicFile.Write(json, Json(model, map, target, className, shares, options));
        return new ExplainResult(map, target, shares, tensors, overlay, json);
    }

    private static byte[] Json(SegmentationModel model, AttributionMap map, AttributionTarget target, string className, ContextShareStats? shares, AttributionOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", model.Name);
            w.WriteString("method", map.Method);
            if (map.Layer is { } layer) w.WriteString("layer", layer); else w.WriteNull("layer");
            w.WriteNumber("height", map.Height);
            w.WriteNumber("width", map.Width);
            w.WriteStartObject("target");
            w.WriteNumber("class", target.Class);
            if (target.IsClassifier)
            {
                w.WriteStartArray("classes"); // a classifier's set of classes, whose logits are summed (one class: itself)
                foreach (int c in target.Classes) w.WriteNumberValue(c);
                w.WriteEndArray();
            }
            w.WriteString("className", className);
            w.WriteString("region", target.Region.ToString());
            w.WriteString("description", target.Description);
            w.WriteNumber("pixels", target.Pixels);
            w.WriteEndObject();
            Number(w, "targetScore", map.TargetScore);
            if (map.CompletenessError is { } err)
            {
                w.WriteStartObject("integratedGradients");
                w.WriteNumber("steps", options.Steps);
                w.WriteString("baseline", options.Baseline.ToString());
                Number(w, "baselineScore", map.BaselineScore ?? double.NaN);
                Number(w, "mapSum", map.Values.Sum(v => (double)v));
                Number(w, "completenessError", err);
                Number(w, "relativeCompletenessError", map.RelativeCompletenessError ?? double.NaN);
                w.WriteEndObject();
            }
            if (shares is not null)
            {
                w.WriteStartObject("contextShares");
                Number(w, "objectShare", shares.ObjectShare);
                Number(w, "contextShare", shares.ContextShare);
                Number(w, "areaFraction", shares.AreaFraction);
                Number(w, "objectPerPixel", shares.ObjectPerPixel);
                Number(w, "contextPerPixel", shares.ContextPerPixel);
                Number(w, "objectPerNonZero", shares.ObjectPerNonZero);
                Number(w, "contextPerNonZero", shares.ContextPerNonZero);
                Number(w, "objectNonZeroFraction", shares.ObjectNonZeroFraction);
                Number(w, "contextNonZeroFraction", shares.ContextNonZeroFraction);
                w.WriteEndObject();
            }
            w.WriteNumber("forwards", map.Forwards);
            w.WriteNumber("backwards", map.Backwards);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    // NaN and infinities are not JSON numbers: null.
    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v); else w.WriteNull(name);
    }
}
