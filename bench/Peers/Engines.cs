// One workload on one engine, set up as that engine's users would run it. Each engine returns a step (the timed
// action) and a check (logits, and the input gradient for input-grad rows, for the comparison with SegLab).
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Optim;
using SegLab.Engine.Threading;
using SegLab.Onnx;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Peers;

/// <summary>A prepared workload: the timed step, and what the check compares (logits, then the input gradient or null).</summary>
internal sealed record Prepared(Action Step, Func<(float[] Logits, float[]? Grad)> Check);

internal static class Engines
{
    public static Prepared Prepare(string engine, Row row, int threads, string modelsDir)
    {
        var (input, shape, labels) = Workloads.Inputs(row);
        return engine switch
        {
            Workloads.SegLab => SegLabPort(row, threads, input, shape, labels, modelsDir),
            Workloads.SegLabOnnx => SegLabOnnx(row, threads, input, shape, Workloads.OnnxPath(row.Model, modelsDir)),
            Workloads.OnnxRuntime => Ort(threads, input, shape, Workloads.OnnxPath(row.Model, modelsDir)),
            Workloads.LibTorch => LibTorch(row, threads, input, shape, labels, modelsDir),
            _ => throw new ArgumentException($"peers: unknown engine '{engine}'."),
        };
    }

    private static string Need(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"peers: {path} is missing; run tools/export_peers.py (bench/Peers/run.sh does).");

    // SegLab's own port: inference as seglab eval runs it (no tape, storage reused across forwards through
    // TensorScope), the input gradient as an attack runs it (TensorScope.BeginTraining + Tape.Grad), a training step
    // as seglab train runs it (zero grad, forward, cross-entropy, backward, SGD momentum 0.9, weight decay 5e-4).
    private static Prepared SegLabPort(Row row, int threads, float[] input, int[] shape, int[] labels, string modelsDir)
    {
        Parallelism.SetThreads(threads);
        var model = Workloads.SegLabModel(row.Model, modelsDir);
        var net = model.Network;
        var x = Tensor.FromArray(input, shape);
        var target = Tensor.FromArray([.. labels.Select(v => (float)v)], row.Batch, row.Height, row.Width);
        switch (row.Workload)
        {
            case Workloads.Forward:
                net.Eval();
                return new(() =>
                {
                    using var _ = GradMode.NoGrad();
                    using var scope = TensorScope.Begin();
                    net.Forward(x);
                }, () =>
                {
                    using var _ = GradMode.NoGrad();
                    return (net.Forward(x).ToArray(), null);
                });
            case Workloads.InputGrad:
                net.Eval();
                (float[], float[]?) Grad(bool keep)
                {
                    var xi = x.RequireGrad();
                    using var scope = TensorScope.BeginTraining();
                    var logits = net.Forward(xi);
                    var g = Tape.Grad(Ops.CrossEntropy(logits, target, 255), [xi])[0];
                    return keep ? (logits.ToArray(), g.ToArray()) : ([], null);
                }
                return new(() => Grad(false), () => Grad(true));
            case Workloads.TrainStep:
                net.Train();
                var opt = new Sgd(net.TrainableParameters(), 0.01, 0.9, 5e-4);
                return new(() =>
                {
                    opt.ZeroGrad();
                    using (TensorScope.BeginTraining())
                        Ops.CrossEntropy(net.Forward(x), target, 255).Backward();
                    opt.Step();
                }, () =>
                {
                    using var scope = TensorScope.BeginTraining();
                    return (net.Forward(x).ToArray(), null);
                });
            default:
                throw new ArgumentException($"peers: unknown workload '{row.Workload}'.");
        }
    }

    // SegLab's ONNX import of the exported file, run as the port's forward.
    private static Prepared SegLabOnnx(Row row, int threads, float[] input, int[] shape, string path)
    {
        if (row.Workload != Workloads.Forward) throw new ArgumentException("peers: seglab-onnx runs forward rows only.");
        Parallelism.SetThreads(threads);
        var graph = OnnxGraph.Load(Need(path));
        graph.Eval();
        var x = Tensor.FromArray(input, shape);
        return new(() =>
        {
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            graph.Forward(x);
        }, () =>
        {
            using var _ = GradMode.NoGrad();
            return (graph.Forward(x).ToArray(), null);
        });
    }

    // ONNX Runtime as its users run it: default graph optimisations (ORT_ENABLE_ALL), intra-op threads set.
    private static Prepared Ort(int threads, float[] input, int[] shape, string path)
    {
        var options = new SessionOptions { IntraOpNumThreads = threads };
        var session = new InferenceSession(Need(path), options);
        string name = session.InputMetadata.Keys.First();
        var feeds = new[] { NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(input, shape)) };
        return new(() => { using var _ = session.Run(feeds); }, () =>
        {
            using var results = session.Run(feeds);
            return (results[0].AsTensor<float>().ToArray(), null);
        });
    }

    // libtorch 2.10 through TorchSharp: the TorchScript module traced by tools/export_peers.py, torch.set_num_threads,
    // inference mode for the forward, autograd.grad for the input gradient (as PyTorch attacks do), and for a
    // training step SGD (momentum 0.9, weight decay 5e-4) on the module traced in training mode. Every step runs in
    // a dispose scope so its tensors are freed when it ends, as TorchSharp's documentation advises for loops.
    private static Prepared LibTorch(Row row, int threads, float[] input, int[] shape, int[] labels, string modelsDir)
    {
        torch.set_num_threads(threads);
        torch.set_num_interop_threads(1);
        long[] dims = [.. shape.Select(d => (long)d)];
        var x = torch.tensor(input, dims);
        var target = torch.tensor(labels.Select(v => (long)v).ToArray(), [row.Batch, row.Height, row.Width]);
        string suffix = row.Workload == Workloads.TrainStep ? "_train.pt" : "_eval.pt";
        var module = torch.jit.load<torch.Tensor, torch.Tensor>(Need(Path.Combine(modelsDir, row.Model + suffix)));
        switch (row.Workload)
        {
            case Workloads.Forward:
                module.eval();
                return new(() =>
                {
                    using var d = torch.NewDisposeScope();
                    using var _ = torch.inference_mode();
                    module.call(x);
                }, () =>
                {
                    using var d = torch.NewDisposeScope();
                    using var _ = torch.inference_mode();
                    return (module.call(x).data<float>().ToArray(), null);
                });
            case Workloads.InputGrad:
                module.eval();
                (float[], float[]?) Grad(bool keep)
                {
                    using var d = torch.NewDisposeScope();
                    var xi = x.detach().requires_grad_(true);
                    var logits = module.call(xi);
                    var loss = torch.nn.functional.cross_entropy(logits, target, ignore_index: 255);
                    var g = torch.autograd.grad([loss], [xi])[0];
                    return keep ? (logits.detach().data<float>().ToArray(), g.data<float>().ToArray()) : ([], null);
                }
                return new(() => Grad(false), () => Grad(true));
            case Workloads.TrainStep:
                module.train();
                var opt = torch.optim.SGD(module.parameters(), 0.01, momentum: 0.9, weight_decay: 5e-4);
                return new(() =>
                {
                    using var d = torch.NewDisposeScope();
                    opt.zero_grad();
                    torch.nn.functional.cross_entropy(module.call(x), target, ignore_index: 255).backward();
                    opt.step();
                }, () =>
                {
                    using var d = torch.NewDisposeScope();
                    using var _ = torch.no_grad();
                    return (module.call(x).data<float>().ToArray(), null);
                });
            default:
                throw new ArgumentException($"peers: unknown workload '{row.Workload}'.");
        }
    }
}
