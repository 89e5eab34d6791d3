using System.Text.Json;

namespace SegLab.Cli.Tests;

/// <summary>seglab weak tags | train-classifier | cam as a user runs them, on the embedded samples (no ../shared needed).</summary>
public sealed class WeakCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-weak-cli-").FullName;
    private static readonly string Samples = Path.Combine(SegLab.Demo.Samples.Root(), "camvid");

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Console, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void Tags_count_each_class_per_crop()
    {
        var r = Run("weak", "tags", "--data", Samples, "--split", "val", "--crop", "180x240", "--min-pixels", "100", "--json");
        Assert.True(r.Code == 0, r.Err);
        using var j = JsonDocument.Parse(r.Out);
        Assert.Equal(5 * 4, j.RootElement.GetProperty("crops").GetInt32());
        var per = j.RootElement.GetProperty("perClass");
        Assert.Equal(11, per.EnumerateObject().Count());
        Assert.All(per.EnumerateObject(), p => Assert.InRange(p.Value.GetInt32(), 0, 20));
        Assert.True(per.GetProperty("Road").GetInt32() >= 5, "every sample image has road in its lower half");
    }

    [Fact]
    public void Tags_default_to_crops_without_a_background_class_and_to_whole_images_with_one()
    {
        var camvid = Run("weak", "tags", "--data", Samples, "--split", "val", "--json");
        Assert.True(camvid.Code == 0, camvid.Err);
        using (var j = JsonDocument.Parse(camvid.Out))
        {
            Assert.Equal(5 * 9, j.RootElement.GetProperty("crops").GetInt32());
            Assert.StartsWith("120x160 crops", j.RootElement.GetProperty("tags").GetString());
        }
        // a VOC-style folder: two STEM_image + STEM_target pairs, grey label ids (0 background, 1 aeroplane, 15 person, 255 void)
        string voc = Path.Combine(_tmp, "voc");
        Directory.CreateDirectory(voc);
        int[][] labels = [[0, 1, 1, 255], [0, 0, 15, 0]];
        for (int i = 0; i < 2; i++)
        {
            SegLab.Imaging.Png.Save(Path.Combine(voc, $"{i}_image.png"), new SegLab.Imaging.Image(2, 2, 3, [.. Enumerable.Range(0, 12).Select(v => (byte)(40 * i + v))]));
            SegLab.Imaging.Png.Save(Path.Combine(voc, $"{i}_target.png"), new SegLab.Imaging.Image(2, 2, 1, [.. labels[i].Select(v => (byte)v)]));
        }
        var r = Run("weak", "tags", "--data", voc, "--layout", "folder", "--classes", "voc", "--json");
        Assert.True(r.Code == 0, r.Err);
        using var k = JsonDocument.Parse(r.Out);
        Assert.Equal("whole images, present from 1 px", k.RootElement.GetProperty("tags").GetString());
        Assert.Equal(2, k.RootElement.GetProperty("crops").GetInt32());
        var per = k.RootElement.GetProperty("perClass");
        Assert.Equal((0, 1, 1), (per.GetProperty("background").GetInt32(), per.GetProperty("aeroplane").GetInt32(), per.GetProperty("person").GetInt32()));
    }

    [Fact]
    public void Classifier_then_cams_write_masks_and_scores_and_a_rerun_resumes()
    {
        string run = Path.Combine(_tmp, "cls"), cams = Path.Combine(_tmp, "cams");
        var t = Run("weak", "train-classifier", "--data", Samples, "--split", "val", "--val-split", "val", "--crop", "90x120", "--min-pixels", "50",
            "--epochs", "1", "--batch", "8", "--out", run, "--threads", "1", "--encoder", "scratch-resnet");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("trained from scratch", t.Console);
        Assert.True(File.Exists(Path.Combine(run, "model.safetensors")));
        using (var s = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))))
            Assert.Equal(5 * 16, s.RootElement.GetProperty("val").GetProperty("crops").GetInt32());

        var c = Run("weak", "cam", "--classifier", run, "--data", Samples, "--split", "val", "--limit", "2", "--scales", "1,0.5", "--out", cams, "--threads", "1");
        Assert.True(c.Code == 0, c.Err);
        var files = Directory.GetFiles(cams).Select(Path.GetFileName).ToArray();
        Assert.Equal(2, files.Count(f => f!.EndsWith(".safetensors", StringComparison.Ordinal)));
        Assert.Equal(2, files.Count(f => f!.EndsWith(".png", StringComparison.Ordinal)));
        using (var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(cams, "cam.json"))))
        {
            Assert.Equal(2, j.RootElement.GetProperty("images").GetInt32());
            Assert.InRange(j.RootElement.GetProperty("argmaxMIoU").GetDouble(), 0, 100);
            Assert.InRange(j.RootElement.GetProperty("coverage").GetDouble(), 0, 100);
        }
        // Sharded: two shards into one folder (the first explicit, the second a Slurm array task of --shard auto), each
        // scoring its own image; then the unsharded command scores the whole set from the shards' files without
        // recomputing, exactly as the one-process run did.
        string sharded = Path.Combine(_tmp, "cams-sharded");
        var slurm = new Dictionary<string, string?>
        {
            ["SLURM_ARRAY_TASK_ID"] = "2", ["SLURM_ARRAY_TASK_MIN"] = "1", ["SLURM_ARRAY_TASK_MAX"] = "2", ["SLURM_ARRAY_TASK_STEP"] = null,
            ["SLURM_ARRAY_TASK_COUNT"] = null, ["SLURM_ARRAY_JOB_ID"] = "7", ["JOB_COMPLETION_INDEX"] = null,
        };
        foreach (var sh in new[] { "1/2", "2/2" })
        {
            string[] args = ["weak", "cam", "--classifier", run, "--data", Samples, "--split", "val", "--limit", "2", "--scales", "1,0.5", "--out", sharded, "--threads", "1", "--shard", sh == "1/2" ? sh : "auto"];
            var part = sh == "1/2" ? Run(args) : MergeCliTests.WithEnvironment(slurm, () => Run(args));
            Assert.True(part.Code == 0, part.Err);
            Assert.Contains($"shard {sh}", part.Console);
            using var pj = JsonDocument.Parse(File.ReadAllText(Path.Combine(sharded, $"cam.shard-{sh[0]}-of-2.json")));
            Assert.Equal(1, pj.RootElement.GetProperty("images").GetInt32());
        }
        Assert.False(File.Exists(Path.Combine(sharded, "cam.json")), "a shard must not write the whole set's scores");
        var whole = Run("weak", "cam", "--classifier", run, "--data", Samples, "--split", "val", "--limit", "2", "--scales", "1,0.5", "--out", sharded, "--threads", "1");
        Assert.True(whole.Code == 0, whole.Err);
        Assert.Contains("2 already done", whole.Console);
        using (var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(cams, "cam.json"))))
        using (var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(sharded, "cam.json"))))
            foreach (var key in new[] { "images", "argmaxMIoU", "confidentMIoU", "coverage" })
                Assert.Equal(a.RootElement.GetProperty(key).GetDouble(), b.RootElement.GetProperty(key).GetDouble());
        var noAuto = Run("weak", "cam", "--classifier", run, "--data", Samples, "--split", "val", "--out", sharded, "--shard-count", "2");
        Assert.Equal(2, noAuto.Code); // a usage error
        Assert.Contains("--shard-count goes with --shard auto", noAuto.Err);

        var again = Run("weak", "cam", "--classifier", run, "--data", Samples, "--split", "val", "--limit", "2", "--scales", "1,0.5", "--out", cams, "--threads", "1", "--iseg");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("already done", again.Console);
        Assert.Contains("iSeg-refined", again.Console);
        Assert.Equal(2, Directory.GetFiles(cams, "*.iseg.png").Length);
        using (var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(cams, "cam.json"))))
            Assert.InRange(j.RootElement.GetProperty("refined").GetProperty("argmaxMIoU").GetDouble(), 0, 100);

        // refinement stages: masks of the CAM files' tags only, scores, and a rerun that resumes
        foreach (var method in new[] { "crf", "crf-irn", "rw" })
        {
            string refined = Path.Combine(_tmp, "ref-" + method);
            var rf = Run("weak", "refine", "--data", Samples, "--split", "val", "--limit", "2", "--cams", cams, "--classifier", run, "--method", method, "--logt", "3", "--out", refined, "--threads", "1");
            Assert.True(rf.Code == 0, rf.Err);
            using (var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(refined, "refine.json"))))
            {
                Assert.Equal(2, j.RootElement.GetProperty("images").GetInt32());
                Assert.InRange(j.RootElement.GetProperty("scores").GetProperty("argmaxMIoU").GetDouble(), 0, 100);
            }
            foreach (var mask in Directory.GetFiles(refined, "*.png"))
            {
                string id = Path.GetFileName(mask).Split('.')[0];
                var tags = SegLab.Engine.Serialization.SafeTensors.Load(Path.Combine(cams, id + ".safetensors")).Metadata["tags"].Split(',').Select(byte.Parse).ToHashSet();
                Assert.All(SegLab.Imaging.Png.Load(mask).Pixels, v => Assert.True(v == 11 || tags.Contains(v), $"{mask}: class {v} is not a tag of {id}"));
            }
            var rerun = Run("weak", "refine", "--data", Samples, "--split", "val", "--limit", "2", "--cams", cams, "--classifier", run, "--method", method, "--logt", "3", "--out", refined, "--threads", "1");
            Assert.True(rerun.Code == 0, rerun.Err);
            Assert.Contains("already done", rerun.Console);
        }
        var noCam = Run("weak", "refine", "--data", Samples, "--split", "val", "--cams", cams, "--method", "crf", "--out", Path.Combine(_tmp, "r3"));
        Assert.Equal(1, noCam.Code);
        Assert.Contains("No CAM file", noCam.Err, StringComparison.Ordinal);
        Assert.Single(noCam.Err.Trim().Split('\n'));

        // pseudo-masks as a dataset, and the trainer on it (the samples have one split: val serves as both here)
        string ds = Path.Combine(_tmp, "pseudo");
        var p = Run("weak", "pseudo", "--data", Samples, "--split", "val", "--limit", "2", "--cams", cams, "--iseg", "--val-split", "val", "--out", ds);
        Assert.True(p.Code == 0, p.Err);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(ds, "train", "labels")).Length);
        Assert.Equal(File.ReadAllBytes(Path.Combine(cams, Path.GetFileNameWithoutExtension(Directory.GetFiles(Path.Combine(ds, "train", "labels"))[0]) + ".iseg.png")),
            File.ReadAllBytes(Directory.GetFiles(Path.Combine(ds, "train", "labels"))[0]));
        string cfg = Path.Combine(_tmp, "pseudo.yaml");
        File.WriteAllText(cfg, $"seed: 1\nthreads: 1\nmodel: {{family: unet, widths: [4, 8]}}\ndata: {{dir: '{ds}', crop: [32, 32], scale: [0.25, 0.25], batch: 2, val_scale: 0.125}}\nschedule: {{lr: 0.01, iterations: 2, validate_every: 1}}\n");
        var tr = Run("train", "--config", cfg, "--out", Path.Combine(_tmp, "seg"));
        Assert.True(tr.Code == 0, tr.Err);
        Assert.True(File.Exists(Path.Combine(_tmp, "seg", "model.safetensors")));
        var missing = Run("weak", "pseudo", "--data", Samples, "--split", "val", "--cams", cams, "--val-split", "val", "--out", Path.Combine(_tmp, "p2"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("No pseudo-mask", missing.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Weak_run_chains_the_stages_skips_finished_ones_and_names_the_file_of_a_broken_chain()
    {
        string cfg = Path.Combine(_tmp, "weak.yaml"), root = Path.Combine(_tmp, "pipe");
        string Config(string stages) => $"seed: 1\nthreads: 1\nmodel: {{family: unet, widths: [4, 8]}}\ndata: {{dir: '{Samples}', train_split: val, crop: [32, 32], scale: [0.25, 0.25], batch: 2, val_scale: 0.125}}\n"
            + $"schedule: {{lr: 0.01, iterations: 2, validate_every: 1}}\nweak:\n  stages: [{stages}]\n  limit: 2\n  tags: {{crop: [90, 120], min_pixels: 50}}\n"
            + "  classifier: {encoder: scratch-resnet, epochs: 1, batch: 8, val_split: none}\n  cam: {scales: [1]}\n  refine: {method: crf}\n";
        File.WriteAllText(cfg, Config("tags, cam"));
        var bad = Run("weak", "run", "--config", cfg, "--out", root);
        Assert.Equal(2, bad.Code);
        Assert.Contains(cfg, bad.Err, StringComparison.Ordinal);
        Assert.Contains("'classifier' is missing", bad.Err, StringComparison.Ordinal);
        Assert.Single(bad.Err.Trim().Split('\n'));
        File.WriteAllText(cfg, Config("cam, refine"));
        var noInput = Run("weak", "run", "--config", cfg, "--out", root);
        Assert.Equal(2, noInput.Code);
        Assert.Contains("'classifier' has not finished", noInput.Err, StringComparison.Ordinal);

        File.WriteAllText(cfg, Config("tags, classifier, cam, refine, pseudo, train"));
        var r = Run("weak", "run", "--config", cfg, "--out", root);
        Assert.True(r.Code == 0, r.Err);
        foreach (var f in new[] { "tags.json", "classifier/summary.json", "cam/cam.json", "refine/refine.json", "pseudo/classes.json", "train/summary.json" })
            Assert.True(File.Exists(Path.Combine(root, f)), f);
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "refine", "0016E5_07959.png")), File.ReadAllBytes(Path.Combine(root, "pseudo", "train", "labels", "0016E5_07959.png")));
        var again = Run("weak", "run", "--config", cfg, "--out", root);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(6, again.Console.Split("finished earlier").Length - 1);
    }

    [Fact]
    public void Weak_run_chains_a_learned_affinity_stage_and_refine_rejects_an_affinity_run_of_another_classifier()
    {
        string cfg = Path.Combine(_tmp, "weak-aff.yaml"), root = Path.Combine(_tmp, "pipe-aff");
        File.WriteAllText(cfg, $"seed: 1\nthreads: 1\nmodel: {{family: unet, widths: [4, 8]}}\ndata: {{dir: '{Samples}', train_split: val, crop: [32, 32], scale: [0.25, 0.25], batch: 2, val_scale: 0.125}}\n"
            + "schedule: {lr: 0.01, iterations: 2, validate_every: 1}\nweak:\n  stages: [tags, classifier, cam, affinity, refine]\n  limit: 2\n  tags: {crop: [90, 120], min_pixels: 50}\n"
            + "  classifier: {encoder: scratch-resnet, epochs: 1, batch: 8, val_split: none}\n  cam: {scales: [1]}\n  affinity: {epochs: 2, batch: 1, dim: 8}\n  refine: {method: rw, affinity: learned, logt: 3}\n");
        var r = Run("weak", "run", "--config", cfg, "--out", root);
        Assert.True(r.Code == 0, r.Err);
        foreach (var f in new[] { "affinity/model.safetensors", "affinity/summary.json", "refine/refine.json" })
            Assert.True(File.Exists(Path.Combine(root, f)), f);
        using (var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "affinity", "summary.json"))))
            Assert.Equal(4, j.RootElement.GetProperty("steps").GetInt64()); // 2 images, batch 1, 2 epochs
        using (var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "refine", "refine.json"))))
        {
            Assert.StartsWith("learned", j.RootElement.GetProperty("affinity").GetString());
            Assert.Equal(2, j.RootElement.GetProperty("images").GetInt32());
        }
        var again = Run("weak", "run", "--config", cfg, "--out", root);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(5, again.Console.Split("finished earlier").Length - 1);

        // the command itself: train-affinity, refine --affinity, and the same run against another classifier
        string cls = Path.Combine(root, "classifier"), cams = Path.Combine(root, "cam"), aff = Path.Combine(_tmp, "aff");
        var t = Run("weak", "train-affinity", "--data", Samples, "--split", "val", "--limit", "2", "--cams", cams, "--classifier", cls,
            "--epochs", "1", "--batch", "2", "--dim", "8", "--out", aff, "--threads", "1");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("epoch losses", t.Console);
        var rf = Run("weak", "refine", "--data", Samples, "--split", "val", "--limit", "2", "--cams", cams, "--classifier", cls, "--affinity", aff,
            "--method", "rw", "--logt", "3", "--out", Path.Combine(_tmp, "ref-aff"), "--threads", "1");
        Assert.True(rf.Code == 0, rf.Err);
        Assert.Contains("affinities learned", rf.Console);
        string other = Path.Combine(_tmp, "cls-other");
        var t2 = Run("weak", "train-classifier", "--data", Samples, "--split", "val", "--val-split", "none", "--crop", "90x120", "--min-pixels", "50",
            "--epochs", "1", "--batch", "8", "--seed", "5", "--limit", "2", "--out", other, "--threads", "1", "--encoder", "scratch-resnet");
        Assert.True(t2.Code == 0, t2.Err);
        var wrong = Run("weak", "refine", "--data", Samples, "--split", "val", "--limit", "2", "--cams", cams, "--classifier", other, "--affinity", aff,
            "--method", "rw", "--out", Path.Combine(_tmp, "ref-wrong"), "--threads", "1");
        Assert.NotEqual(0, wrong.Code);
        Assert.Single(wrong.Err.Trim().Split('\n'));
        Assert.Contains(Path.Combine(aff, "config.json"), wrong.Err, StringComparison.Ordinal);
        Assert.Contains("trained on the classifier in", wrong.Err, StringComparison.Ordinal);
        var crf = Run("weak", "refine", "--data", Samples, "--split", "val", "--limit", "2", "--cams", cams, "--classifier", cls, "--affinity", aff,
            "--method", "crf", "--out", Path.Combine(_tmp, "ref-crf"), "--threads", "1");
        Assert.NotEqual(0, crf.Code);
        Assert.Contains("--affinity", crf.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tags", "--crop", "120by160", "--crop")]
    [InlineData("tags", "--min-pixels", "0", "min pixels")]
    [InlineData("train-classifier", "--encoder", "vit", "encoder 'vit'")]
    [InlineData("train-classifier", "--epochs", "0", "epochs")]
    public void Usage_errors_name_the_option_before_anything_loads(string verb, string option, string value, string expected)
    {
        var args = new List<string> { "weak", verb, "--data", Path.Combine(_tmp, "no-such-folder"), option, value };
        if (verb == "train-classifier") args.AddRange(["--out", Path.Combine(_tmp, "o")]);
        var r = Run([.. args]);
        Assert.Equal(2, r.Code);
        Assert.Contains(expected, r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("no-such-folder", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Cam_of_an_unfinished_or_missing_run_says_what_is_wrong()
    {
        var r = Run("weak", "cam", "--classifier", Path.Combine(_tmp, "nothing"), "--data", Samples, "--split", "val", "--out", Path.Combine(_tmp, "c"));
        Assert.Equal(1, r.Code);
        Assert.Contains("not a classifier run", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
    }
}
