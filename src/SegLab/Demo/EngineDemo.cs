// seglab demo, until the eval issue gives it real content: a tiny end-to-end run of the engine.
// A coordinate network (2 -> 64 -> 64 -> 3, tanh) learns a synthetic three-region label map from scattered
// labelled points, by full-batch SGD on cross-entropy, and is scored on every pixel of the map.
using System.Diagnostics;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Optim;

namespace SegLab.Demo;

/// <summary>Result of the engine demo.</summary>
/// <param name="Steps">Training steps run.</param>
/// <param name="InitialLoss">Loss before training.</param>
/// <param name="FinalLoss">Loss after training.</param>
/// <param name="PixelAccuracy">Accuracy of the fitted network on every pixel of the map, 0..100.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record EngineDemoResult(int Steps, double InitialLoss, double FinalLoss, double PixelAccuracy, double Seconds);

/// <summary>Progress of the engine demo: step and current loss.</summary>
/// <param name="Step">Step just finished.</param>
/// <param name="TotalSteps">Total steps.</param>
/// <param name="Loss">Current loss.</param>
public readonly record struct EngineDemoProgress(int Step, int TotalSteps, double Loss);

/// <summary>A tiny end-to-end engine example: fit a per-pixel classifier to a synthetic label map.</summary>
public static class EngineDemo
{
    private const int MapSize = 48;
    private const int Classes = 3;
    private const int TrainPoints = 768;

    /// <summary>Runs the demo.</summary>
    /// <param name="steps">Training steps (full batch).</param>
    /// <param name="seed">Random seed for points and weights.</param>
    /// <param name="progress">Optional progress sink, told after each step.</param>
    public static EngineDemoResult Run(int steps = 300, int seed = 0, IProgress<EngineDemoProgress>? progress = null)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be at least 1");
        var sw = Stopwatch.StartNew();
        var rng = new Rng(seed);
        var (x, y) = SamplePoints(rng, TrainPoints);
        var w1 = Init(rng, 2, 64);
        var b1 = Tensor.Zeros(64).RequireGrad();
        var w2 = Init(rng, 64, 64);
        var b2 = Tensor.Zeros(64).RequireGrad();
        var w3 = Init(rng, 64, Classes);
        var b3 = Tensor.Zeros(Classes).RequireGrad();
        var opt = new Sgd([w1, b1, w2, b2, w3, b3], lr: 0.5, momentum: 0.9);
        Tensor Forward(Tensor input) => Ops.Add(Ops.MatMul(Ops.Tanh(Ops.Add(Ops.MatMul(Ops.Tanh(Ops.Add(Ops.MatMul(input, w1), b1)), w2), b2)), w3), b3);

        double initial = double.NaN, last = double.NaN;
        for (int step = 1; step <= steps; step++)
        {
            opt.ZeroGrad();
            var loss = CrossEntropy(Forward(x), y);
            last = loss.Item();
            if (step == 1) initial = last;
            loss.Backward();
            opt.Step();
            progress?.Report(new EngineDemoProgress(step, steps, last));
        }

        var (gridX, gridY) = Grid();
        double correct;
        using (GradMode.NoGrad())
        {
            var pred = Ops.Argmax(Forward(gridX), 1).Span;
            var truth = gridY.Span;
            correct = 0;
            for (int i = 0; i < pred.Length; i++) if (pred[i] == truth[i]) correct++;
        }
        return new EngineDemoResult(steps, initial, last, 100.0 * correct / (MapSize * MapSize), sw.Elapsed.TotalSeconds);
    }

    /// <summary>The synthetic label map: a disk (1), a bar (2), background (0), over [-1, 1]^2.</summary>
    internal static int Label(double u, double v)
    {
        if ((u + 0.3) * (u + 0.3) + (v - 0.2) * (v - 0.2) < 0.25) return 1;
        if (Math.Abs(v + 0.55) < 0.18 && u > -0.6) return 2;
        return 0;
    }

    private static Tensor CrossEntropy(Tensor logits, Tensor oneHot)
        => Ops.Neg(Ops.Mean(Ops.Sum(Ops.Mul(Ops.LogSoftmax(logits, 1), oneHot), [1])));

    private static Tensor Init(Rng rng, int fanIn, int fanOut)
        => Tensor.Normal(rng, [fanIn, fanOut], 0, Math.Sqrt(2.0 / (fanIn + fanOut)) * 2).RequireGrad();

    private static (Tensor X, Tensor OneHot) SamplePoints(Rng rng, int n)
    {
        var x = new float[n * 2];
        var y = new float[n * Classes];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble() * 2 - 1, v = rng.NextDouble() * 2 - 1;
            x[2 * i] = (float)u;
            x[2 * i + 1] = (float)v;
            y[i * Classes + Label(u, v)] = 1;
        }
        return (Tensor.FromArray(x, n, 2), Tensor.FromArray(y, n, Classes));
    }

    private static (Tensor X, Tensor Labels) Grid()
    {
        var x = new float[MapSize * MapSize * 2];
        var y = new float[MapSize * MapSize];
        for (int r = 0; r < MapSize; r++)
            for (int c = 0; c < MapSize; c++)
            {
                int i = r * MapSize + c;
                double u = (c + 0.5) / MapSize * 2 - 1, v = (r + 0.5) / MapSize * 2 - 1;
                x[2 * i] = (float)u;
                x[2 * i + 1] = (float)v;
                y[i] = Label(u, v);
            }
        return (Tensor.FromArray(x, MapSize * MapSize, 2), Tensor.FromArray(y, MapSize * MapSize));
    }
}
