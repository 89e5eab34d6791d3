// The convolutions' parallel paths (work items per image, group and band; per-thread weight-gradient sums) against
// naive loops, forced on small problems, and their results against one thread's: the forward bit for bit (each
// output element is computed by the same single call either way), the gradients within float32 summation error
// (the weight gradient sums images per thread; a strided input gradient of one image folds bands per thread).
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Tests;

[Collection("EngineThreads")]
public class ConvThreadsTests
{
    public static TheoryData<ConvReferenceTests.Spec> Specs() => ConvReferenceTests.ConvSpecs();

    [Theory]
    [MemberData(nameof(Specs))]
    public void Parallel_paths_match_direct_loops_and_one_thread(ConvReferenceTests.Spec s)
    {
        int savedThreads = Parallelism.Threads, savedBand = Ops.ConvBandElements;
        double savedWork = Ops.ConvWorkPerFlop;
        try
        {
            Ops.ConvBandElements = 1;    // one output row per band: many work items
            Ops.ConvWorkPerFlop = 1e6;   // every convolution counts as large enough to split
            var results = new List<(float[] Y, float[] Dx, float[] Dw)>();
            foreach (int threads in new[] { 1, 3 })
            {
                Parallelism.SetThreads(threads);
                new ConvReferenceTests().Conv2d_matches_direct_loops(s);
                var rng = new Rng(17);
                var x = Tensor.Uniform(rng, [s.N, s.C, s.H, s.W], -1, 1).RequireGrad();
                var w = Tensor.Uniform(rng, [s.K, s.C / s.Groups, s.Kh, s.Kw], -1, 1).RequireGrad();
                var y = Ops.Conv2d(x, w, null, s.Sh, s.Sw, s.Ph, s.Pw, s.Dh, s.Dw, s.Groups);
                var g = Tape.Grad(Ops.Sum(Ops.Mul(y, Tensor.Uniform(rng, y.ShapeArray(), -1, 1))), [x, w]);
                results.Add((y.ToArray(), g[0].ToArray(), g[1].ToArray()));
            }
            Assert.Equal(results[0].Y, results[1].Y);
            foreach (var (what, a, b) in new[] { ("dX", results[0].Dx, results[1].Dx), ("dW", results[0].Dw, results[1].Dw) })
                for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5 * (1 + Math.Abs(a[i])), $"{s.Name} {what}[{i}]: {a[i]} vs {b[i]}");
        }
        finally
        {
            Parallelism.SetThreads(savedThreads);
            Ops.ConvBandElements = savedBand;
            Ops.ConvWorkPerFlop = savedWork;
        }
    }
}
