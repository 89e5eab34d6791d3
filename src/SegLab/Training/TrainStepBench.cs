// Training-step speed on this machine (issue 5's benchmark): zero grad, forward, cross-entropy, backward and an SGD
// step for a UNet (Ronneberger et al. 2015; batch norm, ReLU, bilinear upsampling) or the DeepLabV3-style model,
// on a seeded random batch, as the median of timed steps after warm-up; optionally with Contextrast's loss added.
// tools/bench_train_vs_torch.py runs the same step in PyTorch for the side-by-side table in docs/benchmarks.md.
using System.Diagnostics;
using SegLab.Contextrast;
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Engine.Optim;
using SegLab.Engine.Threading;

namespace SegLab.Training;

/// <summary>One training-step timing.</summary>
/// <param name="Model">unet or deeplabv3, with its widths.</param>
/// <param name="Batch">Images per step.</param>
/// <param name="Height">Input height.</param>
/// <param name="Width">Input width.</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="Contextrast">Whether Contextrast's loss was part of the step.</param>
/// <param name="MedianMs">Median step time.</param>
/// <param name="MinMs">Fastest step.</param>
/// <param name="StepsMs">Every timed step.</param>
/// <param name="PeakMemoryMB">Peak working set of the process.</param>
public sealed record TrainStepBenchResult(string Model, int Batch, int Height, int Width, int Threads, bool Contextrast,
    double MedianMs, double MinMs, double[] StepsMs, double PeakMemoryMB);

/// <summary>Times training steps.</summary>
public static class TrainStepBench
{
    /// <summary>Runs the benchmark.</summary>
    /// <param name="model">Model settings (family unet or deeplabv3).</param>
    /// <param name="classes">Output classes.</param>
    /// <param name="batch">Images per step.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="warmup">Untimed steps first.</param>
    /// <param name="repeats">Timed steps.</param>
    /// <param name="contextrast">Contextrast settings when its loss is timed too, else null.</param>
    /// <param name="progress">Status lines.</param>
    public static TrainStepBenchResult Run(ModelConfig model, int classes = 11, int batch = 8, int height = 128, int width = 128, int warmup = 2, int repeats = 5,
        ContextrastOptions? contextrast = null, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (batch < 1 || height < 16 || width < 16 || repeats < 1 || warmup < 0)
            throw new ArgumentException($"bench train: need batch >= 1, size >= 16x16, repeats >= 1 (got {batch}, {height}x{width}, {repeats}).");
        var m = ModelFactory.Create(model, classes, seed: 1);
        ContextrastLoss? ctx = contextrast is null ? null
            : ContextrastLoss.ForModel(contextrast, m, ModelFactory.ContextrastStages(m, contextrast.Stages), 255, new Rng(2));
        var parameters = m.Network.TrainableParameters().Concat(ctx?.Heads.TrainableParameters() ?? []).ToList();
        var opt = new Sgd(parameters, 0.01, 0.9, 5e-4);
        var rng = new Rng(3);
        var x = Tensor.Uniform(rng, [batch, 3, height, width]);
        var labels = new int[batch * height * width];
        for (int i = 0; i < labels.Length; i++) labels[i] = (i / width / 16 + i % width / 16) % classes;
        var target = Tensor.FromArray(labels.Select(v => (float)v).ToArray(), batch, height, width);

        double Step()
        {
            var sw = Stopwatch.StartNew();
            opt.ZeroGrad();
            using (TensorScope.BeginTraining())
            {
                using var cap = ctx is null ? null : FeatureCapture.Start(m.Network, [.. ctx.Stages]);
                var logits = m.Forward(x);
                var loss = Ops.CrossEntropy(logits, target, 255);
                if (ctx is not null) loss = Ops.Add(loss, Ops.Mul(ctx.Compute(ctx.Stages.Select(s => cap![s]).ToArray(), logits, labels, rng), contextrast!.Alpha));
                loss.Backward();
            }
            opt.Step();
            return sw.Elapsed.TotalMilliseconds;
        }

        for (int i = 0; i < warmup; i++)
        {
            progress?.Report($"warm-up step {i + 1}/{warmup}");
            Step();
        }
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            progress?.Report($"timed step {i + 1}/{repeats}");
            times[i] = Step();
        }
        var sorted = times.Order().ToArray();
        double median = repeats % 2 == 1 ? sorted[repeats / 2] : (sorted[repeats / 2 - 1] + sorted[repeats / 2]) / 2;
        string name = model.Family == "unet" ? $"unet-{string.Join("-", model.Widths)}" : $"deeplabv3-w{model.BaseWidth}-os{model.OutputStride}-aspp{model.AsppChannels}";
        return new TrainStepBenchResult(name, batch, height, width, Parallelism.Threads, ctx is not null, median, sorted[0], times,
            Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0);
    }
}
