using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Testing;

namespace SegLab.Cli.Tests;

public class CliTests
{
    internal static (int Code, string Console, string Out, string Err) Run(params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cli.Run(args, console, stdout, stderr);
        return (code, console.Output, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Version_prints_the_assembly_version()
    {
        var r = Run("--version");
        Assert.Equal(0, r.Code);
        Assert.Equal("0.1.0", r.Out.Trim());
    }

    [Fact]
    public void Info_json_has_the_engine_configuration()
    {
        var r = Run("info", "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Contains(root.GetProperty("blasProvider").GetString(), new[] { "managed", "openblas" });
        Assert.True(root.GetProperty("threads").GetInt32() >= 1);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("blasConfiguration").GetString()));
    }

    [Fact]
    public void Info_table_names_the_provider()
    {
        var r = Run("info");
        Assert.Equal(0, r.Code);
        Assert.Contains("BLAS", r.Console, StringComparison.Ordinal);
        Assert.Contains("SIMD", r.Console, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_gemm_json_gives_one_record_per_provider()
    {
        var r = Run("bench", "gemm", "--sizes", "64", "--threads", "1", "--json");
        Assert.Equal(0, r.Code);
        Assert.Equal("", r.Console);
        using var doc = JsonDocument.Parse(r.Out);
        var records = doc.RootElement.EnumerateArray().ToList();
        var expected = SegLab.Engine.Linalg.Gemm.OpenBlas is null ? new[] { "managed" } : new[] { "managed", "openblas" };
        Assert.Equal(expected, records.Select(x => x.GetProperty("provider").GetString()).Order(StringComparer.Ordinal));
        Assert.All(records, x =>
        {
            Assert.Equal(64, x.GetProperty("size").GetInt32());
            Assert.Equal(1, x.GetProperty("threads").GetInt32());
            Assert.True(x.GetProperty("gflops").GetDouble() > 0);
            Assert.True(x.GetProperty("medianMs").GetDouble() > 0);
        });
    }

    [Fact]
    public void Bench_gemm_times_every_size_and_thread_count_and_restores_the_thread_setting()
    {
        int before = SegLab.Engine.Threading.Parallelism.Threads;
        var r = Run("bench", "gemm", "--sizes", "32,48", "--threads", "1,2", "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var records = doc.RootElement.EnumerateArray().ToList();
        int providers = SegLab.Engine.Linalg.Gemm.OpenBlas is null ? 1 : 2;
        Assert.Equal(providers * 4, records.Count);
        Assert.Contains(records, x => x.GetProperty("size").GetInt32() == 48 && x.GetProperty("threads").GetInt32() == 2);
        Assert.Equal(before, SegLab.Engine.Threading.Parallelism.Threads);
    }

    [Fact]
    public void Bench_gemm_table_shows_the_providers()
    {
        var r = Run("bench", "gemm", "--sizes", "32", "--threads", "1");
        Assert.Equal(0, r.Code);
        Assert.Contains("GFLOP/s", r.Console, StringComparison.Ordinal);
        Assert.Contains("managed", r.Console, StringComparison.Ordinal);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void Bench_elementwise_reports_throughput_per_kernel()
    {
        var r = Run("bench", "elementwise", "--elements", "100000", "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var kernels = doc.RootElement.EnumerateArray().Select(x => x.GetProperty("kernel").GetString()).ToArray();
        Assert.Equal(new[] { "add", "mul", "exp", "sigmoid", "relu" }, kernels);
        Assert.All(doc.RootElement.EnumerateArray(), x => Assert.True(x.GetProperty("gbps").GetDouble() > 0));
    }

    [Fact]
    public void Bench_images_times_both_codecs_side_by_side_and_checks_they_agree()
    {
        var dir = Directory.CreateTempSubdirectory("seglab-bench-images-").FullName;
        try
        {
            var rgb = new SegLab.Imaging.Image(12, 8, 3, [.. Enumerable.Range(0, 288).Select(i => (byte)(i * 7))]);
            var palette = new SegLab.Imaging.Image(6, 4, 1, [.. Enumerable.Range(0, 24).Select(i => (byte)(i % 3))], palette: [10, 20, 30, 40, 50, 60, 70, 80, 90]);
            SegLab.Imaging.Png.Save(Path.Combine(dir, "a.png"), rgb);
            SegLab.Imaging.Png.Save(Path.Combine(dir, "b.png"), palette);
            SegLab.Imaging.Jpeg.Save(Path.Combine(dir, "c.jpg"), rgb);
            SegLab.Imaging.Webp.Save(Path.Combine(dir, "d.webp"), rgb);
            File.WriteAllText(Path.Combine(dir, "notes.txt"), "not an image");
            var r = Run("bench", "images", "--data", dir, "--limit", "0", "--repeats", "1", "--json");
            Assert.Equal(0, r.Code);
            using var doc = JsonDocument.Parse(r.Out);
            var records = doc.RootElement.GetProperty("records").EnumerateArray().ToDictionary(x => x.GetProperty("codec").GetString()!);
            Assert.Equal(new[] { "imageio", "own", "skiasharp" }, records.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(2, records["own"].GetProperty("images").GetInt32()); // the PNGs
            Assert.Equal(4, records["skiasharp"].GetProperty("images").GetInt32());
            Assert.All(records.Values, x => Assert.True(x.GetProperty("medianMs").GetDouble() > 0));
            Assert.Equal(2, doc.RootElement.GetProperty("compared").GetInt32());
            Assert.Equal(2, doc.RootElement.GetProperty("identical").GetInt32()); // the palette PNG compared by its colours
            Assert.Equal(2, doc.RootElement.GetProperty("formats").GetProperty("Png").GetInt32());

            var bad = Run("bench", "images", "--data", dir, "--repeats", "0");
            Assert.Equal(2, bad.Code);
            Assert.Contains("--repeats", bad.Err);
            var missing = Run("bench", "images", "--data", Path.Combine(dir, "nope"));
            Assert.Equal(1, missing.Code);
            Assert.Contains("nope", missing.Err);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Global_threads_option_sets_the_engine_threads()
    {
        int before = SegLab.Engine.Threading.Parallelism.Threads;
        try
        {
            var r = Run("--threads", "1", "info", "--json");
            Assert.Equal(0, r.Code);
            using var doc = JsonDocument.Parse(r.Out);
            Assert.Equal(1, doc.RootElement.GetProperty("threads").GetInt32());
        }
        finally
        {
            SegLab.Engine.Threading.Parallelism.SetThreads(before);
        }
    }

    [Fact]
    public void Bad_values_give_a_one_line_error_and_exit_code_2()
    {
        var r = Run("bench", "gemm", "--sizes", "12,abc");
        Assert.Equal(2, r.Code);
        Assert.StartsWith("error: --sizes: 'abc'", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_verbs_and_options_fail()
    {
        var verb = Run("frobnicate");
        Assert.NotEqual(0, verb.Code);
        Assert.Contains("frobnicate", verb.Err, StringComparison.Ordinal);
        Assert.NotEqual(0, Run("info", "--nope").Code);
        Assert.NotEqual(0, Run("demo", "engine", "--steps", "many").Code);
    }

    [Fact]
    public void Zero_threads_is_an_error_not_a_crash()
    {
        var r = Run("--threads", "0", "info");
        Assert.Equal(2, r.Code);
        Assert.StartsWith("error: --threads must be at least 1", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_engine_runs_the_engine_demo_and_says_so()
    {
        var r = Run("demo", "engine", "--steps", "20");
        Assert.Equal(0, r.Code);
        Assert.Contains("engine demo", r.Console, StringComparison.Ordinal);
        Assert.Contains("final loss", r.Console, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_model_json_has_the_timings()
    {
        var r = Run("bench", "model", "--model", "espnet-camvid", "--size", "64x96", "--repeats", "1", "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("forwardMs").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("inputGradMs").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("peakMemoryMB").GetDouble() > 0);
        var bad = Run("bench", "model", "--model", "espnet-camvid", "--size", "64by96");
        Assert.Equal(2, bad.Code);
        Assert.Contains("--size", bad.Err, StringComparison.Ordinal);
        Assert.Equal(2, Run("bench", "model", "--model", "nonet").Code);
    }

    [Fact]
    public void Bench_model_profile_lists_the_backward_operations()
    {
        var r = Run("bench", "model", "--model", "cgnet-camvid", "--size", "32x48", "--repeats", "1", "--profile");
        Assert.Equal(0, r.Code);
        // CGNet's backward runs its fused batch norm + PReLU, 1x1 and depthwise convolutions and the cross-entropy.
        foreach (var op in new[] { "batch_norm_prelu", "conv2d (1x1)", "conv2d (depthwise)", "cross_entropy", "total" })
            Assert.Contains(op, r.Console, StringComparison.Ordinal);
    }
}
