// Tests of MetricsJson: summary keys and NaN as null, state files that round-trip to the same summary and matrix,
// merged state files equal to the whole, and corrupt or mismatched files reported with the file and the problem.
using System.Text.Json;
using SegLab.Metrics;

namespace SegLab.Tests.Metrics;

public sealed class MetricsJsonTests : IDisposable
{
    private static readonly string[] Names = ["sky", "road", "car"];
    private readonly string _dir = Directory.CreateTempSubdirectory("seglab-metrics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Summary_HasCamelCaseKeysAndNullForNaN()
    {
        var acc = Sample(0, 4);
        var s = acc.Summarize();
        using var doc = JsonDocument.Parse(MetricsJson.SummaryToJson(s, Names));
        var root = doc.RootElement;
        Assert.Equal(s.MIoU, root.GetProperty("mIoU").GetDouble());
        Assert.Equal(s.ImageMIoU, root.GetProperty("imageMIoU").GetDouble());
        Assert.Equal(s.PixelAccuracy, root.GetProperty("pixelAccuracy").GetDouble());
        Assert.Equal(s.MeanClassAccuracy, root.GetProperty("meanClassAccuracy").GetDouble());
        Assert.Equal(4, root.GetProperty("images").GetInt32());
        Assert.Equal(s.PerClassIoU[1], root.GetProperty("perClassIoU").GetProperty("road").GetDouble());
        // "car" (class 2) never occurs in these maps: its IoU and accuracy are undefined.
        Assert.Equal(JsonValueKind.Null, root.GetProperty("perClassIoU").GetProperty("car").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("perClassAccuracy").GetProperty("car").ValueKind);
        Assert.Equal(3, root.GetProperty("smallObjects").GetProperty("componentBins").GetArrayLength());
        Assert.Throws<ArgumentException>(() => MetricsJson.SummaryToJson(s, ["a", "b"]));
        Assert.Throws<ArgumentException>(() => MetricsJson.SummaryToJson(s, ["a", "a", "b"]));
    }

    [Fact]
    public void State_RoundTripsAndShardsMergeToTheWhole()
    {
        var whole = Sample(0, 9);
        string a = Path.Combine(_dir, "a.json"), b = Path.Combine(_dir, "b.json"), all = Path.Combine(_dir, "all.json");
        MetricsJson.SaveState(a, Sample(0, 5), Names);
        MetricsJson.SaveState(b, Sample(5, 4), Names);
        MetricsJson.SaveState(all, whole, Names);
        Assert.Equal(3, Directory.GetFiles(_dir).Length);   // no temporary files left behind

        var options = new MetricOptions { ExcludedClasses = [0] };
        string expected = MetricsJson.SummaryToJson(whole.Summarize(options), Names);
        var loaded = MetricsJson.LoadState(all, Names);
        Assert.Equal(Names, loaded.ClassNames);
        Assert.Equal(expected, MetricsJson.SummaryToJson(loaded.Accumulator.Summarize(options), Names));
        Assert.Equal(whole.ConfusionMatrix(), loaded.Accumulator.ConfusionMatrix());
        var merged = MetricsJson.MergeStates([b, a]);
        Assert.Equal(expected, MetricsJson.SummaryToJson(merged.Accumulator.Summarize(options), Names));
        var dup = Assert.Throws<InvalidDataException>(() => MetricsJson.MergeStates([a, all]));
        Assert.Contains("all.json", dup.Message);
    }

    [Fact]
    public void WriteSummary_WritesTheSameText()
    {
        var s = Sample(0, 3).Summarize();
        string path = Path.Combine(_dir, "metrics.json");
        MetricsJson.WriteSummary(path, s, Names);
        Assert.Equal(MetricsJson.SummaryToJson(s, Names), File.ReadAllText(path));
    }

    [Theory]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 1, \"numClasses\": 3", "JSON")]
    [InlineData("{\"format\": \"other\"}", "not a metric state file")]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 2}", "version 2")]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 1, \"numClasses\": 3, \"classNames\": [\"a\", \"b\"], \"images\": [], \"smallObjects\": []}", "2 class names")]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 1, \"numClasses\": 2, \"classNames\": [\"a\", \"b\"], \"images\": [{\"id\": \"x\", \"tp\": [1, 2, 3], \"fp\": [0, 0, 0], \"fn\": [0, 0, 0]}], \"smallObjects\": []}", "3 classes")]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 1, \"numClasses\": 2, \"classNames\": [\"a\", \"b\"], \"images\": [{\"id\": \"x\", \"tp\": [1, -2], \"fp\": [0, 0], \"fn\": [0, 0]}], \"smallObjects\": []}", "negative")]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 1, \"numClasses\": 2, \"classNames\": [\"a\", \"b\"], \"images\": [{\"id\": \"x\", \"tp\": [1, 2], \"fp\": [0, 0], \"fn\": [0, 0], \"confusion\": [1, 1, 0, 2]}], \"smallObjects\": []}", "disagrees")]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 1, \"numClasses\": 2, \"classNames\": [\"a\", \"b\"], \"images\": [], \"smallObjects\": [{\"id\": \"q\", \"width\": 2, \"height\": 2, \"class\": [0], \"area\": [1], \"hits\": [1]}]}", "no image record")]
    [InlineData("{\"format\": \"seglab.metrics-state\", \"version\": 1, \"numClasses\": 2, \"classNames\": [\"a\", \"b\"], \"smallObjects\": []}", "has no \"images\"")]
    public void CorruptState_IsInvalidDataNamingFileAndProblem(string text, string problem)
    {
        string path = Path.Combine(_dir, "bad-state.json");
        File.WriteAllText(path, text);
        var e = Assert.Throws<InvalidDataException>(() => MetricsJson.LoadState(path));
        Assert.Contains("bad-state.json", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void MismatchedClasses_AreRejected()
    {
        string path = Path.Combine(_dir, "s.json");
        MetricsJson.SaveState(path, Sample(0, 2), Names);
        var e = Assert.Throws<InvalidDataException>(() => MetricsJson.LoadState(path, ["sky", "road"]));
        Assert.Contains("s.json", e.Message);
        Assert.Contains("differ", e.Message);
        Assert.Throws<FileNotFoundException>(() => MetricsJson.LoadState(Path.Combine(_dir, "missing.json")));
    }

    /// <summary>Images first..first+count-1 of a fixed random dataset of 2 used classes (of 3), with small-object records.</summary>
    private static MetricAccumulator Sample(int first, int count)
    {
        var acc = new MetricAccumulator(Names.Length);
        for (int i = first; i < first + count; i++)
        {
            var rng = new Random(100 + i);
            const int w = 16, h = 12;
            var gt = SmallObjectsTests.Blobby(rng, w, h, 2, ignore: 255);
            var pred = gt.Select(g => g == 255 || rng.Next(4) == 0 ? rng.Next(2) : g).ToArray();
            string id = $"im{i}";
            acc.Add(ImageConfusion.Compute(id, pred, gt, Names.Length, 255), SmallObjects.Analyze(id, pred, gt, w, h, Names.Length, 255));
        }
        return acc;
    }
}
