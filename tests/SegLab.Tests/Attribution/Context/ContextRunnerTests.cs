// The context runner on the tiny parity net and a small in-memory split: records for every variant x method, shares
// that agree with ContextShares on the same map, shards merged equal to the unsharded run, --resume skipping the
// objects already in records.jsonl (and dropping a torn last line), and the quality measures on a hand-made case.
using System.Text.Json;
using SegLab.Attribution;
using SegLab.Attribution.Context;

namespace SegLab.Tests.Attribution.Context;

public sealed class ContextRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seglab-context-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ContextOptions Options() => new()
    {
        Classes = [1, 2],
        Variants = ContextVariants.Parse("original,only_fg,no_fg,mixed_rand,mixed_same,bg_uniform,ctx:invert:2,obj:noise:1", new FakeCorruptions().Names, [1]),
        Methods = ["saliency", "gradcam"],
        Attribution = new AttributionOptions { Layer = "pw" },
        Instances = new InstanceOptions { MinArea = 10 },
        Seed = 3,
        Examples = 1,
    };

    private (ContextReport Report, List<InstanceResult> Results) RunDir(string dir, IEnumerable<int> images, List<InstanceResult>? done = null, bool fresh = true)
    {
        var data = new ContextTestData(5);
        var o = Options();
        var runner = new ContextRunner(AttributionModels.TinyNative(), data, o, new FakeCorruptions());
        var instances = runner.Instances(images);
        Directory.CreateDirectory(dir);
        string records = Path.Combine(dir, "records.jsonl");
        if (fresh) ContextRecordFile.Create(records, o.Fingerprint("tiny-native", "val"));
        done ??= [];
        runner.Run(instances, done, records, Path.Combine(dir, "examples"));
        var rep = ContextOutput.Report("tiny-native", data.Name, data.Split, o, data.Classes.Names, done, new ContextRunInfo(null, 0, null));
        ContextOutput.Write(dir, rep, [dir]);
        return (rep, done);
    }

    private static string Aggregates(ContextReport r) => JsonSerializer.Serialize(r with { Run = new ContextRunInfo(null, 0, null) }, ContextOutput.Options);

    [Fact]
    public void Every_object_gets_every_variant_and_method_with_finite_shares_and_one_example()
    {
        var (rep, results) = RunDir(Path.Combine(_dir, "one"), [0, 1]);
        Assert.Equal(4, results.Count);                                  // a square and a bar per image
        foreach (var r in results)
        {
            int variants = Options().Variants.Count - r.Unavailable.Count;
            Assert.Equal(2 * variants, r.Records.Count);
            Assert.All(r.Records, x => Assert.InRange(x.Recall, 0, 1));
            Assert.All(r.Records.Where(x => double.IsFinite(x.ObjectShare)), x => Assert.Equal(1, x.ObjectShare + x.ContextShare, 9));
            Assert.All(r.Records, x => Assert.Equal((double)r.Area / (32 * 32), x.AreaFraction, 12));
            Assert.All(r.Records.Where(x => x.Variant.StartsWith("mixed", StringComparison.Ordinal)), x => Assert.NotNull(x.Donor));
        }
        Assert.Equal(4, rep.Objects);
        Assert.Single(Directory.GetDirectories(Path.Combine(_dir, "one", "examples")));
        Assert.True(File.Exists(Path.Combine(_dir, "one", "report.html")));
        Assert.Equal(rep.Objects, ContextOutput.Load(Path.Combine(_dir, "one", "context.json")).Objects);
    }

    [Fact]
    public void The_recorded_shares_are_those_of_the_method_on_the_variant_image()
    {
        var data = new ContextTestData(5);
        var o = Options();
        var runner = new ContextRunner(AttributionModels.TinyNative(), data, o, new FakeCorruptions());
        var inst = runner.Instances([2])[0];
        var sample = data.Load(2);
        var rec = runner.RunOne(inst, sample).Records.Single(r => r.Variant == "only_fg" && r.Method == "saliency");
        var img = ContextVariants.Build(o.Variants.Single(v => v.Name == "only_fg"), sample.Image, 32, 32, inst.Mask, null, 0, null);
        var map = new Saliency().Attribute(AttributionModels.TinyNative(), SegLab.Engine.Tensor.FromArray(img, 3, 32, 32),
            AttributionTarget.FromMask(inst.Class, inst.Mask, 32, 32), o.Attribution);
        var s = ContextShares.Compute(map.Values, inst.Mask);
        Assert.Equal(s.ObjectShare, rec.ObjectShare, 12);
        Assert.Equal(map.TargetScore, rec.TargetScore, 9);
    }

    [Fact]
    public void Shards_merged_equal_the_unsharded_run()
    {
        var (whole, _) = RunDir(Path.Combine(_dir, "whole"), [0, 1, 2, 3]);
        RunDir(Path.Combine(_dir, "s1"), new[] { 0, 1, 2, 3 }.Where((_, k) => k % 2 == 0));
        RunDir(Path.Combine(_dir, "s2"), new[] { 0, 1, 2, 3 }.Where((_, k) => k % 2 == 1));
        var (merged, _, _) = ContextOutput.Merge([Path.Combine(_dir, "s2"), Path.Combine(_dir, "s1")], Path.Combine(_dir, "merged"), null);
        Assert.Equal(whole.Objects, merged.Objects);
        Assert.Equal(Aggregates(whole), Aggregates(merged));
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "whole", "records.jsonl")), File.ReadAllText(Path.Combine(_dir, "merged", "records.jsonl")));
    }

    [Fact]
    public void Merge_refuses_shards_of_other_settings()
    {
        RunDir(Path.Combine(_dir, "a"), [0]);
        RunDir(Path.Combine(_dir, "b"), [1]);
        var json = Path.Combine(_dir, "b", "context.json");
        var rep = ContextOutput.Load(json);
        ContextOutput.WriteJson(Path.Combine(_dir, "b"), rep with { Fingerprint = rep.Fingerprint + "x" });
        var e = Assert.Throws<InvalidDataException>(() => ContextOutput.Merge([Path.Combine(_dir, "a"), Path.Combine(_dir, "b")], Path.Combine(_dir, "m"), null));
        Assert.Contains("settings", e.Message);
    }

    [Fact]
    public void Resume_skips_the_objects_in_the_records_file_and_drops_a_torn_line()
    {
        string dir = Path.Combine(_dir, "resume");
        var (_, first) = RunDir(dir, [0]);
        string records = Path.Combine(dir, "records.jsonl");
        // Mark the finished objects so a recomputation would show, and leave a torn line as an interruption would.
        var (fp, old) = ContextRecordFile.Load(records);
        var marked = old.Select(r => r with { Records = [.. r.Records.Select(x => x with { TargetScore = 12345 })] }).ToList();
        ContextRecordFile.Rewrite(records, fp, marked);
        File.AppendAllText(records, "{\"instance\":\"img01#0\",\"ima");
        var (f2, loaded) = ContextRecordFile.Load(records);
        Assert.Equal(fp, f2);
        Assert.Equal(first.Count, loaded.Count);
        ContextRecordFile.Rewrite(records, fp, loaded);
        var (_, all) = RunDir(dir, [0, 1], loaded, fresh: false);
        Assert.Equal(first.Count + 2, all.Count);
        Assert.All(all.Where(r => r.Image == "img00").SelectMany(r => r.Records), x => Assert.Equal(12345, x.TargetScore));
        Assert.All(all.Where(r => r.Image == "img01").SelectMany(r => r.Records), x => Assert.NotEqual(12345, x.TargetScore));
        Assert.Equal(all.Count, ContextRecordFile.Load(records).Results.Count);
    }

    [Fact]
    public void Recall_and_window_IoU_on_a_hand_made_prediction()
    {
        var label = new int[20 * 20];
        for (int y = 5; y < 10; y++) for (int x = 5; x < 10; x++) label[(y * 20) + x] = 1;
        var inst = ContextInstances.Extract("h", 0, label, 20, 20, [1], new InstanceOptions { MinArea = 1 })[0];
        var pred = new int[400];
        for (int y = 5; y < 10; y++) for (int x = 5; x < 8; x++) pred[(y * 20) + x] = 1;   // 15 of 25 object pixels
        pred[(12 * 20) + 12] = 1;                                                          // 1 false positive inside the window
        var sceneLabel = (int[])label.Clone();
        var (recall, iou) = ContextRunner.Quality(inst, pred, sceneLabel, 4);
        Assert.Equal(15 / 25.0, recall, 12);
        Assert.Equal(15 / 26.0, iou, 12);
        sceneLabel[(12 * 20) + 12] = 1;                                                    // another object of the class there: not a false positive
        Assert.Equal(15 / 25.0, ContextRunner.Quality(inst, pred, sceneLabel, 4).IoU, 12);
        Assert.Equal(15 / 25.0, ContextRunner.Quality(inst, pred, label, 1).IoU, 12);      // outside a 1 px window
        Assert.Equal(15 / 26.0, ContextRunner.Quality(inst, pred, null, 4).IoU, 12);       // no scene (blank context): every other pixel counts
    }
}
