// The demo's attribution map (issue 18, item 6): Grad-CAM of the demo model at its default layer for one class over
// the class's predicted region on one of the evaluated images (Car where the model predicts it, on the image where
// it predicts the most Car pixels), as a section of the demo's report.html: the image, the target region, the map
// over the image and its object/context shares. One forward and one backward pass: the demo stays fast.
using System.Diagnostics;
using System.Globalization;
using SegLab.Attribution;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Evaluation;
using SegLab.Models;
using SegLab.Reports;

namespace SegLab.Demo;

/// <summary>The demo's one attribution map.</summary>
/// <param name="Example">The evaluated image it explains (image and prediction).</param>
/// <param name="ClassName">The target class.</param>
/// <param name="Target">The class's predicted region on that image.</param>
/// <param name="Map">The Grad-CAM map.</param>
/// <param name="Shares">Object (the predicted region) and context shares of the map.</param>
/// <param name="Seconds">Time the map took.</param>
public sealed record DemoAttributionResult(ImageExample Example, string ClassName, AttributionTarget Target, AttributionMap Map, ContextShareStats Shares, double Seconds);

/// <summary>Computes the demo's attribution map and adds it to a report.</summary>
public static class DemoAttribution
{
    /// <summary>The class explained when the model predicts it on some image.</summary>
    public const string PreferredClass = "Car";

    /// <summary>The title of the report section.</summary>
    public const string SectionTitle = "Attribution: where the prediction rests";

    /// <summary>Grad-CAM for <see cref="PreferredClass"/> (else the class with the largest predicted region) on the image predicting most of it.</summary>
    /// <param name="model">The model (its default CAM layer is used).</param>
    /// <param name="examples">Evaluated images with their predictions.</param>
    /// <param name="classes">The class table.</param>
    public static DemoAttributionResult Run(SegmentationModel model, IReadOnlyList<ImageExample> examples, ClassTable classes)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(classes);
        if (examples.Count == 0) throw new ArgumentException("demo attribution: no evaluated image to explain.");
        int cls = Array.FindIndex(classes.Names, n => n == PreferredClass);
        if (cls < 0 || !examples.Any(e => e.Prediction.Contains(cls)))
            cls = examples.SelectMany(e => e.Prediction).Where(v => v != classes.IgnoreIndex && v < model.NumClasses)
                .GroupBy(v => v).OrderByDescending(g => g.Count()).First().Key;
        var example = examples.OrderByDescending(e => e.Prediction.Count(v => v == cls)).ThenBy(e => e.Id, StringComparer.Ordinal).First();
        var target = AttributionTarget.FromLabels(cls, example.Prediction, example.Height, example.Width, TargetRegion.Predicted);
        var sw = Stopwatch.StartNew();
        var map = new GradCam().Attribute(model, Tensor.FromArray((float[])example.Image.Clone(), 3, example.Height, example.Width), target);
        double seconds = sw.Elapsed.TotalSeconds;
        return new DemoAttributionResult(example, classes.Names[cls], target, map, ContextShares.Compute(map.Values, target.Mask), seconds);
    }

    /// <summary>Adds the map as a section of <paramref name="report"/>.</summary>
    /// <param name="report">The demo's evaluation report.</param>
    /// <param name="result">The map.</param>
    /// <param name="classes">The class table (palette of the target region).</param>
    /// <param name="modelName">The model's name.</param>
    public static void AddTo(HtmlReport report, DemoAttributionResult result, ClassTable classes, string modelName)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(classes);
        var ci = CultureInfo.InvariantCulture;
        var e = result.Example;
        var map = result.Map;
        var s = result.Shares;
        var section = report.Section(SectionTitle);
        section.Paragraph(string.Create(ci, $"Grad-CAM of {modelName} at layer {map.Layer} for {result.ClassName} over the pixels it predicts as {result.ClassName} on {e.Id} " +
            $"({result.Target.Pixels} pixels, {100 * s.AreaFraction:F1}% of the image): {100 * s.ObjectShare:F1}% of the map's mass lies on that region " +
            $"(a uniform map would put {100 * s.AreaFraction:F1}% there), {100 * s.ContextShare:F1}% on its context. Computed in {result.Seconds:F1} s. " +
            $"`seglab explain --model {modelName} --image FILE --class {result.ClassName} --method gradcam --out DIR` makes such maps for any image, target and method (docs/attribution.md)."));
        var labels = new int[e.Width * e.Height];
        var mask = result.Target.Mask;
        for (int i = 0; i < labels.Length; i++) labels[i] = mask[i] ? result.Target.Class : classes.IgnoreIndex;
        double max = map.Values.Select(Math.Abs).DefaultIfEmpty(0f).Max();
        section.Add(new ImageRow($"{e.Id}: Grad-CAM for {result.ClassName}") { MaxWidth = 270, MaxHeight = 270, Zoom = true }
            .Add(ReportImage.FromRgb(e.Image, e.Width, e.Height), "image")
            .Add(Overlay.Blend(e.Image, labels, e.Width, e.Height, classes.PaletteRgb(), classes.IgnoreIndex, 0.6), $"target: predicted {result.ClassName}")
            .Add(Heatmap.Over(e.Image, map.Values, e.Width, e.Height, 0.5), "Grad-CAM over the image")
            .Add(Heatmap.Draw(map.Values, e.Width, e.Height), "Grad-CAM"));
        section.Add(Heatmap.Legend(max, format: "G3"));
    }
}
