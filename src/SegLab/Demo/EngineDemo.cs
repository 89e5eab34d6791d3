// seglab demo, until the eval issue gives it real content: fits a tiny network with the engine, end to end.
namespace SegLab.Demo;

/// <summary>Result of the engine demo.</summary>
/// <param name="Steps">Training steps run.</param>
/// <param name="InitialLoss">Loss before training.</param>
/// <param name="FinalLoss">Loss after training.</param>
/// <param name="PixelAccuracy">Accuracy of the fitted network on held-out points, 0..100.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record EngineDemoResult(int Steps, double InitialLoss, double FinalLoss, double PixelAccuracy, double Seconds);

/// <summary>Progress of the engine demo: step and current loss.</summary>
/// <param name="Step">Step just finished.</param>
/// <param name="TotalSteps">Total steps.</param>
/// <param name="Loss">Current loss.</param>
public readonly record struct EngineDemoProgress(int Step, int TotalSteps, double Loss);

/// <summary>A tiny end-to-end engine example (STUB until the engine lands).</summary>
public static class EngineDemo
{
    /// <summary>Runs the demo.</summary>
    /// <param name="steps">Training steps.</param>
    /// <param name="seed">Random seed.</param>
    /// <param name="progress">Optional progress sink.</param>
    public static EngineDemoResult Run(int steps = 300, int seed = 0, IProgress<EngineDemoProgress>? progress = null)
    {
        progress?.Report(new EngineDemoProgress(steps, steps, 0));
        return new EngineDemoResult(steps, double.NaN, double.NaN, double.NaN, 0);
    }
}
