// `seglab bench crf` and `seglab bench random-walk` on tiny sizes: JSON records per thread count, the thread count
// restored afterwards, and one-line usage errors.
using System.Text.Json;

namespace SegLab.Cli.Tests;

public sealed class RefineBenchCliTests
{
    [Fact]
    public void Bench_crf_and_random_walk_report_one_record_per_thread_count()
    {
        int before = SegLab.Engine.Threading.Parallelism.Threads;
        var crf = CliTests.Run("bench", "crf", "--size", "24x32", "--labels", "3", "--thread-counts", "1,2", "--repeats", "1", "--json");
        Assert.Equal(0, crf.Code);
        using (var doc = JsonDocument.Parse(crf.Out))
        {
            Assert.Equal(new[] { 1, 2 }, doc.RootElement.EnumerateArray().Select(x => x.GetProperty("threads").GetInt32()).ToArray());
            Assert.All(doc.RootElement.EnumerateArray(), x => Assert.Equal("crf-psa", x.GetProperty("kind").GetString()));
        }
        var rw = CliTests.Run("bench", "random-walk", "--size", "12x16", "--labels", "2", "--logt", "3", "--thread-counts", "1", "--repeats", "1", "--json");
        Assert.Equal(0, rw.Code);
        using (var doc = JsonDocument.Parse(rw.Out))
            Assert.Equal("12x16", doc.RootElement[0].GetProperty("size").GetString());
        Assert.Equal(before, SegLab.Engine.Threading.Parallelism.Threads);
    }

    [Fact]
    public void Bad_refinement_bench_options_give_one_line_errors()
    {
        var r = CliTests.Run("bench", "crf", "--preset", "dense");
        Assert.Equal(2, r.Code);
        Assert.StartsWith("error: --preset 'dense'", r.Err, StringComparison.Ordinal);
        var g = CliTests.Run("bench", "random-walk", "--size", "1x5");
        Assert.Equal(2, g.Code);
        Assert.StartsWith("error: --size: '1x5'", g.Err, StringComparison.Ordinal);
    }
}
