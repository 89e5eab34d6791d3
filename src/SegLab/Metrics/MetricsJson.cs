// Writes a MetricSummary as camelCase JSON (System.Text.Json): the figures of a run, class values keyed by class
// name, NaN written as null. Written atomically (temp file, flush, rename). Accumulator state files: MetricsState.cs.
using System.Buffers;
using System.Text.Json;

namespace SegLab.Metrics;

/// <summary>JSON for metric summaries and accumulator state files.</summary>
public static partial class MetricsJson
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>The summary as indented JSON text.</summary>
    /// <param name="summary">The summary.</param>
    /// <param name="classNames">One distinct name per class, used as keys of the per-class objects.</param>
    public static string SummaryToJson(MetricSummary summary, IReadOnlyList<string> classNames)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Indented)) WriteSummary(w, summary, classNames);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the summary to a file atomically.</summary>
    /// <param name="path">The file to (over)write.</param>
    /// <param name="summary">The summary.</param>
    /// <param name="classNames">One distinct name per class.</param>
    public static void WriteSummary(string path, MetricSummary summary, IReadOnlyList<string> classNames)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Indented)) WriteSummary(w, summary, classNames);
        SegLab.Engine.IO.AtomicFile.Write(path, buffer.WrittenSpan);
    }

    /// <summary>Writes the summary as one JSON object (for embedding in larger reports).</summary>
    /// <param name="w">The writer, positioned where a value may be written.</param>
    /// <param name="summary">The summary.</param>
    /// <param name="classNames">One distinct name per class.</param>
    /// <exception cref="ArgumentException">The class names do not match the summary's class count or repeat.</exception>
    public static void WriteSummary(Utf8JsonWriter w, MetricSummary summary, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(summary);
        CheckNames(classNames, summary.NumClasses);
        w.WriteStartObject();
        w.WriteNumber("numClasses", summary.NumClasses);
        w.WriteNumber("images", summary.Images);
        w.WriteNumber("imagesScored", summary.ImagesScored);
        w.WriteNumber("validPixels", summary.ValidPixels);
        Number(w, "mIoU", summary.MIoU);
        Number(w, "imageMIoU", summary.ImageMIoU);
        Number(w, "imageMIoUGtOnly", summary.ImageMIoUGtOnly);
        Number(w, "pixelAccuracy", summary.PixelAccuracy);
        Number(w, "meanImagePixelAccuracy", summary.MeanImagePixelAccuracy);
        Number(w, "meanClassAccuracy", summary.MeanClassAccuracy);
        PerClass(w, "perClassIoU", summary.PerClassIoU, classNames);
        PerClass(w, "perClassAccuracy", summary.PerClassAccuracy, classNames);
        w.WriteStartArray("excludedClasses");
        foreach (int c in summary.ExcludedClasses) w.WriteStringValue(classNames[c]);
        w.WriteEndArray();
        Number(w, "foregroundMIoU", summary.ForegroundMIoU);
        Number(w, "foregroundImageMIoU", summary.ForegroundImageMIoU);
        Number(w, "foregroundPixelAccuracy", summary.ForegroundPixelAccuracy);
        Number(w, "sizeBiasGap", summary.SizeBiasGap);
        w.WriteStartArray("worstImages");
        foreach (var s in summary.WorstImages)
        {
            w.WriteStartObject();
            w.WriteString("id", s.Id);
            Number(w, "mIoU", s.MIoU);
            Number(w, "pixelAccuracy", s.PixelAccuracy);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteSmallObjects(w, summary, classNames);
        w.WriteEndObject();
    }

    private static void WriteSmallObjects(Utf8JsonWriter w, MetricSummary summary, IReadOnlyList<string> names)
    {
        w.WriteStartObject("smallObjects");
        w.WriteNumber("images", summary.SmallObjectImages);
        w.WriteStartArray("componentBins");
        foreach (var b in summary.ComponentBins)
        {
            w.WriteStartObject();
            w.WriteString("name", b.Name);
            w.WriteNumber("minArea", b.MinArea);
            if (b.MaxArea is long max) w.WriteNumber("maxArea", max);
            else w.WriteNull("maxArea");
            w.WriteNumber("count", b.Count);
            Number(w, "meanRecall", b.MeanRecall);
            Number(w, "pooledRecall", b.PooledRecall);
            w.WriteStartObject("perClass");
            for (int c = 0; c < names.Count; c++)
            {
                w.WriteStartObject(names[c]);
                w.WriteNumber("count", b.PerClassCount[c]);
                Number(w, "meanRecall", b.PerClassMeanRecall[c]);
                Number(w, "pooledRecall", b.PerClassPooledRecall[c]);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("areaFractionBins");
        foreach (var b in summary.AreaFractionBins)
        {
            w.WriteStartObject();
            w.WriteNumber("lower", b.Lower);
            w.WriteNumber("upper", b.Upper);
            w.WriteNumber("count", b.Count);
            Number(w, "meanIoU", b.MeanIoU);
            w.WriteStartObject("perClass");
            for (int c = 0; c < names.Count; c++)
            {
                w.WriteStartObject(names[c]);
                w.WriteNumber("count", b.PerClassCount[c]);
                Number(w, "meanIoU", b.PerClassMeanIoU[c]);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void PerClass(Utf8JsonWriter w, string key, double[] values, IReadOnlyList<string> names)
    {
        w.WriteStartObject(key);
        for (int c = 0; c < names.Count; c++) Number(w, names[c], values[c]);
        w.WriteEndObject();
    }

    /// <summary>A number, or null for NaN and infinities (which JSON cannot hold).</summary>
    private static void Number(Utf8JsonWriter w, string key, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(key, value);
        else w.WriteNull(key);
    }

    private static void CheckNames(IReadOnlyList<string> classNames, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count != numClasses)
            throw new ArgumentException($"MetricsJson: {classNames.Count} class names for {numClasses} classes.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in classNames)
            if (name is null || !seen.Add(name)) throw new ArgumentException($"MetricsJson: class name '{name}' is missing or repeated.");
    }
}
