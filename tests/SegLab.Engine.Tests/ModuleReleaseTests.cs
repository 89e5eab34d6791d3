// Module.Forward inside an inference scope hands back what a module made on the way to its output (issue 22,
// inference memory): the results stay those of fresh storage (poisoned storage shows any use after release), the
// output, views of it, the input and captured values stay valid, and a single forward reuses its own dead values.
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;

namespace SegLab.Engine.Tests;

[Collection("GradBuffers")] // switches the process-wide poison
public class ModuleReleaseTests
{
    // exp -> relu -> +1 -> the result: three intermediates of 4096+ elements per call.
    private sealed class Chain3 : Module
    {
        protected override Tensor ForwardCore(Tensor x) => Ops.Add(Ops.Relu(Ops.Exp(Ops.Mul(x, 0.5))), 1);
    }

    // Returns a view (reshape) of an intermediate.
    private sealed class ViewOfIntermediate : Module
    {
        protected override Tensor ForwardCore(Tensor x) => Ops.Reshape(Ops.Exp(Ops.Mul(x, 0.25)), x.Numel);
    }

    // Passes its input through unchanged.
    private sealed class PassThrough : Module
    {
        protected override Tensor ForwardCore(Tensor x) => x;
    }

    // Ten blocks in a row, run by RunChain, with Done on the chain's input: holds two values at a time.
    private sealed class Stack : Module
    {
        private readonly Module[] _blocks;

        public Stack() => _blocks = [.. Enumerable.Range(0, 10).Select(i => (Module)RegisterModule($"b{i}", new Chain3()))];

        protected override Tensor ForwardCore(Tensor x)
        {
            var first = Ops.Mul(x, 1.0);
            return Done(RunChain(first, _blocks), first);
        }
    }

    private static Tensor Input() => Tensor.Uniform([2, 4, 32, 32], -1, 1, 3); // 8192 elements

    private static T Poisoned<T>(Func<T> body)
    {
        bool was = Poison.Enabled;
        Poison.Enabled = true;
        try { return body(); }
        finally { Poison.Enabled = was; }
    }

    private static float[] Run(Module m, Tensor x, bool scoped, Func<Tensor, float[]>? read = null)
    {
        read ??= t => t.ToArray();
        using var _ = GradMode.NoGrad();
        if (!scoped) return read(m.Forward(x));
        using var scope = TensorScope.Begin();
        return read(m.Forward(x));
    }

    // Bytes a first scoped forward (on a fresh thread, so a fresh pool) allocates, and its result.
    private static (long Bytes, float[] Result) FirstScoped(Module m, Tensor x, bool capture = false)
    {
        (long, float[]) r = default;
        var t = new Thread(() =>
        {
            using var _ = GradMode.NoGrad();
            using var c = capture ? FeatureCapture.Start(m, "b3") : null;
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            float[] y;
            using (TensorScope.Begin()) y = m.Forward(x).ToArray();
            r = (GC.GetAllocatedBytesForCurrentThread() - b0, y);
        });
        t.Start();
        t.Join();
        return r;
    }

    [Fact]
    public void A_scoped_forward_gives_the_unscoped_result_and_reuses_its_own_dead_values()
    {
        var m = new Stack();
        var x = Input();
        var reference = Run(m, x, scoped: false);
        var (bytes, scoped) = Poisoned(() => FirstScoped(m, x));
        Assert.Equal(reference, scoped);
        // 31 values of 32 KB: without release within the forward a first scope could reuse nothing (about 1 MB);
        // with it, the chain holds a few at a time.
        Assert.True(bytes < 10 * 8192 * 4, $"the first scoped forward allocated {bytes} bytes");
    }

    [Fact]
    public void An_output_that_is_a_view_of_an_intermediate_and_a_passed_through_input_stay_valid()
    {
        var x = Input();
        var viewRef = Run(new ViewOfIntermediate(), x, scoped: false);
        Assert.Equal(viewRef, Poisoned(() => Run(new ViewOfIntermediate(), x, scoped: true)));
        var seq = new Sequential(new PassThrough(), new Chain3(), new PassThrough(), new Chain3());
        var seqRef = Run(seq, x, scoped: false);
        Assert.Equal(seqRef, Poisoned(() => Run(seq, x, scoped: true)));
        // The input of a scoped forward is the caller's: still intact afterwards.
        var xCopy = x.ToArray();
        Poisoned(() =>
        {
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            var inside = Ops.Mul(x, 1.0); // made in the scope, handed to the module as its input
            var before = inside.ToArray();
            new Sequential(new Chain3(), new Chain3()).Forward(inside);
            Assert.Equal(before, inside.ToArray());
            return 0;
        });
        Assert.Equal(xCopy, x.ToArray());
    }

    [Fact]
    public void Nothing_is_released_while_a_capture_is_active_or_a_tape_records()
    {
        var m = new Stack();
        var x = Input();
        var reference = Run(m, x, scoped: false);
        var (bytes, captured) = Poisoned(() => FirstScoped(m, x, capture: true));
        Assert.Equal(reference, captured);
        Assert.True(bytes > 30 * 8192 * 4, $"with a capture active the forward allocated only {bytes} bytes: something was released");
        // Under a tape nothing is the scope's: the gradient is the one computed without a scope.
        Tensor Grad(bool scoped)
        {
            var xg = Input();
            xg.RequiresGrad = true;
            using (scoped ? TensorScope.Begin() : null) Tape.Backward(Ops.Sum(m.Forward(xg)));
            return xg.Grad!;
        }
        var plain = Grad(scoped: false).ToArray();
        Assert.Equal(plain, Poisoned(() => Grad(scoped: true).ToArray()));
    }
}
