// Tests of AffinityNet's learned affinities: confident regions follow the thresholds exactly (> fg, <= bg), pair labels
// follow the regions and the radius exactly (checked against a brute force over all position pairs), affinities are
// symmetric and in [0, 1] and the training path agrees with the walk's, the balanced loss falls on a toy problem, an
// affinity run resumed ends bit-identical, the random walk over learned affinities holds only the CAM file's tags, and
// an affinity run for another classifier or other feature levels is an error naming its config.json.
using System.Text.Json.Nodes;
using SegLab.Engine;
using SegLab.Engine.Optim;
using SegLab.Imaging;
using SegLab.Tests.Training;
using SegLab.Weak;

namespace SegLab.Tests.Weak;

public sealed class AffinityTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seglab-affinity-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    [Fact]
    public void Regions_follow_the_thresholds_exactly_and_ignore_untagged_classes()
    {
        // class 0 tagged, class 1 not; thresholds 0.5 and 0.25 are exact in float32
        float up = MathF.BitIncrement(0.5f), bgUp = MathF.BitIncrement(0.25f);
        float[] c0 = [0.5f, up, 0.25f, bgUp, 0f, 0.1f];
        float[] c1 = [0f, 0f, 0f, 0f, 0.9f, 0.9f];
        var cams = Tensor.FromArray([.. c0, .. c1], 2, 1, 6);
        var r = AffinityLabels.Regions(cams, [0], new AffinityLabelOptions { Foreground = 0.5, Background = 0.25 });
        Assert.Equal([AffinityLabels.Ignored, 0, AffinityLabels.BackgroundRegion, AffinityLabels.Ignored, AffinityLabels.BackgroundRegion, AffinityLabels.BackgroundRegion], r);
        // with both tagged, the untagged-looking 0.9 of class 1 wins its positions
        var both = AffinityLabels.Regions(cams, [0, 1], new AffinityLabelOptions { Foreground = 0.5, Background = 0.25 });
        Assert.Equal(1, both[4]);
        Assert.Equal(1, both[5]);
        // no tags: every position is background
        Assert.All(AffinityLabels.Regions(cams, [], new AffinityLabelOptions()), v => Assert.Equal(AffinityLabels.BackgroundRegion, v));
        Assert.Contains("background threshold < foreground", Assert.Throws<ArgumentException>(() => AffinityLabels.Regions(cams, [0], new AffinityLabelOptions { Foreground = 0.2, Background = 0.3 })).Message);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(3)]
    public void Pair_labels_follow_the_regions_and_the_radius_exactly(int radius)
    {
        int h = 9, w = 11, n = h * w;
        var rng = new Random(radius);
        var regions = new int[n];
        for (int p = 0; p < n; p++)
        {
            double u = rng.NextDouble();
            regions[p] = u < 0.2 ? AffinityLabels.Ignored : u < 0.4 ? AffinityLabels.BackgroundRegion : rng.Next(3);
        }
        var pairs = AffinityLabels.Pairs(regions, h, w, radius);
        var offsets = PixelAffinity.ForwardOffsets(radius);
        // every unordered pair of positions exactly once: the one with the earlier raster index is the first end
        long bg = 0, fg = 0, neg = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
            {
                int dy = q / w - p / w, dx = q % w - p % w, d2 = dy * dy + dx * dx;
                int o = offsets.ToList().IndexOf((dy, dx));
                bool inRadius = d2 > 0 && d2 < radius * radius;
                Assert.Equal(inRadius, o >= 0);
                if (!inRadius) continue;
                int a = regions[p], b = regions[q], i = o * n + p;
                bool labelled = a != AffinityLabels.Ignored && b != AffinityLabels.Ignored;
                Assert.Equal(labelled && a == b && a == AffinityLabels.BackgroundRegion ? 1f : 0f, pairs.BgPositive[i]);
                Assert.Equal(labelled && a == b && a >= 0 ? 1f : 0f, pairs.FgPositive[i]);
                Assert.Equal(labelled && a != b ? 1f : 0f, pairs.Negative[i]);
                if (!labelled) continue;
                if (a != b) neg++; else if (a < 0) bg++; else fg++;
            }
        Assert.Equal((bg, fg, neg), pairs.Counts());
        Assert.True(bg > 0 && fg > 0 && neg > 0);
    }

    private static Tensor Embedding(int seed, int d, int h, int w, float scale)
    {
        var a = Tensor.Normal([d, h, w], 0, scale, seed).ToArray();
        for (int k = 0; k < d; k++) a[k * h * w + 1] = a[k * h * w]; // positions 0 and 1 identical: affinity exactly 1
        return Tensor.FromArray(a, d, h, w);
    }

    [Theory]
    [InlineData(0.3f)]
    [InlineData(30f)]
    public void Learned_affinities_are_symmetric_in_0_1_and_agree_with_the_training_path(float scale)
    {
        int d = 5, h = 7, wd = 9, n = h * wd;
        var f = Embedding(3, d, h, wd, scale);
        var aff = AffinityHead.Affinities(f);
        Assert.All(aff.Forward, v => Assert.InRange(v, 0f, 1f));
        var offsets = PixelAffinity.ForwardOffsets(5);
        Assert.Equal(1f, aff.Forward[0 * n + 0], 6); // offset (0, 1) from position 0 to the identical position 1
        // symmetry: rotate the embedding by 180 degrees; the pair (p, p + o) becomes (rot(p + o), rot(p)), the same pair seen from its other end
        var src = f.ToArray();
        var rot = new float[src.Length];
        for (int k = 0; k < d; k++)
            for (int p = 0; p < n; p++) rot[k * n + (n - 1 - p)] = src[k * n + p];
        var affRot = AffinityHead.Affinities(Tensor.FromArray(rot, d, h, wd));
        for (int o = 0; o < offsets.Count; o++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < wd; x++)
                {
                    int qy = y + offsets[o].Dy, qx = x + offsets[o].Dx;
                    if ((uint)qy >= (uint)h || (uint)qx >= (uint)wd) { Assert.Equal(0f, aff.Forward[o * n + y * wd + x]); continue; }
                    int rp = n - 1 - (qy * wd + qx);
                    Assert.Equal(aff.Forward[o * n + y * wd + x], affRot.Forward[o * n + rp], 5);
                }
        // the differentiable training path gives the same values
        var batched = Ops.Reshape(f, [1, d, h, wd]);
        for (int o = 0; o < offsets.Count; o += 7)
        {
            var (dy, dx) = offsets[o];
            var t = AffinityHead.PairAffinity(batched, dy, dx).ToArray();
            int y0 = Math.Max(0, -dy), x0 = Math.Max(0, -dx), ww = wd - Math.Abs(dx);
            for (int i = 0; i < t.Length; i++)
                Assert.Equal(aff.Forward[o * n + (i / ww + y0) * wd + i % ww + x0], t[i], 5);
        }
    }

    [Fact]
    public void The_balanced_loss_falls_on_a_toy_problem_and_separates_the_regions()
    {
        // one feature level [1, 4, 10, 12]: left half around +1, right half around -1; left = class 0, right = class 1, top row background
        int h = 10, w = 12, n = h * w;
        var rng = new Random(4);
        var x = new float[4 * n];
        var regions = new int[n];
        for (int p = 0; p < n; p++)
        {
            bool left = p % w < w / 2;
            regions[p] = p < w ? AffinityLabels.BackgroundRegion : left ? 0 : 1;
            for (int k = 0; k < 4; k++) x[k * n + p] = (p < w ? 0 : left ? 1f : -1f) * (k + 1) + (float)(0.3 * (rng.NextDouble() - 0.5));
        }
        var level = Tensor.FromArray(x, 1, 4, h, w);
        var pairs = AffinityLabels.Pairs(regions, h, w, 4);
        var head = new AffinityHead([4], [8], 6, new Rng(1));
        head.SetNormalisation([[level]]);
        var opt = new Sgd(head.TrainableParameters(), 0.1, 0.9);
        var losses = new List<double>();
        for (int step = 0; step < 60; step++)
        {
            opt.ZeroGrad();
            var v = AffinityLoss.Compute(head.Embed([level], h, w), [pairs]);
            losses.Add(v.Loss.Item());
            v.Loss.Backward();
            opt.Step();
        }
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]:F4} -> {losses[^1]:F4}");
        head.Eval();
        var aff = AffinityHead.Affinities(head.Embed([level], h, w), 4);
        int o = PixelAffinity.ForwardOffsets(4).ToList().IndexOf((0, 1));
        float within = aff.Forward[o * n + 5 * w + 2], across = aff.Forward[o * n + 5 * w + w / 2 - 1];
        Assert.True(within > 0.8f && across < 0.3f, $"within {within}, across {across}");
    }

    // A scratch classifier run, its CAMs and an affinity run on 6 synthetic 32x32 images of 4 classes (class 3 never drawn).
    private (SyntheticDataset Data, string Classifier, string Cams) Pipeline()
    {
        var data = new SyntheticDataset(6, 32, 3, classes: 4);
        string cls = Path.Combine(_root, "cls"), cams = Path.Combine(_root, "cams");
        new TagTrainer(new TagTrainOptions { Encoder = WeakEncoders.Scratch, Tags = new TagOptions(16, 16, 16, 16, 12), Epochs = 1, Batch = 6, Lr = 0.02, Seed = 2 }, data, null, cls).Run();
        CamRun.Run(TagTrainer.Load(cls), TagTrainer.Classes(cls), data, cams, new CamRunOptions { Cam = new CamOptions { Scales = [1.0] } });
        return (data, cls, cams);
    }

    private static AffinityTrainOptions Options => new() { Labels = new AffinityLabelOptions { Foreground = 0.3, Background = 0.05, Radius = 3 }, Epochs = 3, Batch = 2, Dim = 8, Reduced = 8, CheckpointEvery = 2, Seed = 1 };

    [Fact]
    public void An_affinity_run_resumes_bit_identically_and_its_walk_holds_only_the_cam_files_tags()
    {
        var (data, cls, cams) = Pipeline();
        string a = Path.Combine(_root, "aff-a"), b = Path.Combine(_root, "aff-b");
        var full = new AffinityTrainer(Options, cls, data, cams, a).Run();
        Assert.Equal(9, full.Steps);
        Assert.Equal(3, full.EpochLoss.Length);
        new AffinityTrainer(Options, cls, data, cams, b).Run(stopAfterStep: 4);
        var resumed = new AffinityTrainer(Options, cls, data, cams, b, resume: true);
        Assert.Equal(4, resumed.Step);
        var second = resumed.Run();
        Assert.Equal(full.EpochLoss, second.EpochLoss);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));
        Assert.Contains("other affinity settings", Assert.Throws<ArgumentException>(() => new AffinityTrainer(Options with { Dim = 4 }, cls, data, cams, b, resume: true)).Message);

        var model = TagTrainer.Load(cls);
        var learned = AffinityTrainer.Load(a, cls, model);
        string outDir = Path.Combine(_root, "ref");
        var result = CamRefine.Run(cams, data, model, outDir, new RefineOptions { Method = RefineMethod.RandomWalk, Walk = new RandomWalkOptions { LogT = 4 }, Radius = 3 }, learned: learned);
        Assert.StartsWith("learned", result.Affinity);
        bool someImageMissesATag = false;
        for (int i = 0; i < data.Count; i++)
        {
            var s = data.Load(i);
            var tags = CamRun.ReadCamFile(Path.Combine(cams, s.Id + ".safetensors"), data.Classes.Names.ToArray(), s.Height, s.Width).Tags;
            someImageMissesATag |= tags.Length < data.Classes.Count;
            foreach (var suffix in new[] { ".png", ".argmax.png" })
                Assert.All(Png.Load(Path.Combine(outDir, s.Id + suffix)).Pixels, v => Assert.True(v == data.Classes.IgnoreIndex || tags.Contains(v), $"{s.Id}{suffix}: class {v} is not among its tags"));
        }
        Assert.True(someImageMissesATag);
        Assert.Contains("random walk only", Assert.Throws<ArgumentException>(() => CamRefine.Run(cams, data, model, outDir, new RefineOptions { Method = RefineMethod.CrfPsa }, learned: learned)).Message);
    }

    [Fact]
    public void An_affinity_run_for_another_classifier_or_other_feature_levels_is_an_error_naming_its_config()
    {
        var (data, cls, cams) = Pipeline();
        string a = Path.Combine(_root, "aff");
        new AffinityTrainer(Options with { Epochs = 1 }, cls, data, cams, a).Run();
        string config = Path.Combine(a, AffinityTrainer.ConfigFile);
        // another classifier: same settings, another seed, so other weights
        string other = Path.Combine(_root, "cls2");
        new TagTrainer(new TagTrainOptions { Encoder = WeakEncoders.Scratch, Tags = new TagOptions(16, 16, 16, 16, 12), Epochs = 1, Batch = 6, Lr = 0.02, Seed = 3 }, data, null, other).Run();
        var e = Assert.Throws<ArgumentException>(() => AffinityTrainer.Load(a, other, TagTrainer.Load(other)));
        Assert.StartsWith(config, e.Message);
        Assert.Contains("trained on the classifier in", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // other feature levels: the config says the head takes other channels
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["levelChannels"]![0] = 999;
        File.WriteAllText(config, json.ToJsonString());
        e = Assert.Throws<ArgumentException>(() => AffinityTrainer.Load(a, cls, TagTrainer.Load(cls)));
        Assert.StartsWith(config, e.Message);
        Assert.Contains("feature levels of [999", e.Message);
    }
}
