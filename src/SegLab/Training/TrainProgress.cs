// What the trainer reports while it runs and when it ends, and the error that stops a diverged run.
namespace SegLab.Training;

/// <summary>Progress after an optimizer step or a validation.</summary>
/// <param name="Step">Optimizer steps taken.</param>
/// <param name="TotalSteps">Steps of the run.</param>
/// <param name="Epoch">Current epoch (0-based).</param>
/// <param name="Loss">Mean loss of the last step (cross-entropy plus Contextrast term).</param>
/// <param name="ContrastLoss">Contextrast term of the last step (alpha * L_PA), or 0.</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="ImagesPerSecond">Training throughput of this session.</param>
/// <param name="Eta">Estimated time to the end.</param>
/// <param name="Message">A validation or checkpoint note, or null.</param>
/// <param name="AttackSeconds">Seconds of the current epoch spent in the adversarial attack (0 for clean training).</param>
/// <param name="StepSeconds">Seconds of the current epoch spent in the training step itself (attack excluded).</param>
public sealed record TrainProgress(long Step, long TotalSteps, int Epoch, double Loss, double ContrastLoss, double LearningRate,
    double ImagesPerSecond, TimeSpan Eta, string? Message = null, double AttackSeconds = 0, double StepSeconds = 0);

/// <summary>How a run ended.</summary>
/// <param name="Steps">Optimizer steps taken in total.</param>
/// <param name="Completed">All steps done (false: stopped by cancellation).</param>
/// <param name="FinalLoss">Loss of the last step.</param>
/// <param name="BestMIoU">Best validation mIoU (NaN without validation).</param>
/// <param name="BestStep">Step of the best validation.</param>
/// <param name="Seconds">Training time in this session.</param>
/// <param name="SecondsPerEpoch">Mean training seconds per epoch in this session (validation excluded).</param>
/// <param name="PeakWorkingSetBytes">Peak working set of the process.</param>
/// <param name="OutDir">Run folder.</param>
/// <param name="AlreadyFinished">The run had finished before this call: nothing was trained or written, the figures are its summary's.</param>
/// <param name="EpochsTrained">Epochs this session trained (fractional; below 1, <paramref name="SecondsPerEpoch"/> is extrapolated).</param>
/// <param name="AttackSecondsPerEpoch">Of <paramref name="SecondsPerEpoch"/>, the seconds spent in the adversarial attack (0 for clean training).</param>
public sealed record TrainResult(long Steps, bool Completed, double FinalLoss, double BestMIoU, long BestStep, double Seconds,
    double SecondsPerEpoch, long PeakWorkingSetBytes, string OutDir, bool AlreadyFinished = false, double EpochsTrained = double.NaN,
    double AttackSecondsPerEpoch = 0);

/// <summary>A non-finite loss stopped the run; the last good checkpoint stays in the run folder.</summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the error.</summary>
    /// <param name="message">Step, batch and the checkpoint kept.</param>
    public TrainingDivergedException(string message) : base(message) { }

    /// <summary>Creates an empty error.</summary>
    public TrainingDivergedException() { }

    /// <summary>Creates the error with a cause.</summary>
    /// <param name="message">Message.</param>
    /// <param name="inner">Cause.</param>
    public TrainingDivergedException(string message, Exception inner) : base(message, inner) { }
}
