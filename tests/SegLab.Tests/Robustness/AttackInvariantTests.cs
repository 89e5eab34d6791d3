// The attack x loss invariant matrix (STYLE.md: Captum's algorithm x invariant matrix, AutoAttack's checks) on a
// tiny model: every adversarial image lies in the eps-ball and [0, 1]; a fixed seed gives identical results; the
// reported counts belong to the returned images; with the clean image as a candidate, robust accuracy never
// exceeds clean accuracy.
using SegLab.Robustness;
using SegLab.Robustness.Attacks;
using SegLab.Robustness.Losses;
using SegLab.Robustness.Protocols;

namespace SegLab.Tests.Robustness;

public class AttackInvariantTests
{
    public static TheoryData<string, string> Matrix()
    {
        var d = new TheoryData<string, string>();
        foreach (var a in new[] { "fgsm", "pgd", "pgd-rs", "apgd", "apgd-redeps", "padam" })
            foreach (var l in LossTable.Names) d.Add(a, l);
        return d;
    }

    internal static IAttack Build(string attack, string loss, long seed = 3)
    {
        var l = LossTable.Create(loss, [0.5, 0.3, 0.2]);
        return attack switch
        {
            "fgsm" => new Fgsm(l),
            "pgd" => new Pgd(l, steps: 4),
            "pgd-rs" => new Pgd(l, steps: 4, randomStart: true, seed: seed, iterate: PgdIterate.Last),
            "apgd" => new Apgd(l, steps: 8, seed: seed),
            "apgd-redeps" => new RedEpsApgd(l, steps: 10, seed: seed),
            "padam" => new PAdam(l, steps: 4, learningRate: 0.02, seed: seed),
            _ => throw new ArgumentException(attack),
        };
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Adversarial_images_stay_in_the_ball_and_the_unit_cube(string attack, string loss)
    {
        var p = new TinySegmentation();
        const float eps = 8f / 255;
        var r = Build(attack, loss).Run(p.Model, p.ImageTensor(), p.Labels, eps);
        var adv = r.Adversarial.Span;
        Assert.Equal(0, LinfBall.Violations(adv, p.Images, eps));
        Assert.True(LinfBall.Norm(adv, p.Images) <= eps * (1 + 1e-6));
        Assert.All(r.Trace, t => Assert.NotEmpty(t));
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void A_fixed_seed_gives_identical_results(string attack, string loss)
    {
        var p = new TinySegmentation();
        var a = Build(attack, loss).Run(p.Model, p.ImageTensor(), p.Labels, 4f / 255);
        var b = Build(attack, loss).Run(p.Model, p.ImageTensor(), p.Labels, 4f / 255);
        Assert.Equal(a.Adversarial.ToArray(), b.Adversarial.ToArray());
        Assert.Equal(a.Loss, b.Loss);
        for (int i = 0; i < a.Counts.Length; i++) Assert.Equal(a.Counts[i].Tp, b.Counts[i].Tp);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Counts_describe_the_returned_images_and_the_worst_case_is_never_above_clean(string attack, string loss)
    {
        var p = new TinySegmentation();
        var r = Build(attack, loss).Run(p.Model, p.ImageTensor(), p.Labels, 8f / 255);
        var mapped = p.Model.MapLabels(p.Labels);
        var pred = p.Model.Predict(p.Model.Logits(r.Adversarial.ToArray(), TinySegmentation.N, TinySegmentation.H, TinySegmentation.W),
            TinySegmentation.N, TinySegmentation.H * TinySegmentation.W);
        int hw = TinySegmentation.H * TinySegmentation.W;
        var cleanPred = p.Model.Predict(p.Model.Logits(p.Images, TinySegmentation.N, TinySegmentation.H, TinySegmentation.W), TinySegmentation.N, hw);
        for (int b = 0; b < TinySegmentation.N; b++)
        {
            var recount = ImageCounts.Compute(pred.AsSpan(b * hw, hw), mapped.AsSpan(b * hw, hw), TinySegmentation.Classes);
            Assert.Equal(recount.Tp, r.Counts[b].Tp);
            Assert.Equal(recount.Pred, r.Counts[b].Pred);
            var clean = ImageCounts.Compute(cleanPred.AsSpan(b * hw, hw), mapped.AsSpan(b * hw, hw), TinySegmentation.Classes);
            foreach (var sel in new[] { Selection.Accuracy, Selection.MeanIoU })
            {
                var cand = new[] { clean, r.Counts[b] };
                var worst = cand[WorstCase.Strongest(cand, sel)];
                Assert.True(worst.Accuracy <= clean.Accuracy || sel == Selection.MeanIoU);
                Assert.True(worst.MeanIoU() <= clean.MeanIoU() || sel == Selection.Accuracy);
            }
        }
    }
}
