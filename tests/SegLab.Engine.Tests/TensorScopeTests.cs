using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests;

// Storage recycled across inference forwards. The poison switch is process-wide, so these run alone (with the
// GradBuffers tests, which switch it too).
[Collection("GradBuffers")]
public class TensorScopeTests
{
    private static readonly Tensor s_w = Tensor.Uniform([8, 4, 3, 3], -0.5, 0.5, 2);

    // A few ops whose outputs are all pooled sizes (>= 4096 elements).
    private static Tensor Net(Tensor x) => Ops.Relu(Ops.Conv2d(Ops.Exp(Ops.Mul(x, 0.5)), s_w, padding: 1)) + 1;

    private static Tensor Input() => Tensor.Uniform([2, 4, 32, 32], -1, 1, 7);

    [Fact]
    public void Forwards_in_scopes_reuse_storage_and_give_the_results_of_fresh_storage()
    {
        float[] reference;
        using (GradMode.NoGrad()) reference = Net(Input()).ToArray();
        bool poisoned = Poison.Enabled;
        Poison.Enabled = true; // a kernel reading reused storage before writing it would give NaN
        try
        {
            var x = Input();
            long before = TensorScope.ReusedBytes;
            for (int i = 0; i < 3; i++)
            {
                using var _ = GradMode.NoGrad();
                using var scope = TensorScope.Begin();
                Assert.Equal(reference, Net(x).ToArray());
            }
            Assert.True(TensorScope.ReusedBytes > before, "the second and third forwards reused no storage");
        }
        finally
        {
            Poison.Enabled = poisoned;
        }
    }

    [Fact]
    public void A_tensor_used_after_its_scope_shows_the_poison()
    {
        bool poisoned = Poison.Enabled;
        Poison.Enabled = true;
        try
        {
            Tensor y;
            using (GradMode.NoGrad())
            using (TensorScope.Begin()) y = Net(Input());
            Assert.Contains(y.ToArray(), float.IsNaN);
        }
        finally
        {
            Poison.Enabled = poisoned;
        }
    }

    [Fact]
    public void Tensors_a_tape_records_are_not_pooled()
    {
        var x = Input().RequireGrad();
        Tensor y;
        using (TensorScope.Begin()) y = Net(x);
        float[] expected;
        using (GradMode.NoGrad()) expected = Net(Input()).ToArray();
        using (GradMode.NoGrad())
        using (TensorScope.Begin()) Net(Input()); // would overwrite y's storage if it had been pooled
        Assert.Equal(expected, y.ToArray());
        var g = Tape.Grad(Ops.Sum(y), [x])[0];
        Assert.DoesNotContain(g.ToArray(), float.IsNaN);
    }

    [Fact]
    public void A_recorded_forward_takes_idle_pool_storage_for_good()
    {
        var x = Input().RequireGrad();
        float[] expected;
        using (GradMode.NoGrad()) expected = Net(Input()).ToArray();
        using (GradMode.NoGrad())
        using (TensorScope.Begin()) Net(Input()); // leaves its storage idle in the pool
        long before = TensorScope.ReusedBytes;
        var y = Net(x); // records a tape: takes the idle storage, which leaves the pool
        Assert.True(TensorScope.ReusedBytes > before, "the recorded forward took no idle storage");
        using (GradMode.NoGrad())
        using (TensorScope.Begin()) Net(Input()); // must not get y's storage back
        Assert.Equal(expected, y.ToArray());
    }

    [Fact]
    public void Gradients_computed_inside_a_scope_stay_valid_after_it()
    {
        var x = Input().RequireGrad();
        Tensor g;
        using (TensorScope.Begin()) g = Tape.Grad(Ops.Sum(Net(x)), [x])[0];
        var copy = g.ToArray();
        using (GradMode.NoGrad())
        using (TensorScope.Begin()) Net(Input());
        Assert.Equal(copy, g.ToArray());
    }

    [Fact]
    public void Scopes_ended_out_of_order_are_an_error()
    {
        var outer = TensorScope.Begin();
        var inner = TensorScope.Begin();
        var e = Assert.Throws<InvalidOperationException>(outer.Dispose);
        Assert.Contains("reverse order", e.Message);
        inner.Dispose();
        outer.Dispose();
    }
    // One SGD step of a small conv net on a fixed batch, with or without a training scope around forward + backward.
    private static float[] TrainSteps(bool scoped, int steps, out long reusedBytes)
    {
        var w = Tensor.Uniform([8, 4, 3, 3], -0.5, 0.5, 2);
        w.RequiresGrad = true;
        var w2 = Tensor.Uniform([3, 8, 3, 3], -0.5, 0.5, 3);
        w2.RequiresGrad = true;
        var opt = new SegLab.Engine.Optim.Sgd([w, w2], 0.1, 0.9, 1e-3);
        var x = Input();
        long before = TensorScope.ReusedBytes;
        for (int i = 0; i < steps; i++)
        {
            opt.ZeroGrad();
            using (scoped ? TensorScope.BeginTraining() : null)
            {
                var h = Ops.Relu(Ops.Conv2d(x, w, padding: 1));
                var y = Ops.Conv2d(Ops.Exp(Ops.Mul(h, 0.1)), w2, padding: 1);
                Ops.Mean(Ops.Mul(y, y)).Backward();
            }
            opt.Step();
        }
        reusedBytes = TensorScope.ReusedBytes - before;
        return [.. w.ToArray(), .. w2.ToArray()];
    }

    [Fact]
    public void Training_steps_in_a_training_scope_reuse_storage_and_train_exactly_as_without_it()
    {
        var reference = TrainSteps(scoped: false, 3, out _);
        bool poisoned = Poison.Enabled;
        Poison.Enabled = true; // reused forward storage is NaN until written: a kernel reading it first would show
        try
        {
            var scoped = TrainSteps(scoped: true, 3, out long reused);
            Assert.Equal(reference, scoped);
            Assert.True(reused > 0, "the second and third steps' forwards reused no storage");
        }
        finally
        {
            Poison.Enabled = poisoned;
        }
    }

    [Fact]
    public void A_training_scope_invalidates_the_steps_activations_but_not_the_gradients()
    {
        bool poisoned = Poison.Enabled;
        Poison.Enabled = true;
        try
        {
            var w = Tensor.Uniform([8, 4, 3, 3], -0.5, 0.5, 2);
            w.RequiresGrad = true;
            Tensor h;
            using (TensorScope.BeginTraining())
            {
                h = Ops.Relu(Ops.Conv2d(Input(), w, padding: 1));
                Ops.Mean(Ops.Mul(h, h)).Backward();
            }
            Assert.Contains(h.ToArray(), float.IsNaN);
            Assert.DoesNotContain(w.Grad!.ToArray(), float.IsNaN);
        }
        finally
        {
            Poison.Enabled = poisoned;
        }
    }

    // Release (issue 22): a graph executor hands a dead value's storage back before the scope ends.
    [Fact]
    public void Released_storage_is_taken_by_the_scopes_next_allocation_of_that_size_and_poisoned()
    {
        bool poisoned = Poison.Enabled;
        Poison.Enabled = true;
        try
        {
            var x = Input();
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            var a = Ops.Exp(x);
            Assert.True(TensorScope.CanRelease);
            Assert.True(TensorScope.Release(a));
            Assert.Contains(a.ToArray(), float.IsNaN); // a use after the release shows
            Assert.False(TensorScope.Release(a), "released twice");
            var b = Ops.Relu(x);
            Assert.Same(a.Storage, b.Storage);
            Assert.Equal(x.ToArray().Select(v => Math.Max(v, 0f)).ToArray(), b.ToArray());
            var c = Ops.Exp(x);
            Assert.NotSame(b.Storage, c.Storage); // b is live: its storage is not handed out again
        }
        finally
        {
            Poison.Enabled = poisoned;
        }
    }

    [Fact]
    public void Release_keeps_storage_that_no_inference_scope_made()
    {
        var x = Input();
        Assert.False(TensorScope.CanRelease);
        Assert.False(TensorScope.Release(Ops.Exp(x))); // no scope
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            Assert.False(TensorScope.Release(x)); // made before the scope
            var a = Ops.Exp(x);
            using (TensorScope.Begin()) Assert.False(TensorScope.Release(a)); // the inner scope did not make it
            var before = a.ToArray();
            using (var cap = SegLab.Engine.Nn.FeatureCapture.Start(new SegLab.Engine.Nn.Sequential(SegLab.Engine.Nn.Activation.ReLU())))
            {
                Assert.False(TensorScope.CanRelease);
                Assert.False(TensorScope.Release(a)); // a capture may hold it
            }
            Assert.Equal(before, a.ToArray());
        }
        var y = Tensor.Uniform([2, 4, 32, 32], -1, 1, 3).RequireGrad();
        using (TensorScope.BeginTraining())
        {
            var h = Ops.Exp(y);
            Assert.False(TensorScope.CanRelease);
            Assert.False(TensorScope.Release(h)); // the tape may need it
        }
    }

    [Fact]
    public void Storage_released_in_a_scope_goes_to_the_thread_pool_when_the_scope_ends()
    {
        var x = Input();
        Array? released = null, next = null;
        bool ok = false;
        var t = new Thread(() => // a fresh thread: its pool holds nothing from other tests
        {
            using (GradMode.NoGrad())
            using (TensorScope.Begin())
            {
                var a = Ops.Exp(x);
                released = a.Storage;
                ok = TensorScope.Release(a);
            }
            using (GradMode.NoGrad())
            using (TensorScope.Begin()) next = Ops.Exp(x).Storage;
        });
        t.Start();
        t.Join();
        Assert.True(ok);
        Assert.NotNull(released);
        Assert.Same(released, next);
    }
}
