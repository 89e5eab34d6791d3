// Tests of the tag classifier run: it learns (loss falls, val F1 above a constant guess), an interrupted run resumed
// ends bit-identical to an uninterrupted one, a finished run is left alone, other settings refuse to resume, and the
// saved classifier loads back with the same outputs.
using SegLab.Engine;
using SegLab.Tests.Training;
using SegLab.Weak;

namespace SegLab.Tests.Weak;

public sealed class TagTrainerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seglab-tagtrain-" + Guid.NewGuid().ToString("N"));

    private static TagTrainOptions Options => new()
    {
        Encoder = WeakEncoders.Scratch,
        Tags = new TagOptions(16, 16, 8, 8, 12),
        Epochs = 2,
        Batch = 6,
        Lr = 0.02,
        CheckpointEvery = 3,
        Seed = 5,
    };

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    [Fact]
    public void Learns_the_tags_of_synthetic_crops()
    {
        var train = new SyntheticDataset(24, 32, 1);
        var val = new SyntheticDataset(12, 32, 2);
        var t = new TagTrainer(Options with { Epochs = 4, Tags = new TagOptions(16, 16, 16, 16, 40) }, train, val, Path.Combine(_root, "a"));
        var s = t.Run();
        Assert.Equal(t.TotalSteps, s.Steps);
        Assert.Equal(4, s.EpochLoss.Length);
        Assert.True(s.EpochLoss[^1] < s.EpochLoss[0], $"loss {string.Join(", ", s.EpochLoss)} did not fall");
        Assert.NotNull(s.Val);
        Assert.Equal(12 * 4, s.Val!.Crops);
        // class 0 is in nearly every crop; the square (class 1) in some: its F1 must beat a constant guess
        // ("always": 2p / (1 + p) for a positive share p; "never": 0)
        double p = (double)s.Val.Positives[1] / s.Val.Crops;
        Assert.True(s.Val.F1[1] > 2 * p / (1 + p) + 0.05, $"F1 {string.Join(", ", s.Val.F1)}, class 1 share {p:F2}");
        Assert.Contains("trained from scratch", s.Encoder);
        Assert.True(File.Exists(Path.Combine(_root, "a", "model.safetensors")));
    }

    [Fact]
    public void A_frozen_encoder_keeps_its_weights_while_the_classifier_learns_and_the_default_leaves_config_json_alone()
    {
        var train = new SyntheticDataset(16, 32, 1);
        var tags = new TagOptions(16, 16, 16, 16, 40);
        var fresh = WeakEncoders.CreateClassifier(Options.Encoder, train.Classes.Count, Options.Seed);
        var t = new TagTrainer(Options with { Epochs = 2, Tags = tags, FreezeEncoder = true }, train, null, Path.Combine(_root, "f"));
        var s = t.Run();
        Assert.Contains("encoder frozen", s.Encoder);
        var before = fresh.Encoder.Parameters().Select(p => p.ToArray()).ToArray();
        var after = t.Model.Encoder.Parameters().Select(p => p.ToArray()).ToArray();
        Assert.Equal(before.Length, after.Length);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
        Assert.NotEqual(fresh.Classifier.Parameters().First().ToArray(), t.Model.Classifier.Parameters().First().ToArray());
        Assert.Contains("freezeEncoder", File.ReadAllText(Path.Combine(_root, "f", "config.json")), StringComparison.OrdinalIgnoreCase);
        var plain = new TagTrainer(Options with { Epochs = 1, Tags = tags }, train, null, Path.Combine(_root, "g"));
        Assert.True(plain.Model.Encoder.TrainableParameters().Any(), "the default trains the encoder");
        Assert.DoesNotContain("freezeEncoder", File.ReadAllText(Path.Combine(_root, "g", "config.json")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Resumed_run_is_bit_identical_to_an_uninterrupted_one_and_a_finished_run_is_left_alone()
    {
        var train = new SyntheticDataset(8, 32, 3);
        string a = Path.Combine(_root, "full"), b = Path.Combine(_root, "resumed");
        new TagTrainer(Options, train, null, a).Run();
        var first = new TagTrainer(Options, train, null, b);
        first.Run(stopAfterStep: 4);
        Assert.Equal(4, first.Step);
        var second = new TagTrainer(Options, train, null, b, resume: true);
        Assert.Equal(4, second.Step);
        second.Run();
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));

        var summary = File.ReadAllBytes(Path.Combine(b, "summary.json"));
        var again = new TagTrainer(Options, train, null, b, resume: true).Run();
        Assert.Equal(summary, File.ReadAllBytes(Path.Combine(b, "summary.json")));
        Assert.Equal(second.TotalSteps, again.Steps);
    }

    [Fact]
    public void Other_settings_refuse_to_resume()
    {
        var train = new SyntheticDataset(8, 32, 3);
        string d = Path.Combine(_root, "x");
        new TagTrainer(Options, train, null, d).Run(stopAfterStep: 2);
        var e = Assert.Throws<ArgumentException>(() => new TagTrainer(Options with { Lr = 0.5 }, train, null, d, resume: true));
        Assert.Contains("other classifier settings", e.Message);
    }

    [Fact]
    public void Saved_classifier_loads_back_with_the_same_outputs()
    {
        var train = new SyntheticDataset(8, 32, 4);
        string d = Path.Combine(_root, "load");
        var t = new TagTrainer(Options with { Epochs = 1 }, train, null, d);
        t.Run();
        var loaded = TagTrainer.Load(d);
        t.Model.Eval();
        var x = Tensor.Uniform([2, 3, 16, 16], 0, 1, 9);
        Assert.Equal(t.Model.Forward(x).ToArray(), loaded.Forward(x).ToArray());
        Assert.Equal(train.Classes.Names, TagTrainer.Classes(d));
        Assert.Contains("not a classifier run", Assert.Throws<FileNotFoundException>(() => TagTrainer.Load(Path.Combine(_root, "none"))).Message);
    }

    [Fact]
    public void Bad_settings_are_errors_that_name_them()
    {
        var train = new SyntheticDataset(2, 32, 4);
        Assert.Contains("encoder 'vit'", Assert.Throws<ArgumentException>(() => new TagTrainer(Options with { Encoder = "vit" }, train, null, Path.Combine(_root, "e"))).Message);
        Assert.Contains("fewer than one batch", Assert.Throws<ArgumentException>(() => new TagTrainer(Options with { Batch = 100 }, train, null, Path.Combine(_root, "e"))).Message);
    }
}
