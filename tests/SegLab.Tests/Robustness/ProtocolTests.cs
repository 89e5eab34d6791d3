// Protocol-level invariants (PAPERS.md A.4, A.6) on a tiny model: the per-image worst case of an ensemble is
// never better than any member or the clean image; SEA's greedy worst-case mIoU is never above any single
// attack's dataset mIoU nor the clean one; summaries need no forward pass; resumable state round-trips; the APGD
// schedule constants and the red-eps split are those of the paper.
using SegLab.Robustness;
using SegLab.Robustness.Attacks;
using SegLab.Robustness.Losses;
using SegLab.Robustness.Protocols;

namespace SegLab.Tests.Robustness;

public class ProtocolTests
{
    private static Protocol Tiny(Selection selection) => new("tiny", "test ensemble",
        c => [AttackInvariantTests.Build("pgd", "ce"), AttackInvariantTests.Build("apgd", "mce"), AttackInvariantTests.Build("padam", "cos"),
            AttackInvariantTests.Build("apgd-redeps", "js")], selection);

    private static List<ImageRobustness> RunTiny(Protocol protocol, double[] eps)
    {
        var p = new TinySegmentation();
        var ev = new RobustnessEvaluator(p.Model, protocol, eps, new ProtocolContext(TinySegmentation.Classes, null, 0));
        int d = 3 * TinySegmentation.H * TinySegmentation.W, hw = TinySegmentation.H * TinySegmentation.W;
        var list = new List<ImageRobustness>();
        for (int b = 0; b < TinySegmentation.N; b++)
            list.Add(ev.Evaluate($"img{b}", p.Images.AsSpan(b * d, d).ToArray(), p.Labels.AsSpan(b * hw, hw).ToArray(), TinySegmentation.H, TinySegmentation.W));
        return list;
    }

    [Theory]
    [InlineData(Selection.Accuracy)]
    [InlineData(Selection.MeanIoU)]
    public void Ensemble_worst_case_is_never_better_than_any_member(Selection selection)
    {
        double[] eps = [2.0 / 255, 8.0 / 255];
        var images = RunTiny(Tiny(selection), eps);
        var report = RobustnessSummary.Build("tiny", Tiny(selection), LossLogits.Scored, eps, images);
        foreach (var e in eps)
        {
            foreach (var img in images)
            {
                var cand = img.CandidatesAt(e).Select(c => c.Counts).ToArray();
                var worst = cand[WorstCase.Strongest(cand, selection)];
                foreach (var c in cand)
                {
                    if (selection == Selection.Accuracy) Assert.True(worst.Accuracy <= c.Accuracy);
                    else Assert.True(worst.MeanIoU() <= c.MeanIoU());
                }
                Assert.All(img.At(e).Attacks, a => Assert.Equal(0, a.Violations));
            }
            var s = report.Eps.Single(x => x.EpsValue == e);
            Assert.True(s.WorstCase.ImagePixelAccuracy <= s.Clean.ImagePixelAccuracy + 1e-9);
            foreach (var a in s.Attacks)
            {
                if (selection == Selection.Accuracy) Assert.True(s.WorstCase.ImagePixelAccuracy <= a.Metrics.ImagePixelAccuracy + 1e-9);
                else Assert.True(s.WorstCase.ImageMIoU <= a.Metrics.ImageMIoU + 1e-9);
                Assert.True(s.GreedyWorstMIoU <= a.Metrics.MIoU + 1e-9, $"greedy {s.GreedyWorstMIoU} above {a.Attack} {a.Metrics.MIoU}");
            }
            Assert.True(s.GreedyWorstMIoU <= s.Clean.MIoU + 1e-9);
            Assert.Equal(images.Count, s.Attacks.Sum(a => a.Wins) + report.PerImage.Count(c => c.Eps == s.Eps && c.Chosen == "clean"));
        }
        Assert.Equal(0, report.Sanity.BallViolations);
        Assert.Equal(0, report.Sanity.WorstAboveClean);
        Assert.Equal(0, report.Sanity.MaxForwardDifference);
    }

    [Fact]
    public void Greedy_search_finds_a_combination_lower_than_per_image_selection()
    {
        // Two images, two classes, two attacks: attack 0 destroys class 0 on image 0, attack 1 class 1 on image 1;
        // the dataset mIoU is lowest when the two are combined.
        static ImageCounts C(long tp0, long gt0, long pr0, long tp1, long gt1, long pr1) => new([tp0, tp1], [gt0, gt1], [pr0, pr1], gt0 + gt1, 0);
        var img0 = new[] { C(0, 10, 0, 10, 10, 20), C(5, 10, 5, 8, 10, 12) };
        var img1 = new[] { C(10, 10, 15, 5, 10, 5), C(10, 10, 20, 0, 10, 0) };
        var (miou, sel) = WorstCase.GreedyMeanIoU([img0, img1]);
        Assert.Equal(new[] { 0, 1 }, sel);
        foreach (int a in new[] { 0, 1 })
            Assert.True(miou < WorstCase.DatasetMeanIoU(new[] { img0[a], img1[a] }));
    }

    [Fact]
    public void State_round_trips_through_json()
    {
        double[] eps = [4.0 / 255];
        var images = RunTiny(Tiny(Selection.Accuracy), eps);
        var path = Path.Combine(Path.GetTempPath(), $"seglab-state-{Guid.NewGuid():N}.json");
        try
        {
            RobustnessJson.SaveState(path, new RobustnessState("fp", images));
            var back = RobustnessJson.LoadState(path);
            Assert.Equal("fp", back.Fingerprint);
            var a = RobustnessSummary.Build("tiny", Tiny(Selection.Accuracy), LossLogits.Scored, eps, images);
            var b = RobustnessSummary.Build("tiny", Tiny(Selection.Accuracy), LossLogits.Scored, eps, back.Images);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(a, RobustnessJson.Options), System.Text.Json.JsonSerializer.Serialize(b, RobustnessJson.Options));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Apgd_schedule_and_red_eps_split_follow_the_paper()
    {
        Assert.Equal((22, 6, 3), Apgd.Schedule(100));
        Assert.Equal((19, 5, 2), Apgd.Schedule(90));
        Assert.Equal((26, 7, 3), Apgd.Schedule(120));
        Assert.Equal(new[] { 90, 90, 120 }, RedEpsApgd.Stages(300));
        Assert.Equal(3, Protocols.Sea.Attacks(new ProtocolContext(3, null, 0)).Count);
        Assert.Equal(6, Protocols.Halmosi.Attacks(new ProtocolContext(3, null, 0)).Count);
    }

    [Fact]
    public void Projection_is_exact_and_radii_parse()
    {
        float[] x0 = [0f, 0.5f, 1f, 0.999f];
        float[] z = [-1f, 0.9f, 1.2f, 0.99f];
        LinfBall.Project(z, x0, 0.01f);
        Assert.Equal(0, LinfBall.Violations(z, x0, 0.01f));
        Assert.Equal(new[] { 0f, 0.5f + 0.01f, 1f, 0.999f - 0.009f }, z, new FloatTolerance());
        Assert.Equal(8.0 / 255, LinfBall.ParseEps("8/255"), 15);
        Assert.Equal("0.25/255", LinfBall.FormatEps(0.25 / 255));
        Assert.Throws<FormatException>(() => LinfBall.ParseEps("eight"));
    }

    [Fact]
    public void PAdam_first_step_ascends_by_lr_times_the_gradient_sign()
    {
        // Adam's first bias-corrected step is lr * g / (|g| + 1e-8) with g the gradient of the batch-mean objective
        // (here half the sum over 2 images); with maximize, delta moves up the gradient by at most lr.
        var p = new TinySegmentation();
        const float eps = 16f / 255, lr = 1f / 255;
        var rng = new SegLab.Engine.Rng(7);
        var start = new float[p.Images.Length];
        for (int i = 0; i < start.Length; i++)
            start[i] = Math.Clamp(p.Images[i] + Math.Clamp((float)((2 * rng.NextDouble() - 1) * eps), -eps, eps), 0f, 1f);
        var ev = p.Model.Evaluate(start, p.Model.MapLabels(p.Labels), TinySegmentation.N, TinySegmentation.H, TinySegmentation.W, new CrossEntropyLoss(), 0, 1, true);
        var r = new PAdam(new CrossEntropyLoss(), steps: 1, learningRate: lr, seed: 7).Run(p.Model, p.ImageTensor(), p.Labels, eps);
        var adv = r.Adversarial.ToArray();
        int checkedCount = 0;
        for (int i = 0; i < adv.Length; i++)
        {
            float g = 0.5f * ev.Grad![i], target = start[i] + lr * g / (Math.Abs(g) + 1e-8f);
            if (g == 0 || target <= 0 || target >= 1 || Math.Abs(target - p.Images[i]) >= eps) continue; // clipped
            Assert.True(Math.Abs(adv[i] - target) < 2e-6, $"element {i}: {adv[i]} vs {target}");
            checkedCount++;
        }
        Assert.True(checkedCount > adv.Length / 2);
    }

    [Fact]
    public void Counts_agree_with_the_metrics_image_confusion()
    {
        int[] pred = [0, 1, 1, 2, 2, 0, 1];
        int[] gt = [0, 1, 2, 2, -1, 1, 1];
        var ours = ImageCounts.Compute(pred, gt, 3);
        var theirs = SegLab.Metrics.ImageConfusion.Compute("x", pred, gt.Select(v => v < 0 ? 3 : v).ToArray(), 3, 3);
        var conv = ours.ToConfusion("x");
        Assert.Equal(theirs.Tp, conv.Tp);
        Assert.Equal(theirs.Fp, conv.Fp);
        Assert.Equal(theirs.Fn, conv.Fn);
        Assert.Equal(theirs.Accuracy, ours.Accuracy, 12);
        Assert.Equal(theirs.MeanIoU(), ours.MeanIoU(), 12);
        Assert.Equal(1, ours.Ignored);
    }

    private sealed class FloatTolerance : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) < 1e-6;

        public int GetHashCode(float obj) => 0;
    }
}
