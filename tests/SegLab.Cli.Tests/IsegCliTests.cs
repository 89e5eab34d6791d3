// seglab iseg on the example file (samples/iseg, tools/make_iseg_example.py) and on the official-code reference
// (tools/iseg_reference.py): outputs, scores, the refined maps against the official ones, sweep, resume, shards and
// merge, and usage errors (gamma on a source without class tokens, a bad sweep, a file missing a tensor).
using System.Text.Json;
using SegLab.Engine.Serialization;

namespace SegLab.Cli.Tests;

public sealed class IsegCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-isegcli-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Example => Path.Combine(SegLab.Demo.Samples.Root(), "iseg", "example.safetensors");

    // the fixture lives beside the library tests, in the source tree (not copied to the output folder)
    private static string Reference => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Here())!, "..", "SegLab.Tests", "Fixtures", "iseg", "iseg_reference.safetensors"));

    private static string Here([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    private static JsonElement Summary(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "iseg.json"))).RootElement;

    private static double MainMIoU(JsonElement s, string method) =>
        s.GetProperty("main").EnumerateArray().First(r => r.GetProperty("method").GetString() == method).GetProperty("mIoU").GetDouble();

    [Fact]
    public void Example_file_gives_maps_masks_scores_and_a_report_with_every_iteration()
    {
        string dir = Path.Combine(_tmp, "ex");
        var r = CliTests.Run("iseg", "--source", "file", "--attention", Example, "--iterations", "4", "--out", dir);
        Assert.True(r.Code == 0, r.Err);
        var maps = SafeTensors.Load(Path.Combine(dir, "refined.safetensors")).ToTensors()["maps"];
        Assert.Equal([3, 10, 10], maps.ShapeArray());
        Assert.All(maps.ToArray(), v => Assert.True(v >= 0));
        Assert.True(File.Exists(Path.Combine(dir, "masks", "example.png")));
        var s = Summary(dir);
        Assert.Equal(1, s.GetProperty("scored").GetInt32());
        Assert.Equal(["background", "disk", "square"], s.GetProperty("classes").EnumerateArray().Select(e => e.GetString()!).ToArray());
        double a0 = MainMIoU(s, "A0 alone"), iseg = MainMIoU(s, "iSeg");
        Assert.InRange(a0, 1, 100);
        Assert.True(iseg > a0, $"on the example iSeg ({iseg:F2}) should beat A0 alone ({a0:F2})");
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        Assert.Contains("Masks at each iteration", html, StringComparison.Ordinal);
        for (int k = 1; k <= 4; k++) Assert.Contains($"K = {k}", html, StringComparison.Ordinal);
        Assert.DoesNotContain("K = 5", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public void Refined_maps_match_the_official_code(int k)
    {
        string dir = Path.Combine(_tmp, $"ref{k}");
        var r = CliTests.Run("iseg", "--source", "file", "--attention", Reference, "--heads", "1,2", "--iterations", k.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", dir);
        Assert.True(r.Code == 0, r.Err);
        var maps = SafeTensors.Load(Path.Combine(dir, "refined.safetensors")).ToTensors()["maps"];
        var expected = SafeTensors.Load(Reference).ToTensors()[$"official_k{k}"];
        Assert.Equal(expected.ShapeArray(), maps.ShapeArray());
        var a = maps.ToArray();
        var e = expected.ToArray();
        int c = expected.Size(0), plane = e.Length / c;
        for (int j = 0; j < c; j++)
        {
            double scale = e.Skip(j * plane).Take(plane).Max(Math.Abs);
            for (int i = 0; i < plane; i++) Assert.True(Math.Abs(a[j * plane + i] - e[j * plane + i]) <= 1e-5 * scale, $"K = {k}, class {j}, token {i}: {a[j * plane + i]} vs {e[j * plane + i]}");
        }
        Assert.Equal(0, Summary(dir).GetProperty("scored").GetInt32()); // the reference has no labels: nothing scored
    }

    [Fact]
    public void Sweep_tabulates_every_lambda_and_K_and_the_K_row_equals_the_plain_run()
    {
        string sweep = Path.Combine(_tmp, "sweep"), plain = Path.Combine(_tmp, "plain");
        var r = CliTests.Run("iseg", "--source", "file", "--attention", Example, "--sweep", "lambda=0,0.1;iterations=1,2", "--iterations", "3", "--show", "0", "--out", sweep);
        Assert.True(r.Code == 0, r.Err);
        var rows = Summary(sweep).GetProperty("sweep").EnumerateArray().ToList();
        // lambdas 0.015 (primary), 0, 0.1 x K 1, 2, 3
        Assert.Equal(9, rows.Count);
        var p = CliTests.Run("iseg", "--source", "file", "--attention", Example, "--lambda", "0.1", "--iterations", "2", "--show", "0", "--out", plain);
        Assert.True(p.Code == 0, p.Err);
        double swept = rows.First(x => x.GetProperty("lambda").GetDouble() == 0.1 && x.GetProperty("iterations").GetInt32() == 2).GetProperty("mIoU").GetDouble();
        Assert.Equal(MainMIoU(Summary(plain), "iSeg"), swept, 9);
        Assert.Equal(4, Summary(sweep).GetProperty("curveMIoU").EnumerateObject().First().Value.GetArrayLength()); // K = 0..3
    }

    [Fact]
    public void Resume_skips_done_items_and_shards_merge_to_the_whole_run()
    {
        string files = Path.Combine(_tmp, "files");
        Directory.CreateDirectory(files);
        File.Copy(Example, Path.Combine(files, "a.safetensors"));
        File.Copy(Example, Path.Combine(files, "b.safetensors"));
        string whole = Path.Combine(_tmp, "whole"), s1 = Path.Combine(_tmp, "s1"), s2 = Path.Combine(_tmp, "s2"), merged = Path.Combine(_tmp, "merged");
        Assert.Equal(0, CliTests.Run("iseg", "--source", "file", "--attention", files, "--show", "0", "--out", whole).Code);
        var again = CliTests.Run("iseg", "--source", "file", "--attention", files, "--show", "0", "--resume", "--out", whole);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(2, Summary(whole).GetProperty("skipped").GetInt32());
        Assert.Equal(0, CliTests.Run("iseg", "--source", "file", "--attention", files, "--shard", "1/2", "--out", s1).Code);
        Assert.Equal(0, CliTests.Run("iseg", "--source", "file", "--attention", files, "--shard", "2/2", "--out", s2).Code);
        Assert.Equal(1, Summary(s1).GetProperty("items").GetInt32());
        var m = CliTests.Run("iseg", "merge", s1, s2, "--out", merged);
        Assert.True(m.Code == 0, m.Err);
        Assert.Equal(2, Summary(merged).GetProperty("items").GetInt32());
        Assert.Equal(MainMIoU(Summary(whole), "iSeg"), MainMIoU(Summary(merged), "iSeg"), 9);
        Assert.True(File.Exists(Path.Combine(merged, "report.html")));
    }

    [Theory]
    [InlineData("--gamma", "1.6", "vit only")]
    [InlineData("--sweep", "lambda=0;depth=3", "unknown key 'depth'")]
    [InlineData("--sweep", "gamma=1,1.6", "vit only")]
    [InlineData("--heads", "x", "--heads")]
    public void Usage_errors_are_one_line_with_exit_2(string option, string value, string expected)
    {
        var r = CliTests.Run("iseg", "--source", "file", "--attention", Example, option, value, "--out", Path.Combine(_tmp, "bad"));
        Assert.Equal(2, r.Code);
        Assert.Contains(expected, r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void Bench_iseg_gives_one_record_per_size_and_thread_count_with_the_stated_memory()
    {
        var r = CliTests.Run("bench", "iseg", "--tokens", "64,128", "--thread-counts", "1", "--repeats", "1", "--json");
        Assert.True(r.Code == 0, r.Err);
        var records = JsonDocument.Parse(r.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal([64, 128], records.Select(x => x.GetProperty("tokens").GetInt32()));
        Assert.All(records, x => Assert.True(x.GetProperty("iterationsCpuMs").GetDouble() >= 0));
        Assert.Equal(4.0 * (128 * 128 + 2 * 128 * 21) / 1048576, records[1].GetProperty("heldMB").GetDouble(), 9);
    }

    [Fact]
    public void A_file_missing_a_tensor_is_named_in_one_line()
    {
        string path = Path.Combine(_tmp, "partial.safetensors");
        SafeTensors.Save(path, [new("self_attention", SegLab.Engine.Tensor.Zeros(4, 4))]);
        var r = CliTests.Run("iseg", "--source", "file", "--attention", path, "--out", Path.Combine(_tmp, "bad2"));
        Assert.Equal(2, r.Code);
        Assert.Contains("'cross_attention'", r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.Trim().Split('\n'));
    }
}
