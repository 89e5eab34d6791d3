using SegLab.Engine.Serialization;
using SegLab.Robustness;
using SegLab.Training;

namespace SegLab.Tests.Training;

/// <summary>PGD-AT / SegPGD-AT in the trainer: the clean step at share 0, the eps-ball, the share, resume, config errors.</summary>
public sealed class AdversarialTrainingTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seglab-advtrain-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Dir(string name) => Path.Combine(_root, name);

    // A UNet with batch norm on 6 synthetic images; 8/255 so that the ball reaches past 0 and 1 on the dark and bright pixels.
    private static TrainConfig Config(AdversarialConfig adv, int batch = 2, int iterations = 4, int accumulation = 1) => new()
    {
        Seed = 3,
        Threads = 1,
        Model = new ModelConfig { Family = "unet", Widths = [4, 8] },
        Data = new DataConfig { Crop = [24, 24], Scale = [0.75, 1.25], Batch = batch, Jitter = 0.1, ValScale = 1 },
        Schedule = new ScheduleConfig { Lr = 0.05, Iterations = iterations, WarmupSteps = 1, Accumulation = accumulation, ValidateEvery = 0, CheckpointEvery = 1 },
        Adversarial = adv,
    };

    private static AdversarialConfig Adv(double share, AdversarialAttack attack = AdversarialAttack.Pgd, int steps = 2, bool randomStart = true) =>
        new() { Enabled = true, Attack = attack, Eps = 8.0 / 255, Steps = steps, Share = share, RandomStart = randomStart };

    private static TrainData Data(TrainConfig cfg, int samples = 6) =>
        new(new LoaderBatchSource(new SyntheticDataset(samples, 32, 1), cfg.Data, cfg.Seed, 255, prefetch: 0), null, new SyntheticDataset(1, 8, 0).Classes);

    private static float[] Weights(string dir) =>
        SafeTensors.Load(Path.Combine(dir, Checkpoint.FinalWeights)).ToTensors().OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.ToArray()).ToArray();

    private static float[] Image(float[] buffer, int i, int d) => buffer.AsSpan(i * d, d).ToArray();

    [Fact]
    public void With_no_adversarial_samples_the_step_is_the_clean_step_bit_for_bit()
    {
        var clean = Config(new AdversarialConfig());
        new Trainer(clean, Data(clean), Dir("clean")).Run();
        var zero = Config(Adv(share: 0));
        var t = new Trainer(zero, Data(zero), Dir("zero"));
        int batches = 0;
        t.Adversarial!.Observer = b => { batches++; Assert.All(b.Adversarial, a => Assert.False(a)); Assert.Equal(b.Clean, b.Mixed); };
        t.Run();
        Assert.Equal(4, batches);
        Assert.Equal(Weights(Dir("clean")), Weights(Dir("zero")));

        // The same path with adversarial samples does change the weights: the comparison above can fail.
        var half = Config(Adv(share: 0.5)) with { Model = clean.Model with { Classes = 3 } };
        new Trainer(half, Data(half), Dir("half")).Run();
        Assert.NotEqual(Weights(Dir("clean")), Weights(Dir("half")));

        // The robust run is a run folder like any other: eval and attack load it, its config.yaml keeps the section.
        var loaded = TrainedModel.Load(Dir("half"));
        Assert.False(loaded.Network.Training);
        Assert.Equal(Weights(Dir("half")), loaded.Network.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.ToArray()).ToArray());
        Assert.Contains("adversarial:\n  enabled: true\n", File.ReadAllText(Path.Combine(Dir("half"), "config.yaml")), StringComparison.Ordinal);
        string card = File.ReadAllText(Path.Combine(Dir("half"), TrainSummary.ModelCardFile));
        Assert.Contains("- training: PGD-AT: 2-step PGD-CE at eps 8/255", card, StringComparison.Ordinal);
        Assert.Contains("50% adversarial samples per batch", card, StringComparison.Ordinal);
        Assert.Contains("- initialisation: fresh unet (seed 3)", card, StringComparison.Ordinal);
        Assert.Contains("- training: clean", File.ReadAllText(Path.Combine(Dir("clean"), TrainSummary.ModelCardFile)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.25, 1, AdversarialAttack.Pgd)]
    [InlineData(0.5, 2, AdversarialAttack.Pgd)]
    [InlineData(0.5, 2, AdversarialAttack.Segpgd)]
    [InlineData(0.75, 3, AdversarialAttack.Segpgd)]
    [InlineData(1.0, 4, AdversarialAttack.Pgd)]
    public void Adversarial_samples_are_the_configured_share_inside_the_eps_ball_and_unit_range(double share, int expected, AdversarialAttack attack)
    {
        var cfg = Config(Adv(share, attack), batch: 4, iterations: 3);
        var t = new Trainer(cfg, Data(cfg, samples: 8), Dir("ball"));
        var seen = new List<AdversarialBatch>();
        t.Adversarial!.Observer = b =>
        {
            Assert.True(t.Model.Network.Training, "the model is back in train mode after the attack");
            seen.Add(b);
        };
        t.Run();
        Assert.Equal(3, seen.Count);
        float eps = 8f / 255;
        int d = seen[0].Clean.Length / 4;
        long clipped = 0;
        foreach (var b in seen)
        {
            Assert.Equal(expected, b.Adversarial.Count(a => a));
            Assert.Equal(eps, b.Eps);
            for (int i = 0; i < 4; i++)
            {
                float[] x = Image(b.Clean, i, d), z = Image(b.Mixed, i, d);
                if (!b.Adversarial[i])
                {
                    Assert.Equal(x, z);
                    continue;
                }
                Assert.Equal(0, LinfBall.Violations(z, x, eps));
                Assert.All(z, v => Assert.InRange(v, 0f, 1f));
                double norm = LinfBall.Norm(z, x);
                // The exact check is Violations (float32 bounds x0 +- eps); in float64 |z - x0| may exceed eps by a rounding of x0 +- eps.
                Assert.True(norm > eps / 2 && norm <= eps + 1e-7, $"perturbation {norm} against eps {eps}");
                for (int j = 0; j < d; j++)
                    if ((x[j] + eps > 1f && z[j] == 1f) || (x[j] - eps < 0f && z[j] == 0f)) clipped++;
            }
        }
        Assert.True(clipped > 0, "some perturbed pixels reach 0 or 1, where the [0,1] bound binds");
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir("ball"), TrainSummary.FileName)));
        var adv = summary.RootElement.GetProperty("adversarial");
        Assert.Equal(3 * expected, adv.GetProperty("adversarialSamples").GetInt64());
        Assert.Equal(12, adv.GetProperty("samples").GetInt64());
        Assert.Equal("eval", adv.GetProperty("modelModeDuringAttack").GetString());
        Assert.StartsWith("fresh unet", summary.RootElement.GetProperty("initialisation").GetString(), StringComparison.Ordinal);
        var epoch = summary.RootElement.GetProperty("epochSeconds")[0];
        Assert.True(epoch.GetProperty("attack").GetDouble() > 0 && epoch.GetProperty("trainStep").GetDouble() > 0);
    }

    [Theory]
    [InlineData(1, AdversarialAttack.Pgd)]
    [InlineData(2, AdversarialAttack.Segpgd)]
    public void Resume_mid_epoch_continues_the_same_batches_and_attacks(int accumulation, AdversarialAttack attack)
    {
        // 3 batches per epoch: step 4 of accumulation 1 (or step 2 of accumulation 2) stops in the middle of the second epoch.
        var cfg = Config(Adv(0.5, attack), iterations: 6 / accumulation * 2, accumulation: accumulation);
        var full = new List<(long, long, string, float[])>();
        var t = new Trainer(cfg, Data(cfg), Dir("full"));
        t.Adversarial!.Observer = b => full.Add((b.Step, b.MicroBatch, string.Join(',', b.Ids), b.Mixed));
        Assert.True(t.Run().Completed);

        var split = new List<(long, long, string, float[])>();
        var first = new Trainer(cfg, Data(cfg), Dir("split"));
        first.Adversarial!.Observer = b => split.Add((b.Step, b.MicroBatch, string.Join(',', b.Ids), b.Mixed));
        long stop = 4 / accumulation;
        Assert.False(first.Run(stopAfterStep: stop).Completed);
        Assert.NotEqual(0, Checkpoint.Read(Path.Combine(Dir("split"), Checkpoint.LastState)).BatchInEpoch);
        var resumed = new Trainer(cfg, Data(cfg), Dir("split"), resume: true);
        Assert.Equal(stop, resumed.Step);
        resumed.Adversarial!.Observer = b => split.Add((b.Step, b.MicroBatch, string.Join(',', b.Ids), b.Mixed));
        Assert.True(resumed.Run().Completed);

        Assert.Equal(12, full.Count);
        Assert.Equal(full.Select(f => (f.Item1, f.Item2, f.Item3)), split.Select(s => (s.Item1, s.Item2, s.Item3)));
        for (int i = 0; i < full.Count; i++) Assert.Equal(full[i].Item4, split[i].Item4);
        Assert.Equal(Weights(Dir("full")), Weights(Dir("split")));
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir("split"), TrainSummary.FileName)));
        Assert.Equal(12, summary.RootElement.GetProperty("adversarial").GetProperty("adversarialSamples").GetInt64());
        Assert.Equal(4, summary.RootElement.GetProperty("epochSeconds").GetArrayLength());
    }

    [Fact]
    public void Random_starts_differ_between_micro_batches_and_repeat_for_the_same_one()
    {
        Assert.Equal(AdversarialTraining.AttackSeed(3, 7), AdversarialTraining.AttackSeed(3, 7));
        var seeds = Enumerable.Range(0, 100).Select(i => AdversarialTraining.AttackSeed(3, i)).Concat(Enumerable.Range(0, 100).Select(i => AdversarialTraining.AttackSeed(4, i)));
        Assert.Equal(200, seeds.Distinct().Count());
    }

    [Fact]
    public void The_section_reads_fractions_and_percentages_and_round_trips()
    {
        var c = ConfigLoader.Parse("adversarial:\n  enabled: true\n  attack: segpgd\n  eps: 4/255\n  steps: 2\n  step_size: 0.01\n  share: 50%\n  random_start: false\n", "a.yaml");
        Assert.Equal(new AdversarialConfig { Enabled = true, Attack = AdversarialAttack.Segpgd, Eps = 4.0 / 255, Steps = 2, StepSize = 0.01, Share = 0.5, RandomStart = false }, c.Adversarial);
        Assert.Equal(c.Adversarial, ConfigLoader.Parse(ConfigLoader.ToYaml(c), "round-trip").Adversarial);
        Assert.Contains("attack: segpgd", ConfigLoader.ToYaml(c), StringComparison.Ordinal);
        Assert.Equal(2.5 * 4 / 255 / 3, ConfigLoader.Parse("adversarial:\n  eps: 4/255\n", "b").Adversarial.Alpha, 12);
        Assert.Equal(4.0 / 255, ConfigLoader.Parse("{}", "c", ["adversarial.eps=4/255"]).Adversarial.Eps);
    }

    [Fact]
    public void A_clean_run_hashes_without_the_section_and_an_adversarial_one_with_it()
    {
        var clean = new TrainConfig();
        Assert.Equal(ConfigLoader.Hash(clean), ConfigLoader.Hash(clean with { Adversarial = new AdversarialConfig { Eps = 0.1, Steps = 9 } }));
        var adv = clean with { Adversarial = new AdversarialConfig { Enabled = true } };
        Assert.NotEqual(ConfigLoader.Hash(clean), ConfigLoader.Hash(adv));
        Assert.NotEqual(ConfigLoader.Hash(adv), ConfigLoader.Hash(adv with { Adversarial = adv.Adversarial with { Share = 1 } }));
    }

    [Theory]
    [InlineData("eps: 0", "adversarial.eps")]
    [InlineData("eps: 300/255", "adversarial.eps")]
    [InlineData("eps: 4/0", "adversarial.eps: expected a number")]
    [InlineData("eps: four", "adversarial.eps: expected a number")]
    [InlineData("steps: 0", "adversarial.steps")]
    [InlineData("step_size: -0.01", "adversarial.step_size")]
    [InlineData("share: 1.5", "adversarial.share")]
    [InlineData("share: 150%", "adversarial.share")]
    [InlineData("share: -10%", "adversarial.share")]
    [InlineData("attack: fgsm", "adversarial.attack: expected one of pgd, segpgd")]
    [InlineData("random_start: maybe", "adversarial.random_start: expected true or false")]
    [InlineData("share_of_batch: 0.5", "adversarial.share_of_batch: unknown key")]
    public void Config_errors_name_the_key(string line, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse($"adversarial:\n  enabled: true\n  {line}\n", "run.yaml"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
