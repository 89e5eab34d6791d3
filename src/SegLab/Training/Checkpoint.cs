// Resumable checkpoints. Each save writes step-tagged files (network weights as safetensors, exactly the model's
// state dict; optimizer moments and Contextrast head weights in a second safetensors file), each atomically, then
// commits by atomically replacing the small JSON state that names them; older files go only after the commit.
// A crash or kill at any moment therefore leaves the previous checkpoint whole.
using System.Text.Json;
using System.Text.Json.Serialization;
using SegLab.Engine;
using SegLab.Engine.Serialization;
using SegLab.Metrics;

namespace SegLab.Training;

/// <summary>The JSON state of a checkpoint (last.json or best.json).</summary>
public sealed record CheckpointState
{
    /// <summary>Format version.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; init; }

    /// <summary>Total steps of the run.</summary>
    public long TotalSteps { get; init; }

    /// <summary>Epoch the next batch belongs to (0-based).</summary>
    public int Epoch { get; init; }

    /// <summary>Batch within that epoch.</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>Learning rate of the last step.</summary>
    public double LearningRate { get; init; }

    /// <summary>Weights file (relative to the run folder).</summary>
    public string WeightsFile { get; init; } = "";

    /// <summary>Optimizer and head state file (relative to the run folder).</summary>
    public string OptimizerFile { get; init; } = "";

    /// <summary>State of the trainer's generator (Contextrast sampling).</summary>
    public ulong[] RngState { get; init; } = [];

    /// <summary>Best validation mIoU so far (NaN before the first validation).</summary>
    [JsonPropertyName("best_miou")]
    public double BestMIoU { get; init; } = double.NaN;

    /// <summary>Step of the best validation.</summary>
    public long BestStep { get; init; }

    /// <summary>Hash of the resolved config (resume refuses another config).</summary>
    public string ConfigHash { get; init; } = "";

    /// <summary>Mean training loss per finished epoch.</summary>
    public double[] EpochLoss { get; init; } = [];

    /// <summary>Each validation as [step, mIoU, image mIoU, pixel accuracy].</summary>
    public double[][] Validations { get; init; } = [];

    /// <summary>Seconds of training so far (all sessions).</summary>
    public double Seconds { get; init; }

    /// <summary>Per finished epoch, seconds spent in the adversarial attack (0 for clean training).</summary>
    public double[] EpochAttackSeconds { get; init; } = [];

    /// <summary>Per finished epoch, seconds of the training steps without the attack.</summary>
    public double[] EpochStepSeconds { get; init; } = [];

    /// <summary>Attack seconds of the epoch in progress (its steps before this checkpoint).</summary>
    public double EpochAttackSecondsSoFar { get; init; }

    /// <summary>Training-step seconds (attack excluded) of the epoch in progress.</summary>
    public double EpochStepSecondsSoFar { get; init; }

    /// <summary>Adversarial samples trained on so far (all sessions).</summary>
    public long AdversarialSamples { get; init; }

    /// <summary>Samples of the micro-batches that went through adversarial sampling so far (all sessions).</summary>
    public long Samples { get; init; }

    /// <summary>Sum of the step losses of the epoch in progress (so that a resumed epoch's mean is over all its steps).</summary>
    public double EpochLossSumSoFar { get; init; }

    /// <summary>Steps summed in <see cref="EpochLossSumSoFar"/>.</summary>
    public int EpochLossStepsSoFar { get; init; }

    /// <summary>This state with <paramref name="loss"/> added to the epoch in progress.</summary>
    /// <param name="loss">The step's training loss.</param>
    public CheckpointState WithStepLoss(double loss) => this with { EpochLossSumSoFar = EpochLossSumSoFar + loss, EpochLossStepsSoFar = EpochLossStepsSoFar + 1 };

    /// <summary>This state with the epoch in progress closed: its mean loss appended to <see cref="EpochLoss"/>, the sum reset.</summary>
    public CheckpointState WithEpochLossClosed() =>
        this with { EpochLoss = [.. EpochLoss, EpochLossSumSoFar / Math.Max(1, EpochLossStepsSoFar)], EpochLossSumSoFar = 0, EpochLossStepsSoFar = 0 };

    /// <summary>This state after optimizer step <paramref name="next"/> of a run of one batch per step: step, epoch, batch in epoch and learning rate.</summary>
    /// <param name="next">Steps taken now.</param>
    /// <param name="batchesPerEpoch">Batches (steps) per epoch.</param>
    /// <param name="learningRate">The step's learning rate.</param>
    public CheckpointState AfterStep(long next, long batchesPerEpoch, double learningRate) =>
        this with { Step = next, Epoch = (int)(next / batchesPerEpoch), BatchInEpoch = (int)(next % batchesPerEpoch), LearningRate = learningRate };
}

/// <summary>Writes and reads checkpoints in a run folder.</summary>
public static class Checkpoint
{
    /// <summary>File names of the last checkpoint's state, the best state and the final weights.</summary>
    public const string LastState = "last.json", BestState = "best.json", BestWeights = "best.safetensors", FinalWeights = "model.safetensors";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Saves a resumable checkpoint and commits it as last.json; returns the state written.</summary>
    /// <param name="dir">Run folder.</param>
    /// <param name="state">State (file names are filled in here).</param>
    /// <param name="weights">The network's state dict.</param>
    /// <param name="optimizer">Optimizer state and extra tensors (heads), by name.</param>
    public static CheckpointState Save(string dir, CheckpointState state, IEnumerable<KeyValuePair<string, Tensor>> weights, IEnumerable<KeyValuePair<string, Tensor>> optimizer)
    {
        ArgumentNullException.ThrowIfNull(state);
        string w = $"step-{state.Step:D7}.safetensors", o = $"step-{state.Step:D7}.optim.safetensors";
        SafeTensors.Save(Path.Combine(dir, w), weights);
        SafeTensors.Save(Path.Combine(dir, o), optimizer);
        var previous = TryRead(Path.Combine(dir, LastState));
        var written = state with { WeightsFile = w, OptimizerFile = o };
        WriteState(Path.Combine(dir, LastState), written);
        if (previous is not null && previous.WeightsFile != w)
        {
            foreach (var f in new[] { previous.WeightsFile, previous.OptimizerFile })
                if (f.Length > 0 && File.Exists(Path.Combine(dir, f))) File.Delete(Path.Combine(dir, f));
        }
        return written;
    }

    /// <summary>Writes the best weights and their state (weights first, then the state that describes them).</summary>
    /// <param name="dir">Run folder.</param>
    /// <param name="state">State at the best validation.</param>
    /// <param name="weights">The network's state dict.</param>
    public static void SaveBest(string dir, CheckpointState state, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        SafeTensors.Save(Path.Combine(dir, BestWeights), weights);
        WriteState(Path.Combine(dir, BestState), state with { WeightsFile = BestWeights, OptimizerFile = "" });
    }

    /// <summary>Reads a state file, naming the file when it is missing or malformed.</summary>
    /// <param name="path">A last.json or best.json.</param>
    public static CheckpointState Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No checkpoint state '{path}': nothing to resume.", path);
        try
        {
            return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllBytes(path), Json)
                ?? throw new FormatException($"Checkpoint state '{path}' is empty.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"Checkpoint state '{path}' is not valid: {e.Message}", e);
        }
    }

    /// <summary>The state, or null when the file does not exist.</summary>
    /// <param name="path">A state file.</param>
    public static CheckpointState? TryRead(string path) => File.Exists(path) ? Read(path) : null;

    private static void WriteState(string path, CheckpointState state) =>
        SegLab.Engine.IO.AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(state, Json));
}
