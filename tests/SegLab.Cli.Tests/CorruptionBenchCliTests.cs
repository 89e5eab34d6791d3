// `seglab bench corruptions` on a tiny size: one JSON record per corruption and severity, the grid PNG of the right
// size, and one-line errors for an unknown corruption, a tiny thumbnail width and no repeats.
using System.Text.Json;

namespace SegLab.Cli.Tests;

public sealed class CorruptionBenchCliTests
{
    [Fact]
    public void Bench_corruptions_times_each_severity_and_writes_the_grid()
    {
        var dir = Path.Combine(Path.GetTempPath(), "seglab-corruption-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var grid = Path.Combine(dir, "grid.png");
            var r = CliTests.Run("bench", "corruptions", "--size", "24x32", "--corruptions", "contrast,fog", "--repeats", "1", "--grid", grid, "--thumb-width", "16", "--json");
            Assert.Equal(0, r.Code);
            using var doc = JsonDocument.Parse(r.Out);
            var records = doc.RootElement.GetProperty("records").EnumerateArray().ToArray();
            Assert.Equal(10, records.Length);
            Assert.Equal(new[] { "contrast", "fog" }, records.Select(x => x.GetProperty("corruption").GetString()!).Distinct().ToArray());
            Assert.Equal(new[] { 1, 2, 3, 4, 5, 1, 2, 3, 4, 5 }, records.Select(x => x.GetProperty("severity").GetInt32()).ToArray());
            Assert.Equal("24x32", doc.RootElement.GetProperty("size").GetString());
            var png = SegLab.Imaging.ImageIO.Load(grid);
            Assert.Equal(6 * 16 + 7 * 2, png.Width);
            Assert.Equal(2 * 12 + 3 * 2, png.Height);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Bad_corruption_bench_options_give_one_line_errors()
    {
        var r = CliTests.Run("bench", "corruptions", "--corruptions", "snow", "--size", "24x32");
        Assert.Equal(2, r.Code);
        Assert.StartsWith("error: --corruptions: unknown corruption 'snow'; valid: gaussian_noise", r.Err, StringComparison.Ordinal);
        var t = CliTests.Run("bench", "corruptions", "--thumb-width", "4", "--size", "24x32");
        Assert.Equal(2, t.Code);
        Assert.StartsWith("error: --thumb-width must be at least 8, got 4.", t.Err, StringComparison.Ordinal);
        var k = CliTests.Run("bench", "corruptions", "--repeats", "0", "--size", "24x32");
        Assert.Equal(2, k.Code);
        Assert.StartsWith("error: --repeats must be at least 1, got 0.", k.Err, StringComparison.Ordinal);
    }
}
