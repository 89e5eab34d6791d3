using SegLab.Contextrast;
using SegLab.Training;

namespace SegLab.Tests.Training;

public class ConfigLoaderTests
{
    private const string Yaml = """
        seed: 3
        model:
          family: unet
          widths: [8, 16, 32, 64]
        schedule:
          optimizer: adamw
          lr: 0.002
          policy: cosine
          iterations: 50
        contextrast:
          enabled: true
          negatives: true_class
        """;

    [Fact]
    public void Yaml_binds_to_the_typed_records_and_keeps_defaults()
    {
        var c = ConfigLoader.Parse(Yaml, "a.yaml");
        Assert.Equal(3, c.Seed);
        Assert.Equal([8, 16, 32, 64], c.Model.Widths);
        Assert.Equal(OptimizerKind.AdamW, c.Schedule.Optimizer);
        Assert.Equal(SchedulePolicy.Cosine, c.Schedule.Policy);
        Assert.Equal(0.002, c.Schedule.Lr);
        Assert.Equal(0.9, c.Schedule.Momentum);
        Assert.True(c.Contextrast.Enabled);
        Assert.Equal(NegativeAssignment.TrueClass, c.Contextrast.Negatives);
        Assert.Equal(0.1, c.Contextrast.Temperature);
    }

    [Fact]
    public void Json_reads_the_same_way()
    {
        var c = ConfigLoader.Parse("""{"seed": 3, "schedule": {"lr": 0.5, "iterations": 7}, "loss": {"class_weights": [1, 2]}}""", "a.json");
        Assert.Equal(0.5, c.Schedule.Lr);
        Assert.Equal(7, c.Schedule.Iterations);
        Assert.Equal([1.0, 2.0], c.Loss.ClassWeights!);
    }

    [Fact]
    public void Unknown_key_names_the_key_file_and_line()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("seed: 1\nschedule:\n  lr: 0.1\n  lrr: 0.2\n", "run.yaml"));
        Assert.Contains("run.yaml:4", e.Message);
        Assert.Contains("schedule.lrr", e.Message);
        Assert.Contains("unknown key", e.Message);
    }

    [Fact]
    public void Wrong_type_names_the_key_and_what_was_expected()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("data:\n  batch: eight\n", "run.yaml"));
        Assert.Contains("run.yaml:2", e.Message);
        Assert.Contains("data.batch", e.Message);
        Assert.Contains("integer", e.Message);
        var e2 = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("schedule:\n  optimizer: lbfgs\n", "run.yaml"));
        Assert.Contains("sgd, adam_w", e2.Message);
        var e3 = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("model: 3\n", "run.yaml"));
        Assert.Contains("model", e3.Message);
    }

    [Fact]
    public void Overrides_apply_after_the_file_and_are_checked_the_same_way()
    {
        var c = ConfigLoader.Parse(Yaml, "a.yaml", ["schedule.lr=0.01", "data.crop=[64, 96]", "contextrast.stages=[a, b, c, d]"]);
        Assert.Equal(0.01, c.Schedule.Lr);
        Assert.Equal([64, 96], c.Data.Crop);
        Assert.Equal(["a", "b", "c", "d"], c.Contextrast.Stages!);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Yaml, "a.yaml", ["schedule.lr=fast"]));
        Assert.Contains("schedule.lr", e.Message);
        Assert.Contains("--set", e.Message);
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Yaml, "a.yaml", ["schedule.bogus=1"]));
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Yaml, "a.yaml", ["no-equals-sign"]));
    }

    [Fact]
    public void Printed_yaml_reads_back_to_the_same_config()
    {
        var c = ConfigLoader.Parse(Yaml, "a.yaml", ["data.dir=../shared/data/camvid", "model.init=null"]);
        var yaml = ConfigLoader.ToYaml(c);
        Assert.Contains("warmup_steps: 0", yaml);
        var back = ConfigLoader.Parse(yaml, "printed.yaml");
        Assert.Equal(yaml, ConfigLoader.ToYaml(back));
        Assert.Equal(ConfigLoader.Hash(c), ConfigLoader.Hash(back));
        Assert.NotEqual(ConfigLoader.Hash(c), ConfigLoader.Hash(c with { Seed = 4 }));
        Assert.Equal(ConfigLoader.Hash(c), ConfigLoader.Hash(c with { Threads = 2 }));
    }

    [Fact]
    public void Out_of_range_values_name_the_key()
    {
        Assert.Contains("schedule.lr", Assert.Throws<ConfigException>(() => ConfigLoader.Parse("schedule:\n  lr: -1\n", "x")).Message);
        Assert.Contains("contextrast.temperature", Assert.Throws<ConfigException>(() => ConfigLoader.Parse("contextrast:\n  temperature: 0.001\n", "x")).Message);
        Assert.Contains("model.family", Assert.Throws<ConfigException>(() => ConfigLoader.Parse("model:\n  family: vit\n", "x")).Message);
    }
}
