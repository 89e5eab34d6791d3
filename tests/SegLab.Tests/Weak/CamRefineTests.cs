// Tests of the refinement stage and the weak pipeline's checks: refined masks (CRF presets and random walk) hold only
// the CAM file's tags, a rerun resumes with the same scores, CAM files of the wrong class count, size or classes and
// tags of a class the classifier never saw are errors naming the file, the scale-1 features come with the CAMs, the
// stages of a weak config chain or say why not, and the weak section leaves a training run's config hash alone.
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Engine.Serialization;
using SegLab.Imaging;
using SegLab.Models;
using SegLab.Tests.Training;
using SegLab.Training;
using SegLab.Weak;

namespace SegLab.Tests.Weak;

public sealed class CamRefineTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seglab-refine-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static TagClassifier Model(int classes = 3, long seed = 1)
    {
        var rng = new Rng(seed);
        var encoder = new Sequential(new Conv2d(3, 8, 3, stride: 2, padding: 1, rng: rng), Activation.ReLU(), new Conv2d(8, 6, 3, padding: 1, rng: rng));
        return new TagClassifier(encoder, 6, classes, Preprocessing.Identity, "test", rng);
    }

    // 4 classes of which the synthetic images use 0..2: class 3 is never tagged, and per image the tags are its own.
    private (SyntheticDataset Data, TagClassifier Model, string Cams) CamsOf(int images = 3)
    {
        var data = new SyntheticDataset(images, 32, 7, classes: 4);
        var model = Model(4);
        string cams = Path.Combine(_root, "cams");
        CamRun.Run(model, data.Classes.Names.ToArray(), data, cams, new CamRunOptions { Cam = new CamOptions { Scales = [1.0] } });
        return (data, model, cams);
    }

    [Theory]
    [InlineData(RefineMethod.CrfPsa)]
    [InlineData(RefineMethod.CrfIrn)]
    [InlineData(RefineMethod.RandomWalk)]
    public void Refined_masks_hold_only_the_cam_files_tags_and_a_rerun_resumes(RefineMethod method)
    {
        var (data, model, cams) = CamsOf();
        string outDir = Path.Combine(_root, "ref");
        var options = new RefineOptions { Method = method, Walk = new RandomWalkOptions { Beta = 10, LogT = 3 }, Radius = 2 };
        var first = CamRefine.Run(cams, data, model, outDir, options);
        Assert.Equal(data.Count, first.Images);
        Assert.Equal(0, first.Skipped);
        bool someImageMissesATag = false;
        for (int i = 0; i < data.Count; i++)
        {
            var s = data.Load(i);
            var tags = CamRun.ReadCamFile(Path.Combine(cams, s.Id + ".safetensors"), data.Classes.Names.ToArray(), s.Height, s.Width).Tags;
            someImageMissesATag |= tags.Length < data.Classes.Count;
            foreach (var suffix in new[] { ".png", ".argmax.png" })
            {
                var px = Png.Load(Path.Combine(outDir, s.Id + suffix)).Pixels;
                Assert.All(px, v => Assert.True(v == data.Classes.IgnoreIndex || tags.Contains(v), $"{s.Id}{suffix}: class {v} is not among its tags {string.Join(",", tags)}"));
            }
            // the argmax mask assigns every pixel when the image has a tag
            if (tags.Length > 0) Assert.DoesNotContain((byte)data.Classes.IgnoreIndex, Png.Load(Path.Combine(outDir, s.Id + ".argmax.png")).Pixels);
        }
        Assert.True(someImageMissesATag, "the synthetic images should not all carry every class, or the test proves nothing");
        var again = CamRefine.Run(cams, data, model, outDir, options);
        Assert.Equal(data.Count, again.Skipped);
        Assert.Equal(first.Scores.ArgmaxMIoU, again.Scores.ArgmaxMIoU, 9);
        Assert.Equal(first.Scores.ConfidentMIoU, again.Scores.ConfidentMIoU, 9);
        Assert.True(File.Exists(Path.Combine(outDir, RefineResult.FileName)));
    }

    [Fact]
    public void Cam_files_of_the_wrong_class_count_size_or_classes_are_errors_naming_the_file()
    {
        Directory.CreateDirectory(_root);
        string path = Path.Combine(_root, "x.safetensors");
        string[] classes = ["a", "b", "c"];
        void Write(int c, int h, int w, string names, string size = "8x12", string tags = "0,1") => SafeTensors.Save(path, [new("cam", Tensor.Zeros([c, h, w]))],
            new Dictionary<string, string> { ["classes"] = names, ["tags"] = tags, ["image_size"] = size, ["stride"] = "4" });
        Write(3, 2, 3, "a,b,c");
        Assert.Equal([0, 1], CamRun.ReadCamFile(path, classes, 8, 12).Tags);
        Write(4, 2, 3, "a,b,c");
        var e = Assert.Throws<InvalidDataException>(() => CamRun.ReadCamFile(path, classes, 8, 12));
        Assert.Contains(path, e.Message);
        Assert.Contains("expected [3, 2, 3]", e.Message);
        Write(3, 2, 3, "a,b,c");
        e = Assert.Throws<InvalidDataException>(() => CamRun.ReadCamFile(path, classes, 16, 12));
        Assert.Contains(path, e.Message);
        Assert.Contains("8x12 image", e.Message);
        Write(3, 2, 3, "a,b,d");
        Assert.Contains("[a,b,d]", Assert.Throws<InvalidDataException>(() => CamRun.ReadCamFile(path, classes, 8, 12)).Message);
        Write(3, 2, 3, "a,b,c", tags: "0,5");
        Assert.Contains("tag '5'", Assert.Throws<InvalidDataException>(() => CamRun.ReadCamFile(path, classes, 8, 12)).Message);
    }

    [Fact]
    public void A_tag_of_a_class_the_classifier_never_saw_is_an_error_naming_it()
    {
        var data = new SyntheticDataset(2, 32, 7, classes: 3);
        var e = Assert.Throws<ArgumentException>(() => CamRun.Run(Model(3), data.Classes.Names.ToArray(), data, Path.Combine(_root, "c"), new CamRunOptions { Cam = new CamOptions { Scales = [1.0] } },
            trainedTags: [10, 0, 10], classifierSource: "the classifier in RUN"));
        Assert.Contains("tagged c1", e.Message);
        Assert.Contains("the classifier in RUN", e.Message);
        var other = new SyntheticDataset(2, 32, 7, classes: 3);
        Assert.Contains("trained on classes", Assert.Throws<ArgumentException>(() => CamRun.Run(Model(3), ["x", "y", "z"], other, Path.Combine(_root, "d"), new CamRunOptions())).Message);
    }

    [Fact]
    public void Cams_come_with_the_scale_one_features_of_the_same_forward()
    {
        var m = Model();
        var x = Tensor.Uniform([2, 3, 8, 10], 0, 1, 5);
        var (cams, f) = Cams.ComputeWithFeatures(m, x, [[0], [1, 2]], new CamOptions { Scales = [0.5, 1.0] });
        Assert.Equal(Cams.Compute(m, x, [[0], [1, 2]], new CamOptions { Scales = [0.5, 1.0] }).ToArray(), cams.ToArray());
        m.Eval();
        Assert.Equal(m.Features(x).ToArray(), f!.ToArray());
        Assert.Null(Cams.ComputeWithFeatures(m, x, null, new CamOptions { Scales = [0.5] }).Features);
    }

    [Theory]
    [InlineData(new[] { "tags", "classifier", "cam", "refine", "pseudo", "train" }, null)]
    [InlineData(new[] { "cam", "pseudo", "train" }, null)]
    [InlineData(new[] { "tags", "cam" }, "'classifier' is missing")]
    [InlineData(new[] { "classifier", "tags" }, "the order is")]
    [InlineData(new[] { "cam", "train" }, "'pseudo' is missing")]
    [InlineData(new[] { "cam", "affinity", "pseudo" }, "no 'refine' to read")]
    [InlineData(new[] { "cam", "affinity", "refine", "pseudo" }, "weak.refine.affinity is not learned")]
    [InlineData(new[] { "tags", "segment" }, "unknown stage 'segment'")]
    [InlineData(new string[0], "is empty")]
    public void Stages_chain_or_say_what_is_missing(string[] stages, string? problem)
    {
        var p = new WeakConfig { Stages = stages }.ChainProblem();
        if (problem is null) Assert.Null(p);
        else Assert.Contains(problem, p);
    }

    [Fact]
    public void An_affinity_stage_chains_into_a_learned_random_walk_and_a_learned_walk_needs_its_run()
    {
        var learned = new WeakConfig { Stages = ["cam", "affinity", "refine", "pseudo"], Refine = new WeakRefineConfig { Method = "rw", Affinity = "learned" } };
        Assert.Null(learned.ChainProblem());
        Assert.Contains("read by the random walk (rw) only", (learned with { Refine = new WeakRefineConfig { Method = "crf", Affinity = "learned" } }).ChainProblem());
        Assert.Contains("neither cosine nor learned", (learned with { Refine = new WeakRefineConfig { Method = "rw", Affinity = "boundary" } }).ChainProblem());
        Assert.Contains("weak.refine.method", (learned with { Refine = new WeakRefineConfig { Method = "mrf" } }).ChainProblem());
        // refine first with learned affinities and no finished affinity run: the error names the config and the folder
        var refineOnly = learned with { Stages = ["refine", "pseudo"] };
        Assert.Null(refineOnly.ChainProblem());
        var missing = WeakPipeline.MissingInput(refineOnly, _root, 3, "x.yaml");
        Assert.NotNull(missing);
        Assert.StartsWith("x.yaml: weak.refine.affinity is learned", missing);
        Assert.Contains(Path.Combine(_root, "affinity"), missing);
    }

    [Fact]
    public void The_weak_section_binds_and_leaves_the_training_hash_alone()
    {
        const string Base = "seed: 3\nmodel: {family: unet, widths: [4, 8]}\n";
        var plain = ConfigLoader.Parse(Base, "a.yaml");
        var weak = ConfigLoader.Parse(Base + "weak:\n  stages: [cam, refine]\n  tags: {crop: [60, 80], min_pixels: 50}\n  refine: {method: rw, beta: 8, logt: 5}\n", "b.yaml");
        Assert.Equal(["cam", "refine"], weak.Weak.Stages);
        Assert.Equal(new TagOptions(60, 80, 60, 80, 50), weak.Weak.Tags.ToOptions());
        Assert.Equal(RefineMethod.RandomWalk, weak.Weak.Refine.ToOptions().Method);
        Assert.Equal(5, weak.Weak.Refine.ToOptions().Walk.LogT);
        Assert.Equal(ConfigLoader.Hash(plain), ConfigLoader.Hash(weak));
        Assert.Contains("weak.refine.bogus", Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Base + "weak: {refine: {bogus: 1}}\n", "c.yaml")).Message);
        // the affinity section and a learned walk, as docs/weak.md writes them
        var aff = ConfigLoader.Parse(Base + "weak:\n  stages: [cam, affinity, refine]\n  affinity: {fg_threshold: 0.4, bg_threshold: 0.1, radius: 4, epochs: 3, batch: 2, lr: 0.05, dim: 16}\n  refine: {method: rw, affinity: learned, logt: 8}\n", "d.yaml");
        var o = aff.Weak.Affinity.ToOptions(3);
        Assert.Equal(new AffinityLabelOptions { Foreground = 0.4, Background = 0.1, Radius = 4 }, o.Labels);
        Assert.Equal((3, 2, 0.05, 16, 3), (o.Epochs, o.Batch, o.Lr, o.Dim, o.Seed));
        Assert.True(aff.Weak.Refine.LearnedAffinity);
        Assert.Null(aff.Weak.ChainProblem());
        Assert.Equal(ConfigLoader.Hash(plain), ConfigLoader.Hash(aff));
    }
}
