// summary.json of a finished training run: what an experiment table needs without parsing logs (steps, final loss,
// best validation, wall time, training seconds per epoch, peak memory, threads, the loss of every epoch and every
// validation). camelCase like metrics.json; written atomically once the run completes.
using System.Buffers;
using System.Text.Json;

namespace SegLab.Training;

/// <summary>Writes the closing summary of a training run.</summary>
public static class TrainSummary
{
    /// <summary>Name of the file in the run folder.</summary>
    public const string FileName = "summary.json";

    /// <summary>Writes the summary atomically.</summary>
    /// <param name="path">Target file.</param>
    /// <param name="result">The run's result.</param>
    /// <param name="state">The final checkpoint state (epoch losses, validations).</param>
    /// <param name="threads">Engine threads the run used.</param>
    public static void Write(string path, TrainResult result, CheckpointState state, int threads)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(state);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("steps", result.Steps);
            w.WriteBoolean("completed", result.Completed);
            Number(w, "finalLoss", result.FinalLoss);
            Number(w, "bestMIoU", result.BestMIoU);
            w.WriteNumber("bestStep", result.BestStep);
            // Seconds of this process (after a resume: since the resume); totalSeconds adds the earlier sessions.
            w.WriteNumber("sessionSeconds", Math.Round(result.Seconds, 3));
            w.WriteNumber("totalSeconds", Math.Round(state.Seconds, 3));
            w.WriteNumber("trainSecondsPerEpoch", Math.Round(result.SecondsPerEpoch, 3));
            w.WriteNumber("peakWorkingSetMB", Math.Round(result.PeakWorkingSetBytes / 1048576.0, 1));
            w.WriteNumber("threads", threads);
            w.WriteStartArray("epochLoss");
            foreach (var l in state.EpochLoss) Value(w, l);
            w.WriteEndArray();
            w.WriteStartArray("validations");
            foreach (var v in state.Validations)
            {
                w.WriteStartObject();
                w.WriteNumber("step", (long)v[0]);
                Number(w, "mIoU", v[1]);
                Number(w, "imageMIoU", v[2]);
                Number(w, "pixelAccuracy", v[3]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        SegLab.Engine.IO.AtomicFile.Write(path, buffer.WrittenSpan);
    }

    /// <summary>The result a finished run's summary records (for a resume of a finished run, which changes nothing).</summary>
    /// <param name="path">A summary.json.</param>
    /// <param name="outDir">The run folder.</param>
    public static TrainResult Read(string path, string outDir)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var r = doc.RootElement;
            double D(string key) => r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
            return new TrainResult((long)D("steps"), r.GetProperty("completed").GetBoolean(), D("finalLoss"), D("bestMIoU"), (long)D("bestStep"),
                0, D("trainSecondsPerEpoch"), (long)(D("peakWorkingSetMB") * 1048576), outDir, AlreadyFinished: true);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"Training summary '{path}' is not valid: {e.Message}", e);
        }
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        w.WritePropertyName(name);
        Value(w, v);
    }

    private static void Value(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteNumberValue(Math.Round(v, 6));
        else w.WriteNullValue();
    }
}
