// seglab iseg: training-free masks by iSeg's iterative attention refinement (issue 20, PAPERS.md D) over an attention
// source (an exported file, or a CNN's affinities with CAMs or coarse logits), scored where there is ground truth;
// sweeps, shards, resume; and seglab iseg merge for the shards. Writes OUTDIR/iseg.json, OUTDIR/report.html,
// OUTDIR/items/ID.{json,safetensors}, OUTDIR/masks/ID.png and, for a single item, OUTDIR/refined.safetensors.
using System.CommandLine;
using System.Globalization;
using SegLab.Data;
using SegLab.TrainingFree;
using SegLab.Weak;
using Spectre.Console;

namespace SegLab.Cli;

internal static class IsegCommand
{
    public static Command Create(CliIO io)
    {
        var source = new Option<string>("--source") { Description = "Attention source: file (exported tensors, --attention), cnn (feature affinities of --features, A0 from --a0, over --data) or vit (a class-token ViT of `seglab weak train-vit`, --vit RUN, over the crops of --data).", Required = true };
        var attention = new Option<string?>("--attention") { Description = "--source file: a safetensors file (self_attention, cross_attention, grid; docs/iseg.md) or a folder of them." };
        var heads = new Option<string?>("--heads") { Description = "--source file: heads of a [heads, N, N] self_attention to average, 0-based, comma-separated (the official code: 1,2); default all." };
        var data = new Option<string?>("--data") { Description = "--source cnn: dataset folder (CamVid, VOC or a folder with classes.json)." };
        var split = new Option<string>("--split") { Description = "Split.", DefaultValueFactory = _ => "train" };
        var layout = new Option<string>("--layout") { Description = "Dataset layout: auto, camvid, voc, folder.", DefaultValueFactory = _ => "auto" };
        var classes = new Option<string?>("--classes") { Description = "Class table: camvid, voc, or a classes.json file." };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N items." };
        var features = new Option<string>("--features") { Description = "--source cnn: the feature map for S: resnet18-imagenet[:layer1..layer4] or classifier:RUN.", DefaultValueFactory = _ => CnnSources.DefaultFeatures };
        var a0 = new Option<string?>("--a0") { Description = "--source cnn: initial maps A0: cams:DIR (seglab weak cam output), classifier:RUN (CAMs at scale 1), model:NAME (a segmentation model's softmax)." };
        var power = new Option<double>("--affinity-power") { Description = "--source cnn: S = max(0, cos)^POWER (1: none; higher sharpens).", DefaultValueFactory = _ => 1 };
        var temperature = new Option<double?>("--affinity-temperature") { Description = "--source cnn: S = softmax over keys of cos / T (attention-like rows) instead of the clamped cosine power." };
        var lambda = new Option<double>("--lambda") { Description = "Entropy step lambda (official code, VOC: 0.015).", DefaultValueFactory = _ => 0.015 };
        var iterations = new Option<int>("--iterations") { Description = "Propagation steps K (WSSS: 10).", DefaultValueFactory = _ => 10 };
        var vit = new Option<string?>("--vit") { Description = "--source vit: the run folder of `seglab weak train-vit`." };
        var vitLayers = new Option<int>("--vit-layers") { Description = "--source vit: attention averaged over this many last blocks (and all heads).", DefaultValueFactory = _ => 2 };
        var gamma = new Option<double?>("--gamma") { Description = "Cat-Cross factor on the class tokens (1.6 in the paper): only for a source with class tokens (vit); an error for file and cnn." };
        var noEntropy = new Option<bool>("--no-entropy") { Description = "The base method: one product S A0 with the raw self-attention (no Ent-Self, no iteration)." };
        var log = new Option<string>("--log") { Description = "Logarithm of the entropy step: log10 (the official code) or ln (the paper's derivation).", DefaultValueFactory = _ => "log10" };
        var norm = new Option<string>("--normalisation") { Description = "Scaling of S before the entropy step: column (max over queries, the code), row, none.", DefaultValueFactory = _ => "column" };
        var background = new Option<string>("--background") { Description = "Background of the masks: auto (pow:2 where the classes have a background class or for files, else none), none (argmax over the present classes), pow:ALPHA ((1 - max)^ALPHA, iSeg: 2) or a constant threshold.", DefaultValueFactory = _ => "auto" };
        var sweep = new Option<string?>("--sweep") { Description = "Grid to run and tabulate: 'lambda=0,0.015,0.05;iterations=1,3,10' (keys lambda, iterations, gamma; ';' between keys, ',' between values)." };
        var shard = EvalCommand.ShardOption("Run shard i of n (i/n, 1-based) for seglab iseg merge, or auto: the task of a Slurm job array or Kubernetes Indexed Job (docs/scale.md).");
        var shardCount = EvalCommand.ShardCountOption();
        var resume = new Option<bool>("--resume") { Description = "Skip items whose results are in --out already." };
        var show = new Option<int>("--show") { Description = "Items whose masks at each iteration are shown in the report.", DefaultValueFactory = _ => 4 };
        var output = new Option<string>("--out") { Description = "Output folder.", Required = true };
        var cmd = new Command("iseg", "Training-free masks by iSeg: entropy-reduced self-attention refining initial class maps, iterated (PAPERS.md D); scores, sweep, report.")
        {
            source, attention, heads, data, split, layout, classes, limit, features, a0, power, temperature, lambda, iterations, gamma, vit, vitLayers, noEntropy, log, norm, background, sweep, shard, shardCount, resume, show, output,
        };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string kind = r.GetValue(source)!.ToLowerInvariant();
            if (kind is not ("file" or "cnn" or "vit")) throw new ArgumentException($"--source: '{r.GetValue(source)}' is not file, cnn or vit.");
            if (r.GetValue(limit) is < 1) throw new ArgumentException($"--limit must be at least 1, got {r.GetValue(limit)}.");
            if (kind != "vit" && r.GetValue(gamma) is not null) throw new ArgumentException($"--gamma: Cat-Cross scales class tokens before the attention is computed, so it applies to --source vit only, not to --source {kind}.");
            var (sweepLambdas, sweepIterations, sweepGammas) = ParseSweep(r.GetValue(sweep));
            if (kind != "vit" && sweepGammas is not null) throw new ArgumentException($"--sweep gamma: Cat-Cross applies to --source vit only, not to --source {kind}.");
            var shardSpec = EvalCommand.Shard(r, shard, shardCount) is { } st ? ((int Index, int Count)?)st : null;
            var refinement = new RefinementOptions
            {
                Lambda = r.GetValue(lambda), Iterations = r.GetValue(iterations), EntSelf = !r.GetValue(noEntropy),
                Log = r.GetValue(log)!.ToLowerInvariant() switch { "log10" => EntropyLog.Log10, "ln" => EntropyLog.Ln, var v => throw new ArgumentException($"--log: '{v}' is not log10 or ln.") },
                Normalisation = r.GetValue(norm)!.ToLowerInvariant() switch
                {
                    "column" => AttentionNormalisation.ColumnMax, "row" => AttentionNormalisation.RowMax, "none" => AttentionNormalisation.None,
                    var v => throw new ArgumentException($"--normalisation: '{v}' is not column, row or none."),
                },
            };
            try { refinement.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException("--lambda/--iterations: " + e.Message, e); }
            if (r.GetValue(show) < 0) throw new ArgumentException($"--show must be at least 0, got {r.GetValue(show)}.");

            if (kind != "vit" && r.GetValue(vit) is not null) throw new ArgumentException($"--vit names a ViT run for --source vit, not for --source {kind}.");
            IAttentionSource src;
            if (kind == "vit")
            {
                string run = r.GetValue(vit) ?? throw new ArgumentException("--source vit needs --vit RUN (a `seglab weak train-vit` run folder).");
                if (r.GetValue(attention) is not null || r.GetValue(heads) is not null || r.GetValue(a0) is not null)
                    throw new ArgumentException("--source vit takes --vit and --data, not --attention, --heads or --a0 (S and A0 are the ViT's attention).");
                string dir = r.GetValue(data) ?? throw new ArgumentException("--source vit needs --data DIR (the images whose crops are refined).");
                var (vitModel, vitClasses) = VitTrainer.Load(run);
                ISegmentationDataset ds = Datasets.Open(dir, r.GetValue(split)!, r.GetValue(layout)!, r.GetValue(classes));
                if (r.GetValue(limit) is int n) ds = Datasets.Limit(ds, n);
                src = new VitAttentionSource(vitModel, vitClasses, ds, r.GetValue(vitLayers), run);
            }
            else if (kind == "file")
            {
                string file = r.GetValue(attention) ?? throw new ArgumentException("--source file needs --attention FILE (or a folder of files).");
                if (r.GetValue(data) is not null || r.GetValue(a0) is not null) throw new ArgumentException("--source file takes --attention, not --data or --a0.");
                src = new FileAttentionSource(file, ParseHeads(r.GetValue(heads)));
            }
            else
            {
                if (r.GetValue(attention) is not null || r.GetValue(heads) is not null) throw new ArgumentException("--source cnn takes --data, --features and --a0, not --attention or --heads.");
                string dir = r.GetValue(data) ?? throw new ArgumentException("--source cnn needs --data DIR.");
                string initial = r.GetValue(a0) ?? throw new ArgumentException("--source cnn needs --a0 cams:DIR, classifier:RUN or model:NAME.");
                if (!(r.GetValue(power) > 0) || double.IsInfinity(r.GetValue(power))) throw new ArgumentException($"--affinity-power must be positive, got {r.GetValue(power)}.");
                if (r.GetValue(temperature) is { } tau && (!(tau > 0) || double.IsInfinity(tau))) throw new ArgumentException($"--affinity-temperature must be positive, got {tau}.");
                if (r.GetValue(temperature) is not null && r.GetValue(power) != 1) throw new ArgumentException("--affinity-temperature and --affinity-power are two kinds of S: give one.");
                ISegmentationDataset ds = Datasets.Open(dir, r.GetValue(split)!, r.GetValue(layout)!, r.GetValue(classes));
                if (r.GetValue(limit) is int n) ds = Datasets.Limit(ds, n);
                src = new CnnAttentionSource(ds, CnnSources.Features(r.GetValue(features)!), CnnSources.Initial(initial, ds.Classes), r.GetValue(power), r.GetValue(temperature));
            }
            var options = new ISegRunOptions
            {
                Refinement = refinement, SweepLambdas = sweepLambdas, SweepIterations = sweepIterations,
                Gamma = kind == "vit" ? r.GetValue(gamma) ?? VitAttentionSource.DefaultGamma : null, SweepGammas = sweepGammas,
                Background = ParseBackground(r.GetValue(background)!, src, kind), ShowItems = r.GetValue(show), Resume = r.GetValue(resume),
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException(e.Message.StartsWith("sweep:", StringComparison.Ordinal) ? "--" + e.Message : e.Message, e); }
            int count = kind == "file" && r.GetValue(limit) is int lim ? Math.Min(lim, src.Count) : src.Count;
            var indices = Enumerable.Range(0, count).ToList();
            if (shardSpec is var (si, sn)) indices = [.. indices.Where(i => i % sn == si - 1)];
            string outDir = r.GetValue(output)!;
            io.Console.MarkupLine(Markup.Escape($"iSeg over {src.Description}: {indices.Count} item(s){(shardSpec is var (a, b) ? $" (shard {a}/{b})" : "")}; {ISegRun.Settings(options)} -> {outDir}"));
            ISegSummary summary = null!;
            IReadOnlyList<ISegShown> shown = null!;
            CliProgress.Run(io, "refining", indices.Count, report =>
            {
                (summary, shown) = ISegRun.Run(src, outDir, options, indices, new SyncProgress<(int Done, int Total, string Id)>(p => report(p.Done, $"item {p.Id} ({p.Done}/{p.Total})")));
                return $"refined {summary.Items} item(s)" + (summary.Skipped > 0 ? $" ({summary.Skipped} already done)" : "");
            });
            string reportPath = Path.Combine(outDir, "report.html");
            ISegReport.Build(summary, shown, EvalCommand.CommandLine()).Save(reportPath);
            Print(io, summary);
            io.Console.MarkupLine($"Report: [blue]{Markup.Escape(reportPath)}[/]  scores: [blue]{Markup.Escape(Path.Combine(outDir, ISegSummary.FileName))}[/]");
            return 0;
        });
        cmd.Subcommands.Add(Merge(io));
        return cmd;
    }

    /// <summary>seglab bench iseg: refinement time and memory (IsegBench).</summary>
    public static Command Bench(CliIO io)
    {
        var tokens = new Option<string>("--tokens") { Description = "Token counts N, comma-separated (64x64 = 4096).", DefaultValueFactory = _ => "1024,4096" };
        var classes = new Option<int>("--classes") { Description = "Classes C.", DefaultValueFactory = _ => 21 };
        var iterations = new Option<int>("--iterations") { Description = "Iterations K.", DefaultValueFactory = _ => 10 };
        var threads = new Option<string>("--thread-counts") { Description = "Engine thread counts to time, comma-separated.", DefaultValueFactory = _ => "1,2" };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per setting (after one warm-up).", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print JSON records." };
        var cmd = new Command("iseg", "iSeg refinement (Ent-Self, then K propagations by GEMM) on N tokens and C classes: wall and CPU medians, memory.") { tokens, classes, iterations, threads, repeats, json };
        cmd.SetAction(r =>
        {
            var n = BenchCommand.ParseList(r.GetValue(tokens)!, "--tokens");
            var t = BenchCommand.ParseList(r.GetValue(threads)!, "--thread-counts");
            var records = SegLab.Cli.Bench.IsegBench.Run(n, r.GetValue(classes), r.GetValue(iterations), t, r.GetValue(repeats));
            if (r.GetValue(json))
            {
                io.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(records, JsonOptions.Indented));
                return 0;
            }
            var inv = CultureInfo.InvariantCulture;
            var table = new Table().Border(TableBorder.Rounded).AddColumns("N", "C", "K", "threads", "Ent-Self ms (CPU)", "K propagations ms (CPU)", "held MiB", "peak MiB");
            foreach (var x in records)
                table.AddRow(x.Tokens.ToString(inv), x.Classes.ToString(inv), x.Iterations.ToString(inv), x.Threads.ToString(inv), $"{x.EntSelfMs.ToString("F1", inv)} ({x.EntSelfCpuMs.ToString("F0", inv)})",
                    $"{x.IterationsMs.ToString("F1", inv)} ({x.IterationsCpuMs.ToString("F0", inv)})", x.HeldMB.ToString("F1", inv), x.PeakMemoryMB.ToString("F0", inv));
            io.Console.Write(table);
            io.Console.MarkupLine($"[grey]random row-stochastic S, random A0; medians of {records[0].Repeats}; CPU = processor time of the process; held = N^2 + 2 N C floats; peak = process working set so far.[/]");
            return 0;
        });
        return cmd;
    }

    private static Command Merge(CliIO io)
    {
        var inputs = new Argument<string[]>("shards") { Description = "Output folders of `seglab iseg --shard i/n` runs.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Output folder for the merged iseg.json and report.", Required = true };
        var partial = new Option<bool>("--partial") { Description = "Merge an incomplete set of shards; iseg.json and the report name the missing ones." };
        var cmd = new Command("merge", "Merge the outputs of sharded `seglab iseg` runs.") { inputs, output, partial };
        cmd.SetAction(r =>
        {
            string outDir = r.GetValue(output)!;
            var summary = ISegRun.Merge(r.GetValue(inputs)!, r.GetValue(partial));
            Directory.CreateDirectory(outDir);
            SegLab.Engine.IO.AtomicFile.Write(Path.Combine(outDir, ISegSummary.FileName), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(summary, ISegRun.JsonOptions));
            string reportPath = Path.Combine(outDir, "report.html");
            ISegReport.Build(summary, [], EvalCommand.CommandLine()).Save(reportPath);
            Print(io, summary);
            io.Console.MarkupLine($"Merged {r.GetValue(inputs)!.Length} shard(s), {summary.Items} items." + (summary.MissingShards.Length > 0 ? $" [yellow]Partial: {Markup.Escape(string.Join(", ", summary.MissingShards))} missing.[/]" : ""));
            io.Console.MarkupLine($"Report: [blue]{Markup.Escape(reportPath)}[/]");
            return 0;
        });
        return cmd;
    }

    private static void Print(CliIO io, ISegSummary s)
    {
        if (s.Scored == 0)
        {
            io.Console.MarkupLine("No item has ground truth: nothing scored.");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("method", "lambda", "K", "mIoU");
        foreach (var row in s.Main) table.AddRow(row.Method, row.Lambda?.ToString("0.####", CultureInfo.InvariantCulture) ?? "-", row.Iterations?.ToString(CultureInfo.InvariantCulture) ?? "-", EvalCommand.Fixed(row.MIoU, 2));
        io.Console.Write(table);
        if (s.Sweep.Length > 1)
        {
            bool gammas = s.Sweep.Any(row => row.Gamma is not null);
            var sw = new Table().Border(TableBorder.Rounded);
            if (gammas) sw.AddColumn("gamma");
            sw.AddColumns("lambda", "K", "mIoU");
            foreach (var row in s.Sweep)
            {
                string[] cells = [row.Lambda?.ToString("0.####", CultureInfo.InvariantCulture) ?? "-", row.Iterations?.ToString(CultureInfo.InvariantCulture) ?? "-", EvalCommand.Fixed(row.MIoU, 2)];
                sw.AddRow(gammas ? [row.Gamma?.ToString("0.###", CultureInfo.InvariantCulture) ?? "-", .. cells] : cells);
            }
            io.Console.Write(sw);
        }
        io.Console.MarkupLine(Markup.Escape($"{s.Scored} of {s.Items} item(s) scored; refinement {1000 * s.MeanRefineSeconds:F1} ms per item"));
    }

    /// <summary>Reads 'lambda=a,b;iterations=k1,k2;gamma=g1,g2' (any subset of keys, each once).</summary>
    internal static (double[]? Lambdas, int[]? Iterations, double[]? Gammas) ParseSweep(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, null, null);
        double[]? lambdas = null, gammas = null;
        int[]? iterations = null;
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0) throw new ArgumentException($"--sweep: '{part}' is not KEY=v1,v2,... (keys: lambda, iterations, gamma).");
            string key = part[..eq].Trim().ToLowerInvariant();
            var values = part[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (values.Length == 0) throw new ArgumentException($"--sweep: '{key}' has no values.");
            switch (key)
            {
                case "lambda" when lambdas is null: lambdas = [.. values.Select(v => Number(v, key))]; break;
                case "gamma" when gammas is null: gammas = [.. values.Select(v => Number(v, key))]; break;
                case "iterations" or "k" when iterations is null:
                    iterations = [.. values.Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 0 ? k
                        : throw new ArgumentException($"--sweep: iterations value '{v}' is not a whole number >= 0."))];
                    break;
                case "lambda" or "gamma" or "iterations" or "k": throw new ArgumentException($"--sweep: key '{key}' is given twice.");
                default: throw new ArgumentException($"--sweep: unknown key '{key}' (keys: lambda, iterations, gamma).");
            }
        }
        return (lambdas, iterations, gammas);
    }

    internal static int[]? ParseHeads(string? text)
    {
        if (text is null || text.Equals("all", StringComparison.OrdinalIgnoreCase)) return null;
        return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v =>
            int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int h) && h >= 0 ? h : throw new ArgumentException($"--heads: '{v}' is not a head index >= 0 (0-based)."))];
    }

    private static BackgroundRule? ParseBackground(string text, IAttentionSource src, string kind)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "none") return null;
        if (t == "auto") return src.BackgroundClass is not null || kind == "file" ? BackgroundRule.Power(2) : null;
        try { return BackgroundRule.Parse(t); }
        catch (ArgumentException e) { throw new ArgumentException("--background: " + e.Message + " Or auto, none.", e); }
    }

    private static double Number(string v, string key) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"--sweep: {key} value '{v}' is not a number.");
}
