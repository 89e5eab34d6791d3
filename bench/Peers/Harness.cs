// The side-by-side run: first every row's logits are checked against SegLab's (1e-4 of the largest magnitude; a row
// whose peer disagrees is dropped, loudly), then rounds of measurements, round-robin over thread counts, rows and
// engines (the engine order rotates each round), each measurement in its own child process so that its peak
// memory (VmHWM) is that workload's alone. Prints one JSON record per (engine, row, threads): the median over
// rounds of each round's median, the fastest step, the largest peak; then a markdown table of SegLab / best peer.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SegLab.Engine.IO;

namespace SegLab.Peers;

internal static class Harness
{
    public const double Tolerance = 1e-4;
    // The input gradient is a sanity check beyond the logits: float32 sums over a backward pass of ~100 layers, in
    // different orders, differ more (CGNet: 3e-3 of the largest magnitude against libtorch; the project's PyTorch
    // reference test for CGNet attributions asks for a correlation of 0.99). A row may set its own (Row.GradTolerance,
    // with the reason beside it in Workloads.cs).
    public const double GradTolerance = 1e-2;

    public static int Run(string[] args)
    {
        int rounds = 3, repeats = 5, warmup = 2;
        int[] threads = [1, 2];
        string models = Path.Combine(AppContext.BaseDirectory, "models");
        string? outFile = null;
        string[]? only = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"peers: {args[i]} needs a value.");
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": threads = [.. Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--models": models = Next(); break;
                case "--out": outFile = Next(); break;
                case "--rows": only = Next().Split(','); break;
                case "--quick": rounds = 1; repeats = 2; warmup = 1; break;
                default: throw new ArgumentException($"peers: unknown option {args[i]}.");
            }
        }
        if (rounds < 1 || repeats < 1 || warmup < 1 || threads.Any(t => t < 1))
            throw new ArgumentException("peers: rounds, repeats, warm-ups and threads must be at least 1.");
        var rows = Workloads.All.Where(r => only is null || only.Contains(r.Key) || only.Contains(r.Model)).ToList();
        if (rows.Count == 0) throw new ArgumentException($"peers: --rows matched none of {string.Join(", ", Workloads.All.Select(r => r.Key))}.");

        var sw = Stopwatch.StartNew();
        var ok = Verify(rows, threads.Max(), models);
        var results = new Dictionary<(string Engine, string Row, int Threads), List<Measurement>>();
        for (int r = 0; r < rounds; r++)
            foreach (int t in threads)
                foreach (var row in ok)
                {
                    var engines = row.Engines.Skip(r % row.Engines.Length).Concat(row.Engines.Take(r % row.Engines.Length));
                    foreach (var engine in engines)
                    {
                        Log($"round {r + 1}/{rounds}, {t} thread(s), {row.Key} on {engine} ({sw.Elapsed.TotalSeconds:F0} s)");
                        var (rc, stdout, stderr) = Spawn(["child", "--engine", engine, "--row", row.Key, "--threads", t.ToString(CultureInfo.InvariantCulture),
                            "--repeats", repeats.ToString(CultureInfo.InvariantCulture), "--warmup", warmup.ToString(CultureInfo.InvariantCulture), "--models", models]);
                        if (rc != 0)
                        {
                            Log($"FAILED: {row.Key} on {engine} with {t} thread(s) exited {rc}: {LastLine(stderr)}");
                            continue;
                        }
                        string record = stdout.Trim().Split('\n')[^1];
                        Log("record " + record); // each round's record as it comes, so that a cut run keeps what it measured
                        var m = JsonSerializer.Deserialize<Measurement>(record, Json.Options)!;
                        var key = (engine, row.Key, t);
                        if (!results.TryGetValue(key, out var list)) results[key] = list = [];
                        list.Add(m);
                    }
                }

        var records = new List<Measurement>();
        foreach (int t in threads)
            foreach (var row in ok)
                foreach (var engine in row.Engines)
                {
                    if (!results.TryGetValue((engine, row.Key, t), out var list)) continue;
                    var medians = list.Select(m => m.MedianMs).ToArray();
                    records.Add(new Measurement(engine, row.Model, row.Workload, t, row.Batch, row.Size, R(Stats.Median(medians)),
                        R(list.Min(m => m.MinMs)), R(list.Max(m => m.PeakMemoryMB)), list.Count, repeats, [.. medians.Select(R)],
                        R(list.Max(m => m.LoadedMemoryMB)), R(list.Max(m => m.FirstStepManagedMB))));
                }
        var jsonl = new StringBuilder();
        foreach (var m in records)
        {
            string line = JsonSerializer.Serialize(m, Json.Options);
            Console.WriteLine(line);
            jsonl.AppendLine(line);
        }
        string table = Table(records, ok, threads);
        Console.WriteLine();
        Console.Write(table);
        Log($"done in {sw.Elapsed.TotalMinutes:F1} min ({rounds} round(s), {repeats} timed step(s) after {warmup} warm-up(s) per measurement)");
        if (outFile is not null)
        {
            AtomicFile.WriteText(outFile, jsonl.ToString());
            AtomicFile.WriteText(Path.ChangeExtension(outFile, ".md"), table);
        }
        return ok.Count == rows.Count && records.Count == results.Count && results.Values.All(l => l.Count == rounds) ? 0 : 1;
    }

    // Every engine's logits (and input gradient) on the row's input, against SegLab's port: a peer that disagrees by
    // more than the tolerance drops its whole row before anything is timed.
    private static List<Row> Verify(List<Row> rows, int threads, string models)
    {
        var ok = new List<Row>();
        string dir = Path.Combine(Path.GetTempPath(), $"seglab-peers-{Environment.ProcessId}");
        foreach (var row in rows)
        {
            string rowDir = Path.Combine(dir, row.Key.Replace('/', '_'));
            bool good = true;
            foreach (var engine in row.Engines)
            {
                var (rc, _, stderr) = Spawn(["child", "--engine", engine, "--row", row.Key, "--threads", threads.ToString(CultureInfo.InvariantCulture), "--verify", rowDir, "--models", models]);
                if (rc != 0)
                {
                    Log($"ABORTED ROW {row.Key}: {engine} failed its check run (exit {rc}): {LastLine(stderr)}");
                    good = false;
                    break;
                }
            }
            if (good)
            {
                string first = row.Engines[0]; // SegLab's port, or its ONNX import where it has no port
                var reference = Read(Path.Combine(rowDir, $"{first}.logits.f32"));
                foreach (var engine in row.Engines.Skip(1))
                {
                    double d = RelDiff(reference, Read(Path.Combine(rowDir, $"{engine}.logits.f32")));
                    string gradNote = "";
                    string gradFile = Path.Combine(rowDir, $"{engine}.grad.f32");
                    double dg = 0;
                    if (File.Exists(gradFile))
                    {
                        dg = RelDiff(Read(Path.Combine(rowDir, $"{first}.grad.f32")), Read(gradFile));
                        gradNote = FormattableString.Invariant($", input gradient {dg:E2} (limit {row.GradTolerance:E0})");
                    }
                    Log(FormattableString.Invariant($"check {row.Key}: {engine} logits differ from SegLab's by {d:E2} of the largest magnitude (limit {Tolerance:E0}){gradNote}"));
                    if (!(d <= Tolerance) || !(dg <= row.GradTolerance))
                    {
                        Log($"ABORTED ROW {row.Key}: {engine} does not compute what SegLab computes; nothing of this row is timed.");
                        good = false;
                    }
                }
            }
            if (good) ok.Add(row);
        }
        try { Directory.Delete(dir, true); } catch (IOException) { }
        return ok;
    }

    private static double RelDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length) return double.PositiveInfinity;
        double max = 0, diff = 0;
        for (int i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i]));
            diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
        }
        return diff / Math.Max(max, 1e-30);
    }

    private static float[] Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var v = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, v, 0, bytes.Length);
        return v;
    }

    // SegLab / best peer per row and thread count, for time and for peak memory. The best peer is the fastest of
    // ONNX Runtime and libtorch; seglab-onnx (SegLab's import of the same ONNX file) gets its own ratio column.
    private static string Table(List<Measurement> records, List<Row> rows, int[] threads)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| model | workload | batch | size | threads | SegLab ms | SegLab ONNX import ms | ONNX Runtime ms | libtorch ms | SegLab / best peer | import / best peer | SegLab MB | import MB | ONNX Runtime MB | libtorch MB | memory SegLab / best peer | memory import / best peer |");
        sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var row in rows)
            foreach (int t in threads)
            {
                Measurement? Get(string e) => records.FirstOrDefault(m => m.Engine == e && m.Model == row.Model && m.Workload == row.Workload && m.Threads == t);
                var s = Get(Workloads.SegLab);
                var so = Get(Workloads.SegLabOnnx);
                var o = Get(Workloads.OnnxRuntime);
                var l = Get(Workloads.LibTorch);
                var peers = new[] { o, l }.Where(p => p is not null).ToArray();
                string F(Measurement? m, Func<Measurement, double> f) => m is null ? "-" : f(m).ToString("F0", CultureInfo.InvariantCulture);
                string Ratio(double? a, double? b) => a is null || b is null ? "-" : (a.Value / b.Value).ToString("F2", CultureInfo.InvariantCulture);
                double? bestMs = peers.Length == 0 ? null : peers.Min(p => p!.MedianMs);
                double? bestMb = peers.Length == 0 ? null : peers.Min(p => p!.PeakMemoryMB);
                sb.AppendLine($"| {row.Model} | {row.Workload} | {row.Batch} | {row.Size} | {t} | {F(s, m => m.MedianMs)} | {F(so, m => m.MedianMs)} | {F(o, m => m.MedianMs)} | {F(l, m => m.MedianMs)} | "
                    + $"{Ratio(s?.MedianMs, bestMs)} | {Ratio(so?.MedianMs, bestMs)} | {F(s, m => m.PeakMemoryMB)} | {F(so, m => m.PeakMemoryMB)} | {F(o, m => m.PeakMemoryMB)} | {F(l, m => m.PeakMemoryMB)} | {Ratio(s?.PeakMemoryMB, bestMb)} | {Ratio(so?.PeakMemoryMB, bestMb)} |");
            }
        return sb.ToString();
    }

    private static (int Rc, string Stdout, string Stderr) Spawn(string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Run through `dotnet Peers.dll` when started that way.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(Harness).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, err.Result);
    }

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var first = lines.FirstOrDefault(l => l.StartsWith("Unhandled exception", StringComparison.Ordinal) || l.Contains("Exception:", StringComparison.Ordinal));
        return first ?? (lines.Length > 0 ? lines[^1] : "(no output)");
    }

    private static double R(double v) => Math.Round(v, 2);

    private static void Log(string line) => Console.Error.WriteLine(line);
}
