using SegLab.Evaluation;

namespace SegLab.Tests.Evaluation;

/// <summary>--shard i/n and --shard auto from Slurm job arrays and Kubernetes Indexed Jobs (docs/scale.md's rules).</summary>
public sealed class ShardSpecTests
{
    private static Dictionary<string, string> Env(params (string Key, string Value)[] vars) => vars.ToDictionary(v => v.Key, v => v.Value);

    private static ShardSpec Auto(int? count, params (string, string)[] vars) => ShardSpec.Parse("auto", count, Env(vars));

    private static string AutoError(int? count, params (string, string)[] vars)
    {
        var e = Assert.Throws<ArgumentException>(() => Auto(count, vars));
        Assert.Single(e.Message.Split('\n'));
        return e.Message;
    }

    [Theory]
    [InlineData("1/4", 1, 4)]
    [InlineData("4/4", 4, 4)]
    [InlineData("1/1", 1, 1)]
    public void Explicit_shards_parse_as_given(string text, int i, int n)
    {
        var s = ShardSpec.Parse(text, null, Env(("SLURM_ARRAY_TASK_ID", "3"))); // an explicit shard ignores the scheduler
        Assert.Equal((i, n, ShardSource.Explicit), (s.Index, s.Count, s.Source));
        Assert.Equal(text, s.ToString());
        Assert.Equal("explicit", s.SourceName);
        Assert.Null(s.Task);
    }

    [Theory]
    [InlineData("0/4")]
    [InlineData("5/4")]
    [InlineData("1/0")]
    [InlineData("-1/4")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("automatic")]
    public void Bad_explicit_shards_are_one_line_errors(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => ShardSpec.Parse(text, null, Env()));
        Assert.Contains($"'{text}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shard_count_goes_only_with_auto()
    {
        var e = Assert.Throws<ArgumentException>(() => ShardSpec.Parse("1/4", 4, Env()));
        Assert.Contains("--shard-count goes with --shard auto", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    // --array=1-4: ids 1..4 are shards 1..4.
    [InlineData("1", "1", "4", null, null, 1, 4)]
    [InlineData("4", "1", "4", null, null, 4, 4)]
    // --array=0-3: ids start at 0.
    [InlineData("0", "0", "3", null, null, 1, 4)]
    [InlineData("3", "0", "3", null, null, 4, 4)]
    // --array=5-8: any first id.
    [InlineData("7", "5", "8", null, null, 3, 4)]
    // --array=3-9:2 (ids 3, 5, 7, 9): the step counts.
    [InlineData("7", "3", "9", "2", null, 3, 4)]
    // The count from SLURM_ARRAY_TASK_COUNT alone, and from both when they agree.
    [InlineData("12", "10", null, null, "5", 3, 5)]
    [InlineData("12", "10", "14", "1", "5", 3, 5)]
    public void Slurm_array_tasks_map_to_shards(string id, string min, string? max, string? step, string? count, int i, int n)
    {
        var vars = new List<(string, string)> { ("SLURM_ARRAY_TASK_ID", id), ("SLURM_ARRAY_TASK_MIN", min), ("SLURM_ARRAY_JOB_ID", "991") };
        if (max is not null) vars.Add(("SLURM_ARRAY_TASK_MAX", max));
        if (step is not null) vars.Add(("SLURM_ARRAY_TASK_STEP", step));
        if (count is not null) vars.Add(("SLURM_ARRAY_TASK_COUNT", count));
        var s = Auto(null, [.. vars]);
        Assert.Equal((i, n, ShardSource.Slurm), (s.Index, s.Count, s.Source));
        Assert.Equal("slurm", s.SourceName);
        Assert.Contains($"SLURM_ARRAY_TASK_ID={id}", s.Task, StringComparison.Ordinal);
        Assert.Contains("job 991", s.Task, StringComparison.Ordinal);
    }

    [Fact]
    public void Slurm_every_task_of_an_array_gets_a_different_shard_and_together_they_cover_all()
    {
        var shards = Enumerable.Range(0, 6).Select(k => Auto(null, ("SLURM_ARRAY_TASK_ID", (4 + 3 * k).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("SLURM_ARRAY_TASK_MIN", "4"), ("SLURM_ARRAY_TASK_MAX", "19"), ("SLURM_ARRAY_TASK_STEP", "3"), ("SLURM_ARRAY_TASK_COUNT", "6"))).ToList();
        Assert.Equal(Enumerable.Range(1, 6), shards.Select(s => s.Index));
        Assert.All(shards, s => Assert.Equal(6, s.Count));
    }

    [Fact]
    public void Slurm_shard_count_option_must_agree_with_the_array()
    {
        Assert.Equal(4, Auto(4, ("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4")).Count);
        Assert.Contains("--shard-count 3 disagrees with the Slurm array's 4 tasks",
            AutoError(3, ("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4")), StringComparison.Ordinal);
    }

    [Fact]
    public void Slurm_inconsistent_or_incomplete_variables_are_one_line_errors()
    {
        // --array=1,2,7: COUNT 3, but MIN..MAX spans 7 ids.
        Assert.Contains("SLURM_ARRAY_TASK_COUNT=3, but the ids 1-7 make 7 tasks",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "7"), ("SLURM_ARRAY_TASK_COUNT", "3")), StringComparison.Ordinal);
        Assert.Contains("SLURM_ARRAY_TASK_MIN is not",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "4")), StringComparison.Ordinal);
        Assert.Contains("neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1")), StringComparison.Ordinal);
        Assert.Contains("SLURM_ARRAY_TASK_ID=9 is not one of the array's 4 task ids 1-4",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4")), StringComparison.Ordinal);
        Assert.Contains("SLURM_ARRAY_TASK_ID=4 is not one of the array's 4 task ids 3-9:2",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_MIN", "3"), ("SLURM_ARRAY_TASK_MAX", "9"), ("SLURM_ARRAY_TASK_STEP", "2")), StringComparison.Ordinal);
        Assert.Contains("are not one range",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "3"), ("SLURM_ARRAY_TASK_MAX", "8"), ("SLURM_ARRAY_TASK_STEP", "2")), StringComparison.Ordinal);
        Assert.Contains("SLURM_ARRAY_TASK_ID='x' is not a whole number",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4")), StringComparison.Ordinal);
        Assert.Contains("SLURM_ARRAY_TASK_STEP='0' is not a whole number of at least 1",
            AutoError(null, ("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4"), ("SLURM_ARRAY_TASK_STEP", "0")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", 4, null, 1, 4)]
    [InlineData("3", 4, null, 4, 4)]
    [InlineData("2", null, "8", 3, 8)]
    [InlineData("2", 8, "8", 3, 8)]
    public void Kubernetes_indexed_job_pods_map_to_shards(string index, int? option, string? env, int i, int n)
    {
        var vars = new List<(string, string)> { ("JOB_COMPLETION_INDEX", index) };
        if (env is not null) vars.Add((ShardSpec.CountVariable, env));
        var s = Auto(option, [.. vars]);
        Assert.Equal((i, n, ShardSource.Kubernetes), (s.Index, s.Count, s.Source));
        Assert.Equal("kubernetes", s.SourceName);
        Assert.Equal($"JOB_COMPLETION_INDEX={index} of {n}", s.Task);
    }

    [Fact]
    public void Kubernetes_inconsistent_or_incomplete_variables_are_one_line_errors()
    {
        Assert.Contains("give --shard-count N or set SEGLAB_SHARD_COUNT", AutoError(null, ("JOB_COMPLETION_INDEX", "0")), StringComparison.Ordinal);
        Assert.Contains("--shard-count 4 disagrees with SEGLAB_SHARD_COUNT=8", AutoError(4, ("JOB_COMPLETION_INDEX", "0"), ("SEGLAB_SHARD_COUNT", "8")), StringComparison.Ordinal);
        Assert.Contains("JOB_COMPLETION_INDEX=4 is outside 0..3", AutoError(4, ("JOB_COMPLETION_INDEX", "4")), StringComparison.Ordinal);
        Assert.Contains("SEGLAB_SHARD_COUNT='0'", AutoError(null, ("JOB_COMPLETION_INDEX", "0"), ("SEGLAB_SHARD_COUNT", "0")), StringComparison.Ordinal);
        Assert.Contains("--shard-count must be at least 1", AutoError(0, ("JOB_COMPLETION_INDEX", "0")), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_scheduler_or_with_both_auto_is_a_one_line_error()
    {
        Assert.Contains("no scheduler task found", AutoError(null), StringComparison.Ordinal);
        Assert.Contains("no scheduler task found", AutoError(4, ("SEGLAB_SHARD_COUNT", "4"), ("SLURM_ARRAY_TASK_ID", " ")), StringComparison.Ordinal);
        Assert.Contains("Slurm job 55 is not an array job", AutoError(null, ("SLURM_JOB_ID", "55")), StringComparison.Ordinal);
        Assert.Contains("both SLURM_ARRAY_TASK_ID (Slurm) and JOB_COMPLETION_INDEX (Kubernetes) are set",
            AutoError(4, ("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4"), ("JOB_COMPLETION_INDEX", "0")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_spec_reads_as_the_tuple_the_cli_used_before()
    {
        var s = ShardSpec.Parse("AUTO", null, Env(("JOB_COMPLETION_INDEX", "1"), ("SEGLAB_SHARD_COUNT", "3")));
        var (i, n) = s;
        (int Index, int Count) t = s;
        Assert.Equal((2, 3), (i, n));
        Assert.Equal((2, 3), t);
        Assert.Equal(1, s.Index0);
    }
}
