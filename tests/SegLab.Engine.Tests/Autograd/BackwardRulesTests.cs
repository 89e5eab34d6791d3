// The guided-backpropagation scope (BackwardRules.Guided): active only inside it, on its own thread, read when the
// backward pass runs; outside it every gradient is bit for bit the ordinary one; inside it a ReLU net's input
// gradient is the hand computation of Springenberg et al.'s rule, PReLU and LeakyReLU differentiate max(g, 0), and
// the fused batch-norm + ReLU / + PReLU ops give what their unfused pairs give.
using SegLab.Engine.Autograd;

namespace SegLab.Engine.Tests.Autograd;

public class BackwardRulesTests
{
    // x [1, 3] -> h = x W1T [1, 4] -> relu -> out = r W2T [1, 2]; seed s = (1, 1).
    // h = (0.5, -0.5, 3.25, -2.5); dOut/dr = W2T s = (3, 2, -2.5, 1).
    // Ordinary: dh = (3, 0, -2.5, 0) (forward mask h > 0); guided: dh = (3, 0, 0, 0) (also grad > 0).
    // dx = W1T dh: ordinary (1.75, 4, -1.75), guided (3, 1.5, 0.75).
    private static readonly float[] W1T = [1, -1, 0.5f, -0.5f, 0.5f, 1, -1, 0.25f, 0.25f, 0.5f, 1, -1];
    private static readonly float[] W2T = [1, 2, -1, 3, 0.5f, -3, 2, -1];

    private static float[] ReluNetInputGrad(bool guidedForward, bool guidedBackward)
    {
        var x = Tensor.FromArray([0.5f, -1f, 2f], 1, 3).RequireGrad();
        Tensor output;
        using (guidedForward ? BackwardRules.Guided() : default)
            output = Ops.MatMul(Ops.Relu(Ops.MatMul(x, Tensor.FromArray((float[])W1T.Clone(), 3, 4))), Tensor.FromArray((float[])W2T.Clone(), 4, 2));
        using (guidedBackward ? BackwardRules.Guided() : default)
            return Tape.Grad(output, [x], Tensor.FromArray([1f, 1f], 1, 2))[0].ToArray();
    }

    // The same rule written out: dh_j = (h_j > 0 and g_j > 0) ? g_j : 0, dx_i = sum_j W1T[i, j] dh_j.
    private static double[] HandGuided(double[] x)
    {
        var h = new double[4];
        var g = new double[4];
        for (int j = 0; j < 4; j++)
        {
            for (int i = 0; i < 3; i++) h[j] += x[i] * W1T[(i * 4) + j];
            g[j] = W2T[j * 2] + W2T[(j * 2) + 1];
        }
        var dx = new double[3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                if (h[j] > 0 && g[j] > 0) dx[i] += W1T[(i * 4) + j] * g[j];
        return dx;
    }

    [Fact]
    public void Under_the_scope_a_relu_net_gets_the_hand_computed_guided_gradient()
    {
        var guided = ReluNetInputGrad(guidedForward: false, guidedBackward: true);
        var hand = HandGuided([0.5, -1, 2]);
        Assert.Equal(new float[] { 3, 1.5f, 0.75f }, guided);
        for (int i = 0; i < 3; i++) Assert.Equal(hand[i], guided[i], 6);
        Assert.Equal(new float[] { 1.75f, 4, -1.75f }, ReluNetInputGrad(guidedForward: false, guidedBackward: false));
    }

    [Fact]
    public void The_rule_is_read_at_backward_time_and_outside_the_scope_gradients_are_bit_identical()
    {
        var before = ReluNetInputGrad(false, false);
        Assert.Equal(before, ReluNetInputGrad(guidedForward: true, guidedBackward: false)); // recorded inside, differentiated outside
        Assert.Equal(ReluNetInputGrad(false, true), ReluNetInputGrad(guidedForward: true, guidedBackward: true));
        Assert.Equal(before, ReluNetInputGrad(false, false)); // after a scope closed

        // A net of every rectifier and fused op: ordinary gradients before, and after a guided pass, bit for bit.
        float[][] Grads()
        {
            var (x, w, b, a, output, seed) = MixedNet();
            return [.. Tape.Grad(output, [x, w, b, a], seed).Select(t => t.ToArray())];
        }
        var plain = Grads();
        using (BackwardRules.Guided())
        {
            var guidedGrads = Grads();
            Assert.NotEqual(plain[0], guidedGrads[0]);
        }
        var again = Grads();
        for (int k = 0; k < plain.Length; k++) Assert.Equal(plain[k], again[k]);
    }

    [Fact]
    public void The_scope_nests_and_belongs_to_its_thread()
    {
        Assert.False(BackwardRules.IsGuided);
        using (BackwardRules.Guided())
        {
            Assert.True(BackwardRules.IsGuided);
            using (BackwardRules.Guided()) Assert.True(BackwardRules.IsGuided);
            Assert.True(BackwardRules.IsGuided);
            bool other = true;
            var thread = new Thread(() => other = BackwardRules.IsGuided);
            thread.Start();
            thread.Join();
            Assert.False(other);
        }
        Assert.False(BackwardRules.IsGuided);
        default(GuidedScope).Dispose(); // a default scope closes nothing
        Assert.False(BackwardRules.IsGuided);
    }

    // PReLU and LeakyReLU: the ordinary backward of max(g, 0), that is f'(x) max(g, 0).
    // x = (-2, -1, 1, 3), g = (1, -1, -1, 2), slope 0.25: ordinary (0.25, -0.25, -1, 2), guided (0.25, 0, 0, 2).
    [Fact]
    public void Prelu_and_leaky_relu_pass_back_their_slope_times_the_positive_gradient()
    {
        var g = Tensor.FromArray([1f, -1f, -1f, 2f], 1, 4);
        float[] InputGrad(Func<Tensor, Tensor> f, bool guided)
        {
            var x = Tensor.FromArray([-2f, -1f, 1f, 3f], 1, 4).RequireGrad();
            var y = f(x);
            using (guided ? BackwardRules.Guided() : default) return Tape.Grad(y, [x], g)[0].ToArray();
        }
        Func<Tensor, Tensor> prelu = x => Ops.Prelu(x, Tensor.FromArray([0.25f], 1));
        Func<Tensor, Tensor> leaky = x => Ops.LeakyRelu(x, 0.25);
        foreach (var f in new[] { prelu, leaky })
        {
            Assert.Equal(new float[] { 0.25f, -0.25f, -1, 2 }, InputGrad(f, guided: false));
            Assert.Equal(new float[] { 0.25f, 0, 0, 2 }, InputGrad(f, guided: true));
        }
        Assert.Equal(new float[] { 0, 0, 0, 2 }, InputGrad(Ops.Relu, guided: true));
        // The slope's gradient under the rule: sum over x <= 0 of max(g, 0) x = 1 * -2.
        var xs = Tensor.FromArray([-2f, -1f, 1f, 3f], 1, 4);
        var slope = Tensor.FromArray([0.25f], 1).RequireGrad();
        var ys = Ops.Prelu(xs, slope);
        using (BackwardRules.Guided()) Assert.Equal(-2f, Tape.Grad(ys, [slope], g)[0].ToArray()[0]);
    }

    [Fact]
    public void A_relu_only_scope_leaves_prelu_and_leaky_relu_ordinary_and_nested_scopes_restore_the_setting()
    {
        var g = Tensor.FromArray([1f, -1f, -1f, 2f], 1, 4);
        float[] InputGrad(Func<Tensor, Tensor> f)
        {
            var x = Tensor.FromArray([-2f, -1f, 1f, 3f], 1, 4).RequireGrad();
            return Tape.Grad(f(x), [x], g)[0].ToArray();
        }
        Func<Tensor, Tensor> prelu = x => Ops.Prelu(x, Tensor.FromArray([0.25f], 1));
        using (BackwardRules.Guided(reluOnly: true))
        {
            Assert.Equal(new float[] { 0.25f, -0.25f, -1, 2 }, InputGrad(prelu));
            Assert.Equal(new float[] { 0.25f, -0.25f, -1, 2 }, InputGrad(x => Ops.LeakyRelu(x, 0.25)));
            Assert.Equal(new float[] { 0, 0, 0, 2 }, InputGrad(Ops.Relu));
            using (BackwardRules.Guided()) Assert.Equal(new float[] { 0.25f, 0, 0, 2 }, InputGrad(prelu));
            Assert.Equal(new float[] { 0.25f, -0.25f, -1, 2 }, InputGrad(prelu));
        }
        using (BackwardRules.Guided()) Assert.Equal(new float[] { 0.25f, 0, 0, 2 }, InputGrad(prelu));
    }

    [Fact]
    public void Other_activations_keep_their_gradient_under_the_scope()
    {
        foreach (var f in new Func<Tensor, Tensor>[] { Ops.Sigmoid, Ops.Tanh, Ops.Relu6, Ops.HardSwish })
        {
            var x = Tensor.Uniform([2, 3, 4], -4, 8, 21).RequireGrad();
            var seed = Tensor.Uniform([2, 3, 4], -1, 1, 22);
            var plain = Tape.Grad(f(x), [x], seed)[0].ToArray();
            float[] guided;
            using (BackwardRules.Guided()) guided = Tape.Grad(f(x), [x], seed)[0].ToArray();
            Assert.Equal(plain, guided);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fused_batch_norm_relu_under_the_scope_equals_batch_norm_then_relu(bool training)
    {
        var seed = Tensor.Uniform([2, 4, 5, 6], -1, 1, 7);
        float[][] Grads(bool fused)
        {
            var x = Tensor.Uniform([2, 4, 5, 6], -2, 2, 1).RequireGrad();
            var w = Tensor.Uniform([4], 0.5, 1.5, 2).RequireGrad();
            var b = Tensor.Uniform([4], -0.5, 0.5, 3).RequireGrad();
            var rm = Tensor.Uniform([4], -0.3, 0.3, 5);
            var rv = Tensor.Uniform([4], 0.5, 2, 6);
            var y = fused ? Ops.BatchNormRelu(x, w, b, rm, rv, training) : Ops.Relu(Ops.BatchNorm2d(x, w, b, rm, rv, training));
            using var _ = BackwardRules.Guided();
            return [.. Tape.Grad(y, [x, w, b], seed).Select(t => t.ToArray())];
        }
        AssertClose(Grads(fused: false), Grads(fused: true));
    }

    [Fact]
    public void Fused_batch_norm_prelu_under_the_scope_equals_batch_norm_then_prelu()
    {
        float[][] Grads(bool fused)
        {
            var (x, w, b, a, _, seed) = MixedNet();
            var rm = Tensor.Uniform([4], -0.3, 0.3, 5);
            var rv = Tensor.Uniform([4], 0.5, 2, 6);
            var y = fused ? Ops.BatchNormPrelu(x, w, b, rm, rv, a, 1e-3) : Ops.Prelu(Ops.BatchNorm2d(x, w, b, rm, rv, training: false, eps: 1e-3), a);
            float[][] plain = [.. Tape.Grad(y, [x, w, b, a], seed, retainGraph: true).Select(t => t.ToArray())];
            using var _ = BackwardRules.Guided();
            float[][] guided = [.. Tape.Grad(y, [x, w, b, a], seed).Select(t => t.ToArray())];
            Assert.NotEqual(plain[0], guided[0]); // one forward, two backward rules (what Guided Grad-CAM needs)
            return guided;
        }
        AssertClose(Grads(fused: false), Grads(fused: true));
    }

    // conv-free mix: BN + PReLU fused, then ReLU and LeakyReLU, on [2, 4, 5, 6].
    private static (Tensor X, Tensor W, Tensor B, Tensor A, Tensor Output, Tensor Seed) MixedNet()
    {
        var x = Tensor.Uniform([2, 4, 5, 6], -2, 2, 1).RequireGrad();
        var w = Tensor.Uniform([4], 0.5, 1.5, 2).RequireGrad();
        var b = Tensor.Uniform([4], -0.5, 0.5, 3).RequireGrad();
        var a = Tensor.Uniform([4], 0.05, 0.4, 4).RequireGrad();
        var rm = Tensor.Uniform([4], -0.3, 0.3, 5);
        var rv = Tensor.Uniform([4], 0.5, 2, 6);
        var y = Ops.BatchNormPrelu(x, w, b, rm, rv, a, 1e-3);
        var output = Ops.LeakyRelu(Ops.Relu(Ops.Add(y, Ops.Mul(y, 0.5))), 0.1);
        return (x, w, b, a, Ops.Add(output, y), Tensor.Uniform([2, 4, 5, 6], -1, 1, 7));
    }

    private static void AssertClose(float[][] expected, float[][] actual)
    {
        for (int k = 0; k < expected.Length; k++)
            for (int i = 0; i < expected[k].Length; i++)
                Assert.True(Math.Abs(expected[k][i] - actual[k][i]) <= 1e-4 * (1 + Math.Abs(expected[k][i])), $"grad {k}[{i}]: {expected[k][i]} unfused, {actual[k][i]} fused");
    }
}
