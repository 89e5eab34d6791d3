using System.Runtime.CompilerServices;
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests.Autograd;

// Storage reuse in the backward pass and the release of the graph. Arrays below StoragePool.MinElements are not
// pooled, so these graphs use tensors of 16 thousand elements and more. The switches are process-wide: the
// collection runs alone.
[CollectionDefinition("GradBuffers", DisableParallelization = true)]
public sealed class GradBuffersGroup;

[Collection("GradBuffers")]
public class GradBuffersTests
{
    // A small network with every way gradients meet: a tensor used twice (x feeds the conv and the cat), an op that
    // hands its gradient to both inputs (h + r), a view (reshape), a cat and a product of two graph tensors.
    private static (Tensor X, Tensor W, Tensor Loss) Network()
    {
        var rng = new Rng(5);
        var x = Tensor.Uniform(rng, [2, 8, 32, 32], -1, 1).RequireGrad();
        var w = Tensor.Uniform(rng, [8, 8, 3, 3], -0.3, 0.3).RequireGrad();
        var h = Ops.Conv2d(x, w, padding: 1);
        var r = Ops.Relu(h);
        var s = h + r;
        var c = Ops.Cat([s, x], 1).Reshape(2, 16, 1024);
        var loss = Ops.Sum(c * c * Ops.Exp(Ops.Mul(c, -0.1)));
        return (x, w, loss);
    }

    private static (float[] Gx, float[] Gw, long Reused) Gradients(bool reuse)
    {
        bool saved = GradBuffers.Enabled;
        GradBuffers.Enabled = reuse;
        try
        {
            var (x, w, loss) = Network();
            var g = Tape.Grad(loss, [x, w]);
            return (g[0].ToArray(), g[1].ToArray(), GradBuffers.LastReusedBytes);
        }
        finally
        {
            GradBuffers.Enabled = saved;
        }
    }

    [Fact]
    public void Reused_storage_gives_the_gradients_of_fresh_storage_bit_for_bit()
    {
        var fresh = Gradients(reuse: false);
        bool poisoned = Poison.Enabled;
        Poison.Enabled = true; // a kernel that read a reused buffer before writing it would now see NaN
        try
        {
            var reused = Gradients(reuse: true);
            Assert.Equal(0, fresh.Reused);
            Assert.True(reused.Reused > 0, "the pass reused no storage: the test no longer covers reuse");
            Assert.Equal(fresh.Gx, reused.Gx);
            Assert.Equal(fresh.Gw, reused.Gw);
            Assert.DoesNotContain(reused.Gx, float.IsNaN);
        }
        finally
        {
            Poison.Enabled = poisoned;
        }
    }

    [Fact]
    public void Leaf_gradients_and_accumulation_over_two_passes_match_fresh_storage()
    {
        float[] Run(bool reuse)
        {
            bool saved = GradBuffers.Enabled;
            GradBuffers.Enabled = reuse;
            try
            {
                var (x, _, loss) = Network();
                loss.Backward();
                var (x2, _, loss2) = Network();
                loss2.Backward();
                return [.. x.Grad!.ToArray(), .. x2.Grad!.ToArray()];
            }
            finally
            {
                GradBuffers.Enabled = saved;
            }
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Fact]
    public void A_second_backward_through_a_released_graph_is_a_clear_error()
    {
        var (x, _, loss) = Network();
        Tape.Grad(loss, [x]);
        var e = Assert.Throws<InvalidOperationException>(() => Tape.Grad(loss, [x]));
        Assert.Contains("freed by an earlier backward pass", e.Message);
        Assert.Contains("retainGraph", e.Message);
    }

    [Fact]
    public void Retaining_the_graph_allows_a_second_pass_with_the_same_result()
    {
        var (x, _, loss) = Network();
        var first = Tape.Grad(loss, [x], retainGraph: true)[0].ToArray();
        var second = Tape.Grad(loss, [x])[0].ToArray();
        Assert.Equal(first, second);
    }

    [Fact]
    public void The_forward_tensors_of_a_released_graph_can_be_collected_while_its_output_is_held()
    {
        var (loss, intermediate) = GraphWithIntermediate();
        loss.Backward();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(intermediate.IsAlive, "the released graph still holds its intermediate tensors");
        GC.KeepAlive(loss);
    }

    [Fact]
    public void A_retained_graph_keeps_its_forward_tensors()
    {
        var (loss, intermediate) = GraphWithIntermediate();
        loss.Backward(retainGraph: true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(intermediate.IsAlive);
        GC.KeepAlive(loss);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Tensor Loss, WeakReference Intermediate) GraphWithIntermediate()
    {
        var x = Tensor.Uniform([4, 64, 64], -1, 1, 3).RequireGrad();
        var h = Ops.Exp(x);
        return (Ops.Sum(h * h), new WeakReference(h));
    }

    // Three SGD steps on the small network: forward, backward, update. With reuse on, what each pass leaves free
    // is handed to the next step's forward and gradients; the weights must come out as with fresh storage.
    private static (float[] W, long Leftover, long TakenByForward) TrainThreeSteps(bool reuse)
    {
        bool saved = GradBuffers.Enabled;
        GradBuffers.Enabled = reuse;
        GradBuffers.DropLeftovers();
        try
        {
            var rng = new Rng(9);
            var w = Tensor.Uniform(rng, [8, 8, 3, 3], -0.3, 0.3).RequireGrad();
            var opt = new SegLab.Engine.Optim.Sgd([w], 0.05, momentum: 0.9);
            long leftover = 0, taken = 0;
            for (int step = 0; step < 3; step++)
            {
                var x = Tensor.Uniform(new Rng(20 + step), [2, 8, 32, 32], -1, 1);
                opt.ZeroGrad();
                long before = GradBuffers.LeftoverBytes;
                var h = Ops.Conv2d(x, w, padding: 1);
                var r = Ops.Relu(h);
                taken += before - GradBuffers.LeftoverBytes;
                var loss = Ops.Sum((h + r) * Ops.Exp(Ops.Mul(h, -0.1)));
                loss.Backward();
                leftover = Math.Max(leftover, GradBuffers.LeftoverBytes);
                opt.Step();
            }
            return (w.ToArray(), leftover, taken);
        }
        finally
        {
            GradBuffers.Enabled = saved;
            GradBuffers.DropLeftovers();
        }
    }

    [Fact]
    public void What_a_pass_leaves_free_serves_the_next_step_and_the_weights_match_fresh_storage()
    {
        var fresh = TrainThreeSteps(reuse: false);
        bool poisoned = Poison.Enabled;
        Poison.Enabled = true; // a kernel that read handed-over storage before writing it would now see NaN
        try
        {
            var reused = TrainThreeSteps(reuse: true);
            Assert.Equal(0, fresh.Leftover);
            Assert.True(reused.Leftover > 0, "no pass left storage free: the test no longer covers the hand-over");
            Assert.True(reused.TakenByForward > 0, "no forward took the storage a pass left free");
            Assert.Equal(fresh.W, reused.W);
            Assert.DoesNotContain(reused.W, float.IsNaN);
        }
        finally
        {
            Poison.Enabled = poisoned;
        }
    }
}
