// Speed and memory of a model on this machine: forward, and forward plus the input gradient (the inner step of
// every attack and attribution), as medians after warm-up. Used by `seglab bench model`.
using System.Diagnostics;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Models;

/// <summary>One model timing.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Height">Input height.</param>
/// <param name="Width">Input width.</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="ForwardMs">Median forward time.</param>
/// <param name="InputGradMs">Median forward + cross-entropy + input gradient time.</param>
/// <param name="PeakMemoryMB">Peak resident memory of the process so far.</param>
/// <param name="Repeats">Timed repeats of each.</param>
public sealed record ModelBenchResult(string Model, int Height, int Width, int Threads, double ForwardMs, double InputGradMs, double PeakMemoryMB, int Repeats);

/// <summary>Times a segmentation model.</summary>
public static class ModelBench
{
    /// <summary>Runs the benchmark on a seeded random image (batch 1).</summary>
    /// <param name="model">The model (eval mode is set).</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="warmup">Untimed runs first.</param>
    /// <param name="repeats">Timed runs of each kind.</param>
    /// <param name="progress">Optional status lines.</param>
    public static ModelBenchResult Run(SegmentationModel model, int height, int width, int warmup = 2, int repeats = 7, IProgress<string>? progress = null)
    {
        if (repeats < 1 || warmup < 0) throw new ArgumentException("bench model: repeats must be positive and warm-up non-negative.");
        var (image, target) = Prepare(model, height, width);

        double Forward()
        {
            var sw = Stopwatch.StartNew();
            using (GradMode.NoGrad())
            using (TensorScope.Begin()) model.Forward(image); // as seglab eval runs it: storage reused across forwards
            return sw.Elapsed.TotalMilliseconds;
        }

        double InputGrad()
        {
            var sw = Stopwatch.StartNew();
            var x = image.RequireGrad();
            using (TensorScope.BeginTraining()) // as an attack's gradient evaluations run it
            {
                var loss = Ops.CrossEntropy(model.Forward(x), target);
                Tape.Grad(loss, [x]);
            }
            return sw.Elapsed.TotalMilliseconds;
        }

        for (int i = 0; i < warmup; i++)
        {
            progress?.Report($"warm-up {i + 1}/{warmup}");
            Forward();
            InputGrad();
        }
        // The timed runs come in two blocks, as tools/bench_models_vs_torch.py times PyTorch: each kind in its
        // steady state (a loop of inference forwards reuses its storage through TensorScope; a gradient pass takes
        // what the forwards left idle).
        var fwd = new List<double>();
        var grad = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            progress?.Report($"forward {i + 1}/{repeats}");
            fwd.Add(Forward());
        }
        for (int i = 0; i < repeats; i++)
        {
            progress?.Report($"forward + input gradient {i + 1}/{repeats}");
            grad.Add(InputGrad());
        }
        double peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
        return new ModelBenchResult(model.Name, height, width, Parallelism.Threads, Median(fwd), Median(grad), peak, repeats);
    }

    /// <summary>
    /// Time per operation of the backward pass of forward + cross-entropy + input gradient, summed over
    /// <paramref name="runs"/> passes after one warm-up, divided by the runs (ms per pass), slowest first.
    /// </summary>
    /// <param name="model">The model (eval mode is set).</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="runs">Profiled passes.</param>
    public static IReadOnlyList<BackwardOpTime> ProfileInputGrad(SegmentationModel model, int height, int width, int runs = 3)
    {
        if (runs < 1) throw new ArgumentException("bench model: profile runs must be positive.");
        var (image, target) = Prepare(model, height, width);
        void Pass()
        {
            var x = image.RequireGrad();
            using var scope = TensorScope.BeginTraining();
            Tape.Grad(Ops.CrossEntropy(model.Forward(x), target), [x]);
        }
        Pass();
        BackwardProfile.Start();
        for (int i = 0; i < runs; i++) Pass();
        return [.. BackwardProfile.Stop().Select(t => t with { Calls = t.Calls / runs, Milliseconds = t.Milliseconds / runs })];
    }

    // The model in eval mode, a seeded random image [1, 3, H, W] and the model's own prediction as the target.
    private static (Tensor Image, Tensor Target) Prepare(SegmentationModel model, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (height < 8 || width < 8) throw new ArgumentException($"bench model: size {height}x{width} is too small.");
        model.Network.Eval();
        var image = Tensor.Uniform([1, 3, height, width], 0, 1, 1);
        using (GradMode.NoGrad()) return (image, model.Predict(model.Forward(image)));
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
    }
}
