// Crash safety proved by killing: seglab runs as a child process and is killed with SIGKILL at chosen moments (a
// timer for "during an image", SEGLAB_FAULT for "while a state, checkpoint or results file is being written"), or
// stopped with SIGINT; then it is resumed, and its results are compared with an uninterrupted run's. After every
// kill, every JSON file in the output folder must parse. Cases are listed in docs/reliability.md.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SegLab.Cli.Tests;

public sealed class KillResumeTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-kill-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Samples => SegLab.Demo.Samples.Root();

    private static string Weights => Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors");

    private static CliProcess.Child Start(string? fault, params string[] args) => CliProcess.Start(fault, ["--threads", "1", .. args]);

    private static CliProcess.Exit RunToEnd(string? fault, params string[] args) => CliProcess.Run(fault, ["--threads", "1", .. args]);

    private const int Sigkill = 128 + 9;

    // Every JSON file of the folder parses: atomic writes leave no half-written file at any moment.
    private static void AllJsonValid(string dir)
    {
        foreach (var f in Directory.EnumerateFiles(dir, "*.json", SearchOption.AllDirectories))
            JsonDocument.Parse(File.ReadAllBytes(f)).Dispose();
    }

    // A results file without what differs between runs by nature (wall times, the command line).
    private static string Stable(string path)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        Strip(node);
        return node.ToJsonString();
    }

    private static void Strip(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            foreach (var key in o.Select(kv => kv.Key).ToList())
                if (key.Contains("second", StringComparison.OrdinalIgnoreCase) || key.Contains("commandLine", StringComparison.OrdinalIgnoreCase))
                    o.Remove(key);
            foreach (var kv in o) Strip(kv.Value);
        }
        else if (node is JsonArray a)
        {
            foreach (var x in a) Strip(x);
        }
    }

    private static int StateImages(string dir) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "robustness.state.json")))!["images"]!.AsArray().Count;

    private string[] Attack(string outDir, int steps, params string[] extra) =>
    [
        "attack", "--model", "cgnet-camvid", "--weights", Weights, "--data", Path.Combine(Samples, "camvid"), "--attack", "pgd", "--loss", "ce",
        "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--eps", "1/255", "--limit", "3", "--out", outDir, .. extra,
    ];

    [Fact]
    public void Attack_killed_while_writing_its_state_resumes_to_the_uninterrupted_result()
    {
        string reference = Path.Combine(_tmp, "reference");
        var r = RunToEnd(null, Attack(reference, 2));
        Assert.True(r.Code == 0, r.Err);
        string expected = Stable(Path.Combine(reference, "robustness.json"));

        // The state is written after each image: writes 1-3. Killed inside write 2 (its temporary file written, not
        // renamed): the state holds image 1. Killed right after write 1 is renamed: the state holds image 1 too.
        foreach (var (fault, images) in new[] { ("kill-in-write:2", 1), ("kill-after-write:1", 1), ("kill-in-write:4", 3) })
        {
            string dir = Path.Combine(_tmp, fault.Replace(':', '-'));
            var killed = RunToEnd(fault, Attack(dir, 2));
            Assert.True(killed.Code == Sigkill, $"{fault}: exit {killed.Code}, {killed.Err}");
            AllJsonValid(dir);
            Assert.Equal(images, StateImages(dir));
            Assert.False(File.Exists(Path.Combine(dir, "robustness.json")), $"{fault}: a results file before the run ended");
            var resumed = RunToEnd(null, Attack(dir, 2, "--resume"));
            Assert.True(resumed.Code == 0, resumed.Err);
            Assert.Contains($"resuming: {images} of 3 images already done", resumed.Out, StringComparison.Ordinal);
            Assert.Equal(expected, Stable(Path.Combine(dir, "robustness.json")));
            Assert.Equal(3, StateImages(dir));
        }
    }

    [Fact]
    public void Attack_killed_during_an_image_or_stopped_by_sigint_resumes_to_the_uninterrupted_result()
    {
        const int steps = 8;
        string reference = Path.Combine(_tmp, "reference");
        var r = RunToEnd(null, Attack(reference, steps));
        Assert.True(r.Code == 0, r.Err);
        string expected = Stable(Path.Combine(reference, "robustness.json"));

        foreach (var signal in new[] { "KILL", "INT" })
        {
            string dir = Path.Combine(_tmp, signal);
            // SIGKILL lands while the second image is under attack. SIGINT is sent while the run is held right after
            // saving the first image (pause-after-write): sent at a chosen moment, it cannot arrive after a fast run
            // has already finished, as it could on a loaded machine when it raced the remaining images.
            using (var child = Start(signal == "INT" ? "pause-after-write:1" : null, Attack(dir, steps)))
            {
                // Wait until the first image is saved.
                var clock = Stopwatch.StartNew();
                while (!File.Exists(Path.Combine(dir, "robustness.state.json")) && clock.Elapsed < TimeSpan.FromMinutes(2) && !child.Process.HasExited)
                    Thread.Sleep(20);
                Assert.False(child.Process.HasExited, "the run ended before it could be interrupted");
                if (signal == "KILL") child.Process.Kill();
                else Process.Start("kill", ["-INT", child.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
                var stopped = child.Wait(TimeSpan.FromMinutes(1));
                if (signal == "KILL") Assert.Equal(Sigkill, stopped.Code);
                else
                {
                    Assert.True(stopped.Code == 130, $"SIGINT: exit {stopped.Code}, {stopped.Err}");
                    Assert.True(stopped.Seconds < 10, $"SIGINT took {stopped.Seconds:F1} s to stop the run");
                    Assert.Contains("--resume", stopped.Err, StringComparison.Ordinal);
                }
            }
            AllJsonValid(dir);
            int saved = StateImages(dir);
            Assert.InRange(saved, 1, 2);
            var resumed = RunToEnd(null, Attack(dir, steps, "--resume"));
            Assert.True(resumed.Code == 0, resumed.Err);
            Assert.Equal(expected, Stable(Path.Combine(dir, "robustness.json")));
        }
    }

    private string TrainConfig(int iterations)
    {
        string path = Path.Combine(_tmp, "tiny.yaml");
        File.WriteAllText(path, $"""
            seed: 3
            threads: 1
            model: {"{"}family: unet, widths: [4, 8]{"}"}
            data: {"{"}dir: '{Path.Combine(Samples, "camvid")}', train_split: val, val_split: val, crop: [32, 32], scale: [0.25, 0.25], batch: 2, val_scale: 0.125{"}"}
            schedule: {"{"}lr: 0.01, iterations: {iterations}, validate_every: 2, checkpoint_every: 1{"}"}
            """);
        return path;
    }

    [Fact]
    public void Training_killed_while_writing_a_checkpoint_resumes_bit_identically()
    {
        string config = TrainConfig(6);
        string reference = Path.Combine(_tmp, "reference");
        var r = RunToEnd(null, "train", "--config", config, "--out", reference);
        Assert.True(r.Code == 0, r.Err);
        byte[] expected = File.ReadAllBytes(Path.Combine(reference, "model.safetensors"));

        // Writes: config.yaml first, then per step the weights, the optimizer state and last.json (and at validations
        // the best weights and metrics). These kills land inside a checkpoint's weights, inside a last.json, and just
        // after a last.json was committed.
        foreach (var fault in new[] { "kill-in-write:3", "kill-in-write:7", "kill-after-write:4", "kill-in-write:12" })
        {
            string dir = Path.Combine(_tmp, fault.Replace(':', '-'));
            var killed = RunToEnd(fault, "train", "--config", config, "--out", dir);
            Assert.True(killed.Code == Sigkill, $"{fault}: exit {killed.Code}, {killed.Err}");
            AllJsonValid(dir);
            Assert.False(File.Exists(Path.Combine(dir, "model.safetensors")), $"{fault}: final weights before the run ended");
            var resumed = RunToEnd(null, File.Exists(Path.Combine(dir, "last.json"))
                ? ["train", "--out", dir, "--resume"]
                : ["train", "--config", config, "--out", dir]);
            Assert.True(resumed.Code == 0, $"{fault}: {resumed.Err}");
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
            Assert.Equal(6, summary.RootElement.GetProperty("steps").GetInt64());
        }
    }

    private string[] Eval(string outDir) =>
        ["eval", "--model", "cgnet-camvid", "--weights", Weights, "--data", Path.Combine(Samples, "camvid"), "--limit", "3", "--worst", "0", "--out", outDir];

    [Fact]
    public void Eval_killed_or_out_of_disk_while_writing_leaves_every_file_whole_and_a_rerun_gives_the_same_metrics()
    {
        string reference = Path.Combine(_tmp, "reference");
        var r = RunToEnd(null, Eval(reference));
        Assert.True(r.Code == 0, r.Err);
        string expected = Stable(Path.Combine(reference, "metrics.json"));

        // Writes: metrics-state.json, metrics.json, report.html.
        string dir = Path.Combine(_tmp, "killed");
        var killed = RunToEnd("kill-in-write:2", Eval(dir));
        Assert.Equal(Sigkill, killed.Code);
        AllJsonValid(dir);
        Assert.False(File.Exists(Path.Combine(dir, "metrics.json")));
        Assert.True(RunToEnd(null, Eval(dir)).Code == 0);
        Assert.Equal(expected, Stable(Path.Combine(dir, "metrics.json")));

        // The disk fills up while metrics.json is rewritten: a one-line data error, and the earlier metrics.json stays whole.
        byte[] before = File.ReadAllBytes(Path.Combine(dir, "metrics.json"));
        var full = RunToEnd("fail-write:2", Eval(dir));
        Assert.Equal(1, full.Code);
        Assert.Contains("No space left on device", full.Err, StringComparison.Ordinal);
        Assert.Contains("metrics.json", full.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", full.Err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "metrics.json")));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
    }
}
