// summary.json of a finished training run: what an experiment table needs without parsing logs (steps, final loss,
// best validation, wall time, training seconds per epoch, peak memory, threads, the loss of every epoch and every
// validation), how the network was initialised, the adversarial training and its cost per epoch (attack against training
// step), and a short model card. camelCase like metrics.json; written atomically once the run completes.
using System.Buffers;
using System.Text.Json;

namespace SegLab.Training;

/// <summary>Writes the closing summary of a training run.</summary>
public static class TrainSummary
{
    /// <summary>Name of the file in the run folder.</summary>
    public const string FileName = "summary.json";

    /// <summary>The run's model card (Markdown) in the run folder.</summary>
    public const string ModelCardFile = "model-card.md";

    /// <summary>Writes model-card.md atomically: what the network is, how it started and trained, its validation, the attack's cost.</summary>
    /// <param name="path">Target file.</param>
    /// <param name="config">The run's configuration.</param>
    /// <param name="state">The final checkpoint state.</param>
    public static void WriteModelCard(string path, TrainConfig config, CheckpointState state)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(state);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        string run = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))) ?? "run";
        sb.Append(inv, $"# Model card: {run}\n\n");
        sb.Append(inv, $"- model: {config.Model.Init ?? config.Model.Family}\n");
        sb.Append(inv, $"- initialisation: {Initialisation(config)}\n");
        sb.Append(inv, $"- training: {Training(config)}\n");
        sb.Append(inv, $"- data: {config.Data.Dir} (train split {config.Data.TrainSplit}), crop {config.Data.Crop[0]}x{config.Data.Crop[1]}, batch {config.Data.Batch}x{config.Schedule.Accumulation}\n");
        sb.Append(inv, $"- schedule: {state.Step} steps, {ConfigLoader.KeyOf(config.Schedule.Optimizer.ToString())} lr {config.Schedule.Lr:G4} {ConfigLoader.KeyOf(config.Schedule.Policy.ToString())}, seed {config.Seed}\n");
        if (state.Validations.Length > 0)
        {
            var best = state.Validations.FirstOrDefault(v => (long)v[0] == state.BestStep) ?? state.Validations[^1];
            sb.Append(inv, $"- best validation (split {config.Data.ValSplit}, step {(long)best[0]}): mIoU {best[1]:F2}, image mIoU {best[2]:F2}, pixel accuracy {best[3]:F2}\n");
        }
        int epochs = state.EpochStepSeconds.Length;
        if (epochs > 0)
            sb.Append(inv, $"- seconds per epoch: {state.EpochAttackSeconds.Sum() / epochs:F1} in the attack, {state.EpochStepSeconds.Sum() / epochs:F1} in the training step\n");
        sb.Append("- the full configuration: config.yaml; figures: summary.json\n\n");
        // Robustness is not measured by training: each `seglab attack --model RUNFOLDER` records its figures in the
        // run's robustness index, and a rewritten card (a resumed run) keeps them.
        string runDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        sb.Append(RunRobustness.CardSection(RunRobustness.Load(runDir)));
        SegLab.Engine.IO.AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(sb.ToString()));
    }

    /// <summary>Writes the summary atomically.</summary>
    /// <param name="path">Target file.</param>
    /// <param name="result">The run's result.</param>
    /// <param name="state">The final checkpoint state (epoch losses, validations).</param>
    /// <param name="threads">Engine threads the run used.</param>
    /// <param name="config">The run's configuration (initialisation, adversarial section, model card), or null.</param>
    public static void Write(string path, TrainResult result, CheckpointState state, int threads, TrainConfig? config = null)
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
            if (config is not null) WriteTraining(w, config, state);
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

    /// <summary>How the network's weights started: "pretrained cgnet-camvid", "weights FILE" or "fresh (seed N)".</summary>
    /// <param name="config">The configuration.</param>
    public static string Initialisation(TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var m = config.Model;
        string start = m.Init is { } init ? $"pretrained {init}" : $"fresh {m.Family} (seed {config.Seed})";
        return m.Weights is { } wf ? $"{start}, then weights {wf}" : start;
    }

    /// <summary>One line on how the run trained: clean, or the attack, radius, steps and share of adversarial samples.</summary>
    /// <param name="config">The configuration.</param>
    public static string Training(TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var a = config.Adversarial;
        if (!a.Enabled) return "clean";
        string name = a.Attack == AdversarialAttack.Segpgd ? "SegPGD-AT" : "PGD-AT";
        return FormattableString.Invariant($"{name}: {a.Steps}-step {(a.Attack == AdversarialAttack.Segpgd ? "SegPGD" : "PGD-CE")} at eps {Robustness.LinfBall.FormatEps(a.Eps)}, ")
            + FormattableString.Invariant($"step size {a.Alpha:G4}, {100 * a.Share:0.#}% adversarial samples per batch, {(a.RandomStart ? "random" : "clean")} start, attack in eval mode");
    }

    private static void WriteTraining(Utf8JsonWriter w, TrainConfig config, CheckpointState state)
    {
        var a = config.Adversarial;
        w.WriteString("initialisation", Initialisation(config));
        w.WriteString("training", Training(config));
        if (a.Enabled)
        {
            w.WriteStartObject("adversarial");
            w.WriteString("attack", a.Attack == AdversarialAttack.Segpgd ? "segpgd" : "pgd");
            w.WriteString("eps", Robustness.LinfBall.FormatEps(a.Eps));
            Number(w, "epsValue", a.Eps);
            w.WriteNumber("steps", a.Steps);
            Number(w, "stepSize", a.Alpha);
            Number(w, "share", a.Share);
            w.WriteBoolean("randomStart", a.RandomStart);
            w.WriteString("modelModeDuringAttack", "eval");
            w.WriteNumber("adversarialSamples", state.AdversarialSamples);
            w.WriteNumber("samples", state.Samples);
            Number(w, "adversarialShare", state.Samples == 0 ? double.NaN : state.AdversarialSamples / (double)state.Samples);
            w.WriteEndObject();
        }
        // Seconds per finished epoch: in the attack and in the training step without it (their ratio is AT's cost).
        w.WriteStartArray("epochSeconds");
        for (int e = 0; e < state.EpochStepSeconds.Length; e++)
        {
            w.WriteStartObject();
            w.WriteNumber("epoch", e);
            Number(w, "attack", state.EpochAttackSeconds.ElementAtOrDefault(e));
            Number(w, "trainStep", state.EpochStepSeconds[e]);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        double attack = state.EpochAttackSeconds.Sum(), step = state.EpochStepSeconds.Sum();
        int epochs = state.EpochStepSeconds.Length;
        Number(w, "attackSecondsPerEpoch", epochs == 0 ? double.NaN : attack / epochs);
        Number(w, "trainStepSecondsPerEpoch", epochs == 0 ? double.NaN : step / epochs);
        w.WriteStartObject("modelCard");
        w.WriteString("model", config.Model.Init ?? config.Model.Family);
        w.WriteString("initialisation", Initialisation(config));
        w.WriteString("training", Training(config));
        w.WriteString("data", $"{config.Data.Dir} ({config.Data.TrainSplit}; validation {(config.Data.ValSplit.Length == 0 ? "none" : config.Data.ValSplit)})");
        w.WriteString("crop", $"{config.Data.Crop[0]}x{config.Data.Crop[1]}");
        w.WriteNumber("steps", state.Step);
        w.WriteNumber("batch", config.Data.Batch);
        w.WriteString("robustness", "not measured by training: run seglab attack --model RUNFOLDER (docs/experiments/adversarial-training.md)");
        w.WriteEndObject();
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
