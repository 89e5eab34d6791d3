// Checks of the attack losses (PAPERS.md A.2): analytic gradients against central differences, ignored pixels and
// extra output channels left out, JS's closed form against the definition, SegPGD's lambda schedule, class weights.
using SegLab.Engine;
using SegLab.Robustness.Losses;

namespace SegLab.Tests.Robustness;

public class LossTests
{
    public static TheoryData<string> Names => new(LossTable.Names);

    private const int N = 2, C = 4, K = 3, P = 6;

    private static (float[] Logits, int[] Labels) Problem()
    {
        var rng = new Rng(11);
        var logits = new float[N * C * P];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(2 * rng.NextNormal());
        int[] labels = [0, 1, 2, -1, 1, 0, 2, 2, -1, 0, 1, 1];
        return (logits, labels);
    }

    private static double[] Eval(IAttackLoss loss, float[] logits, int[] labels, float[]? grad, int step = 3)
    {
        var r = new double[N];
        loss.Evaluate(new LossInput(logits, labels, N, C, K, P, step, 10), r, grad);
        return r;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_central_differences(string name)
    {
        if (name.StartsWith("cospgd", StringComparison.Ordinal)) return; // detached weight: checked below
        var loss = LossTable.Create(name, [0.2, 0.3, 0.5]);
        var (logits, labels) = Problem();
        var grad = new float[logits.Length];
        Eval(loss, logits, labels, grad);
        const float h = 1e-3f;
        for (int i = 0; i < logits.Length; i++)
        {
            var lp = (float[])logits.Clone();
            var lm = (float[])logits.Clone();
            lp[i] += h;
            lm[i] -= h;
            double fd = (Eval(loss, lp, labels, null).Sum() - Eval(loss, lm, labels, null).Sum()) / (2 * h);
            Assert.True(Math.Abs(fd - grad[i]) < 2e-3, $"{name}: logit {i}: analytic {grad[i]}, numeric {fd}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Ignored_pixels_and_extra_channels_get_no_gradient(string name)
    {
        var loss = LossTable.Create(name, [0.2, 0.3, 0.5]);
        var (logits, labels) = Problem();
        var grad = new float[logits.Length];
        var before = Eval(loss, logits, labels, grad);
        for (int b = 0; b < N; b++)
            for (int p = 0; p < P; p++)
                Assert.Equal(0f, grad[(b * C + K) * P + p]); // channel K is not a loss class
        for (int c = 0; c < C; c++)
        {
            Assert.Equal(0f, grad[(0 * C + c) * P + 3]); // image 0, pixel 3 ignored
            Assert.Equal(0f, grad[(1 * C + c) * P + 2]); // image 1, pixel 2 ignored
        }
        var changed = (float[])logits.Clone();
        for (int c = 0; c < C; c++) changed[c * P + 3] += 5; // move the ignored pixel's logits
        Assert.Equal(before, Eval(loss, changed, labels, null));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CosPgd_gradient_is_the_detached_weight_times_the_ce_gradient(bool sigmoid)
    {
        float[] logits = [0.3f, 1.2f, -0.7f];
        int[] labels = [1];
        double[] l1 = new double[1], l2 = new double[1];
        float[] g1 = new float[3], g2 = new float[3];
        var input = new LossInput(logits, labels, 1, 3, 3, 1);
        new CosPgdLoss(sigmoid).Evaluate(input, l1, g1);
        new CrossEntropyLoss().Evaluate(input, l2, g2);
        double w = l1[0] / l2[0];
        var psi = sigmoid ? logits.Select(v => 1 / (1 + Math.Exp(-v))).ToArray() : logits.Select(v => Math.Exp(v) / logits.Sum(u => Math.Exp(u))).ToArray();
        Assert.Equal(psi[1] / Math.Sqrt(psi.Sum(v => v * v)), w, 5);
        for (int j = 0; j < 3; j++) Assert.Equal(w * g2[j], g1[j], 5);
    }

    [Fact]
    public void Jensen_Shannon_closed_form_equals_the_definition()
    {
        var (logits, labels) = Problem();
        var ours = Eval(new JensenShannonLoss(), logits, labels, null);
        for (int b = 0; b < N; b++)
        {
            double sum = 0;
            for (int p = 0; p < P; p++)
            {
                int y = labels[b * P + p];
                if (y < 0) continue;
                var u = Enumerable.Range(0, K).Select(c => (double)logits[(b * C + c) * P + p]).ToArray();
                double z = u.Sum(Math.Exp);
                var prob = u.Select(v => Math.Exp(v) / z).ToArray();
                double js = 0;
                for (int c = 0; c < K; c++)
                {
                    double e = c == y ? 1 : 0, m = (prob[c] + e) / 2;
                    js += 0.5 * prob[c] * Math.Log(prob[c] / m) + (e > 0 ? 0.5 * e * Math.Log(e / m) : 0);
                }
                sum += js;
            }
            Assert.Equal(sum / P, ours[b], 5);
        }
    }

    [Fact]
    public void SegPgd_lambda_runs_from_zero_to_one_half()
    {
        Assert.Equal(0f, SegPgdLoss.Lambda(0, 20));
        Assert.Equal(0.25f, SegPgdLoss.Lambda(10, 20));
        Assert.Equal(0.5f, SegPgdLoss.Lambda(20, 20));
    }

    [Fact]
    public void Masked_losses_vanish_on_misclassified_pixels_and_ce_does_not()
    {
        // One pixel, label 0, logits favouring class 1.
        float[] logits = [0f, 3f, -1f];
        int[] labels = [0];
        double Loss(IAttackLoss l)
        {
            var r = new double[1];
            l.Evaluate(new LossInput(logits, labels, 1, 3, 3, 1), r, default);
            return r[0];
        }
        Assert.Equal(0, Loss(new MaskedCrossEntropyLoss()));
        Assert.Equal(0, Loss(new MaskedSphericalLoss()));
        Assert.True(Loss(new CrossEntropyLoss()) > 3);
        Assert.True(Loss(new SegPgdLoss()) == 0); // lambda = 0 at step 0: only correct pixels count
    }

    [Fact]
    public void Class_weights_are_inverse_frequencies_normalised_to_one()
    {
        var w = ClassWeights.FromPixelCounts([100, 300, 0, 600]);
        Assert.Equal(0, w[2]);
        Assert.Equal(1.0, w.Sum(), 12);
        Assert.Equal(3.0, w[0] / w[1], 12);
        Assert.Equal(6.0, w[0] / w[3], 12);
        var counts = new long[3];
        ClassWeights.Accumulate([0, 0, 1, 11, 2, -1], counts);
        Assert.Equal(new long[] { 2, 1, 1 }, counts);
    }
}
