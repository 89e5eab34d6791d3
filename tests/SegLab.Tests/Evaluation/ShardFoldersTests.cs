using SegLab.Evaluation;

namespace SegLab.Tests.Evaluation;

/// <summary>seglab merge's folder arguments: folders as given, patterns expanded to the folders they match.</summary>
public sealed class ShardFoldersTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-glob-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private string Make(string relative)
    {
        string d = Path.Combine(_tmp, relative);
        Directory.CreateDirectory(d);
        return d;
    }

    [Fact]
    public void A_pattern_expands_to_its_folders_in_ordinal_order_and_skips_files_and_hidden_folders()
    {
        var dirs = new[] { "runs/sea-shard-2", "runs/sea-shard-10", "runs/sea-shard-1" }.Select(Make).ToList();
        Make("runs/other-1");
        Make("runs/.sea-shard-hidden");
        File.WriteAllText(Path.Combine(_tmp, "runs", "sea-shard-9.log"), "");
        var got = ShardFolders.Expand([Path.Combine(_tmp, "runs", "sea-shard-*")]);
        Assert.Equal(dirs.Order(StringComparer.Ordinal), got);
        Assert.Equal([dirs[2], dirs[0]], ShardFolders.Expand([Path.Combine(_tmp, "runs", "sea-shard-?")])); // not sea-shard-10
    }

    [Fact]
    public void Wildcards_work_in_any_segment_and_a_folder_named_twice_stays_twice_for_the_merge_to_refuse()
    {
        string a = Make("job-1/out"), b = Make("job-2/out");
        Make("job-3/log");
        var got = ShardFolders.Expand([Path.Combine(_tmp, "job-*", "out"), a]);
        Assert.Equal([a, b, a], got);
    }

    [Fact]
    public void A_pattern_matching_nothing_is_an_error_naming_it()
    {
        Make("runs/eval-1");
        string pattern = Path.Combine(_tmp, "runs", "sea-shard-*");
        var e = Assert.Throws<DirectoryNotFoundException>(() => ShardFolders.Expand([pattern]));
        Assert.Equal($"merge: '{pattern}' matches no folder.", e.Message);
    }

    [Fact]
    public void Shard_sets_report_missing_shards_and_refuse_repeats_and_mixed_counts()
    {
        Assert.Equal(["2/3"], ShardFolders.MissingShards([("a", "1/3"), ("c", "3/3")], "metrics.json"));
        Assert.Empty(ShardFolders.MissingShards([("a", null)], "metrics.json"));
        Assert.Contains("given twice", Assert.Throws<InvalidDataException>(() => ShardFolders.MissingShards([("a", "1/2"), ("b", "1/2")], "metrics.json")).Message, StringComparison.Ordinal);
        Assert.Contains("different counts", Assert.Throws<InvalidDataException>(() => ShardFolders.MissingShards([("a", "1/2"), ("b", "2/3")], "metrics.json")).Message, StringComparison.Ordinal);
        Assert.Contains("whole-split run", Assert.Throws<InvalidDataException>(() => ShardFolders.MissingShards([("a", "1/2"), ("b", null)], "metrics.json")).Message, StringComparison.Ordinal);
        Assert.Contains("invalid shard '7/2'", Assert.Throws<InvalidDataException>(() => ShardFolders.MissingShards([("a", "7/2")], "robustness.json")).Message, StringComparison.Ordinal);
    }
}
