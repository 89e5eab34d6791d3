namespace SegLab.Tests.Data;

/// <summary>The shared folder is found exactly as documented: SEGLAB_SHARED, else ../shared beside the repository.</summary>
public sealed class SharedDataTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-shared-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private string Dir(params string[] parts) => Directory.CreateDirectory(Path.Combine([_tmp, .. parts])).FullName;

    [Fact]
    public void The_variable_wins_and_a_missing_folder_is_none()
    {
        string shared = Dir("elsewhere");
        Assert.Equal(shared, SharedData.Locate(shared, _tmp).Root);
        var none = SharedData.Locate(Path.Combine(_tmp, "missing"), _tmp);
        Assert.Null(none.Root);
        Assert.Contains("does not exist", none.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_variable_it_is_shared_beside_the_repository_of_the_binary()
    {
        string repo = Dir("work", "repo");
        File.WriteAllText(Path.Combine(repo, "SegLab.slnx"), "<Solution />");
        string bin = Dir("work", "repo", "artifacts", "bin", "release");
        Assert.Null(SharedData.Locate(null, bin).Root);
        string shared = Dir("work", "shared");
        var found = SharedData.Locate(null, bin);
        Assert.Equal(shared, found.Root);
        Assert.Contains(repo, found.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unrelated_shared_folder_above_a_binary_outside_a_repository_is_not_used()
    {
        Dir("home", "shared", "models");
        Dir("home", "shared", "data");
        string bin = Dir("home", "tools", "seglab");
        var r = SharedData.Locate(null, bin);
        Assert.Null(r.Root);
        Assert.Contains("not inside a SegLab repository", r.Explanation, StringComparison.Ordinal);
    }
}
