// seglab bench crf | random-walk: the weak-supervision refinement steps' speed (issue 19), see RefineBench.
using System.CommandLine;
using System.Text.Json;
using SegLab.Cli.Bench;
using Spectre.Console;

namespace SegLab.Cli;

internal static class RefineBenchCommand
{
    public static Command Crf(CliIO io)
    {
        var size = new Option<string>("--size") { Description = "Image size HEIGHTxWIDTH.", DefaultValueFactory = _ => "360x480" };
        var labels = new Option<int>("--labels") { Description = "CRF labels (background + tagged classes).", DefaultValueFactory = _ => 12 };
        var preset = new Option<string>("--preset") { Description = "psa (bilateral sxy 80, srgb 13) or irn (sxy 50, srgb 5); both 10 iterations.", DefaultValueFactory = _ => "psa" };
        var threads = new Option<string>("--thread-counts") { Description = "Engine thread counts to time, comma-separated.", DefaultValueFactory = _ => "1,2" };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per thread count (after one warm-up).", DefaultValueFactory = _ => 5 };
        var image = new Option<string?>("--image") { Description = "Image file (default: the first CamVid train image of the shared data, else a synthetic image), resized to --size." };
        var json = new Option<bool>("--json") { Description = "Print JSON records." };
        var cmd = new Command("crf", "Dense CRF mean field (10 iterations) per image: wall and CPU time medians, peak memory.") { size, labels, preset, threads, repeats, image, json };
        cmd.SetAction(r =>
        {
            var (h, w) = BenchCommand.ParseSize(r.GetValue(size)!);
            var records = RefineBench.Crf(r.GetValue(preset)!.ToLowerInvariant(), h, w, r.GetValue(labels), BenchCommand.ParseList(r.GetValue(threads)!, "--thread-counts"), r.GetValue(repeats), r.GetValue(image));
            return Print(io, records, r.GetValue(json));
        });
        return cmd;
    }

    public static Command RandomWalk(CliIO io)
    {
        var size = new Option<string>("--size") { Description = "Feature grid HEIGHTxWIDTH (90x120: IRN's stride 4 on 360x480; 45x60: PSA's stride 8).", DefaultValueFactory = _ => "90x120" };
        var labels = new Option<int>("--labels") { Description = "Walked channels (background + classes).", DefaultValueFactory = _ => 12 };
        var features = new Option<int>("--features") { Description = "Feature channels for the cosine affinities.", DefaultValueFactory = _ => 64 };
        var logt = new Option<int>("--logt") { Description = "log2 of the steps.", DefaultValueFactory = _ => 8 };
        var threads = new Option<string>("--thread-counts") { Description = "Engine thread counts to time, comma-separated.", DefaultValueFactory = _ => "1,2" };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per thread count (after one warm-up).", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print JSON records." };
        var cmd = new Command("random-walk", "Random walk over radius-5 affinities per image: wall and CPU time medians, peak memory.") { size, labels, features, logt, threads, repeats, json };
        cmd.SetAction(r =>
        {
            var (h, w) = ParseGrid(r.GetValue(size)!);
            var records = RefineBench.RandomWalk(h, w, r.GetValue(labels), r.GetValue(features), r.GetValue(logt), BenchCommand.ParseList(r.GetValue(threads)!, "--thread-counts"), r.GetValue(repeats));
            return Print(io, records, r.GetValue(json));
        });
        return cmd;
    }

    private static (int H, int W) ParseGrid(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out int h) || !int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out int w) || h < 2 || w < 2)
            throw new ArgumentException($"--size: '{text}' is not HxW with both at least 2 (e.g. 90x120).");
        return (h, w);
    }

    private static int Print(CliIO io, IReadOnlyList<RefineRecord> records, bool json)
    {
        if (json)
        {
            io.Out.WriteLine(JsonSerializer.Serialize(records, JsonOptions.Indented));
            return 0;
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded).AddColumns("kind", "size", "labels", "threads", "wall ms", "CPU ms", "parts", "peak memory MB");
        foreach (var x in records)
            table.AddRow(x.Kind, x.Size, x.Labels.ToString(inv), x.Threads.ToString(inv), x.WallMs.ToString("F1", inv), x.CpuMs.ToString("F1", inv), Markup.Escape(x.Parts), x.PeakMemoryMB.ToString("F0", inv));
        io.Console.Write(table);
        io.Console.MarkupLine($"[grey]{Markup.Escape(records[0].Input)}; medians of {records[0].Repeats}; CPU = processor time of the process; peak = process working set so far.[/]");
        return 0;
    }
}
