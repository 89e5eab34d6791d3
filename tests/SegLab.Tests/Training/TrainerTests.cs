using SegLab.Contextrast;
using SegLab.Engine.Serialization;
using SegLab.Models;
using SegLab.Training;

namespace SegLab.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seglab-train-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static TrainConfig Tiny(bool contextrast = false, int accumulation = 1, int iterations = 6) => new()
    {
        Seed = 5,
        Model = new ModelConfig { Family = "unet", Widths = [4, 8] },
        Data = new DataConfig { Crop = [24, 24], Scale = [0.75, 1.25], Batch = 2, Jitter = 0.1, ValScale = 1 },
        Schedule = new ScheduleConfig { Lr = 0.05, Iterations = iterations, WarmupSteps = 2, Accumulation = accumulation, ValidateEvery = 1, CheckpointEvery = 1 },
        Contextrast = new ContextrastOptions { Enabled = contextrast, Dim = 8, StageWeights = [1.0, 0.1], MaxPositives = 50 },
    };

    private static TrainData Data(int? nanSample = null, int classes = 3) =>
        new(new LoaderBatchSource(new SyntheticDataset(6, 32, 1, classes, nanSample), new DataConfig { Crop = [24, 24], Scale = [0.75, 1.25], Batch = 2, Jitter = 0.1 }, 5, 255, prefetch: 0),
            new SyntheticDataset(3, 32, 2, classes), new SyntheticDataset(1, 8, 0, classes).Classes);

    private string Dir(string name) => Path.Combine(_root, name);

    private static float[] Weights(string dir) =>
        SafeTensors.Load(Path.Combine(dir, Checkpoint.FinalWeights)).ToTensors().OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.ToArray()).ToArray();

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void Interrupted_and_resumed_run_ends_with_bit_identical_weights(bool contextrast, int accumulation)
    {
        var cfg = Tiny(contextrast, accumulation);
        var full = new Trainer(cfg, Data(), Dir("full")).Run();
        Assert.True(full.Completed);

        var first = new Trainer(cfg, Data(), Dir("split")).Run(stopAfterStep: 3);
        Assert.False(first.Completed);
        Assert.Equal(3, Checkpoint.Read(Path.Combine(Dir("split"), Checkpoint.LastState)).Step);
        var resumed = new Trainer(cfg, Data(), Dir("split"), resume: true);
        Assert.Equal(3, resumed.Step);
        Assert.True(resumed.Run().Completed);

        Assert.Equal(Weights(Dir("full")), Weights(Dir("split")));
        Assert.Single(Directory.GetFiles(Dir("split"), "step-*.optim.safetensors"));
    }

    [Fact]
    public void A_run_resumed_mid_epoch_records_the_same_epoch_losses()
    {
        var cfg = Tiny();
        Assert.True(new Trainer(cfg, Data(), Dir("full")).Run().Completed);
        new Trainer(cfg, Data(), Dir("split")).Run(stopAfterStep: 1); // 3 batches per epoch: stopped inside the first
        Assert.NotEqual(0, Checkpoint.Read(Path.Combine(Dir("split"), Checkpoint.LastState)).BatchInEpoch);
        Assert.True(new Trainer(cfg, Data(), Dir("split"), resume: true).Run().Completed);
        var full = Checkpoint.Read(Path.Combine(Dir("full"), Checkpoint.LastState)).EpochLoss;
        Assert.NotEmpty(full);
        Assert.Equal(full, Checkpoint.Read(Path.Combine(Dir("split"), Checkpoint.LastState)).EpochLoss);
    }

    [Fact]
    public void Training_lowers_the_loss_and_keeps_the_best_checkpoint()
    {
        var losses = new List<double>();
        var cfg = Tiny(iterations: 30) with { Schedule = Tiny().Schedule with { Iterations = 30, ValidateEvery = 1, CheckpointEvery = 0 } };
        var result = new Trainer(cfg, Data(), Dir("run")).Run(new SyncProgress(p => { if (p.Message is null) losses.Add(p.Loss); }));
        Assert.Equal(30, losses.Count);
        Assert.True(losses.Skip(25).Average() < losses.Take(5).Average(), $"loss {losses.Take(5).Average()} -> {losses.Skip(25).Average()}");
        var best = Checkpoint.Read(Path.Combine(Dir("run"), Checkpoint.BestState));
        Assert.Equal(result.BestMIoU, best.BestMIoU);
        Assert.True(File.Exists(Path.Combine(Dir("run"), Checkpoint.BestWeights)));
        Assert.True(File.Exists(Path.Combine(Dir("run"), "config.yaml")));
    }

    [Fact]
    public void A_finished_run_writes_its_summary_and_the_full_metrics_of_its_validations()
    {
        var result = new Trainer(Tiny(iterations: 4), Data(), Dir("sum")).Run();
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir("sum"), TrainSummary.FileName)));
        var r = summary.RootElement;
        Assert.Equal(4, r.GetProperty("steps").GetInt64());
        Assert.True(r.GetProperty("completed").GetBoolean());
        Assert.Equal(result.BestMIoU, r.GetProperty("bestMIoU").GetDouble(), 5);
        // 3 batches per epoch: validations after the first epoch (step 3) and at the last step.
        Assert.Equal(2, r.GetProperty("validations").GetArrayLength());
        Assert.True(r.GetProperty("peakWorkingSetMB").GetDouble() > 0);
        Assert.True(r.GetProperty("trainSecondsPerEpoch").GetDouble() > 0);

        using var best = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir("sum"), Trainer.BestMetricsFile)));
        Assert.Equal(result.BestMIoU, best.RootElement.GetProperty("mIoU").GetDouble(), 9);
        Assert.Equal(3, best.RootElement.GetProperty("perClassIoU").EnumerateObject().Count());
        using var last = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir("sum"), Trainer.LastMetricsFile)));
        var lastVal = r.GetProperty("validations")[1].GetProperty("mIoU").GetDouble();
        Assert.Equal(lastVal, last.RootElement.GetProperty("mIoU").GetDouble(), 5);
    }

    [Fact]
    public void Contextrast_heads_are_not_part_of_the_saved_model()
    {
        var cfg = Tiny(contextrast: true, iterations: 2);
        var t = new Trainer(cfg, Data(), Dir("ctx"));
        t.Run();
        var saved = SafeTensors.Load(Path.Combine(Dir("ctx"), Checkpoint.FinalWeights)).ToTensors();
        var baseline = new UNet(3, [4, 8]).StateDict();
        Assert.Equal(baseline.Keys.Order(StringComparer.Ordinal), saved.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, v) in baseline) Assert.Equal(v.ShapeArray(), saved[k].ShapeArray());
        Assert.NotNull(t.Contrast);
        Assert.True(t.Contrast!.Heads.ParameterCount() > 0);
    }

    [Fact]
    public void Nan_loss_stops_naming_step_and_batch_and_keeps_the_last_good_checkpoint()
    {
        var cfg = Tiny(iterations: 30);
        var e = Assert.Throws<TrainingDivergedException>(() => new Trainer(cfg, Data(nanSample: 4), Dir("nan")).Run());
        Assert.Contains("s004", e.Message);
        var m = System.Text.RegularExpressions.Regex.Match(e.Message, @"at step (\d+), batch (\d+)");
        Assert.True(m.Success, e.Message);
        long step = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var last = Checkpoint.TryRead(Path.Combine(Dir("nan"), Checkpoint.LastState));
        if (step == 1) Assert.Null(last);
        else
        {
            Assert.Equal(step - 1, last!.Step);
            Assert.True(File.Exists(Path.Combine(Dir("nan"), last.WeightsFile)));
            Assert.DoesNotContain(SafeTensors.Load(Path.Combine(Dir("nan"), last.WeightsFile)).ToTensors().Values.SelectMany(t => t.ToArray()), float.IsNaN);
        }
    }

    [Fact]
    public void Labels_beyond_the_model_classes_are_refused_before_training()
    {
        var cfg = Tiny() with { Model = Tiny().Model with { Classes = 2 } };
        var e = Assert.Throws<ArgumentException>(() => new Trainer(cfg, Data(), Dir("classes")));
        Assert.Contains("3 classes", e.Message);
        Assert.False(File.Exists(Path.Combine(Dir("classes"), Checkpoint.LastState)));
    }

    [Fact]
    public void Cancellation_stops_after_a_step_and_saves()
    {
        using var cts = new CancellationTokenSource();
        var r = new Trainer(Tiny(iterations: 20) with { Schedule = Tiny().Schedule with { Iterations = 20, CheckpointEvery = 0 } }, Data(), Dir("cancel"))
            .Run(new SyncProgress(p => { if (p.Step == 2) cts.Cancel(); }), cancel: cts.Token);
        Assert.False(r.Completed);
        Assert.Equal(2, r.Steps);
        Assert.Equal(2, Checkpoint.Read(Path.Combine(Dir("cancel"), Checkpoint.LastState)).Step);
    }

    [Fact]
    public void Resume_refuses_another_config()
    {
        new Trainer(Tiny(iterations: 2), Data(), Dir("cfg")).Run(stopAfterStep: 1);
        var other = Tiny(iterations: 2) with { Seed = 6 };
        Assert.Contains("another configuration", Assert.Throws<ArgumentException>(() => new Trainer(other, Data(), Dir("cfg"), resume: true)).Message);
    }

    private sealed class SyncProgress(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}
