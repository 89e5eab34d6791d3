// seglab train: trains or fine-tunes a segmentation model from a YAML/JSON config (Contextrast optional, Sung et al.
// CVPR 2024), with --set overrides, --print-config, resumable checkpoints in --out, a progress bar, and Ctrl-C
// stopping cleanly after the current step with a checkpoint saved.
using System.CommandLine;
using System.Globalization;
using SegLab.Training;
using Spectre.Console;

namespace SegLab.Cli;

internal static class TrainCommand
{
    public static Command Create(CliIO io)
    {
        var config = new Option<string?>("--config") { Description = "Config file (YAML or JSON); with --resume, OUTDIR/config.yaml by default." };
        var output = new Option<string?>("--out") { Description = "Run folder: checkpoints, best and final weights, config.yaml." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var print = new Option<bool>("--print-config") { Description = "Print the resolved configuration as YAML and exit." };
        var set = new Option<string[]>("--set") { Description = "Override a config key, e.g. --set schedule.lr=0.01 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var init = new Option<string?>("--init") { Description = "Fine-tune a model-table entry from its pretrained weights, or FILE.onnx with its card (sets model.init), e.g. cgnet-camvid." };
        var cmd = new Command("train", "Train or fine-tune a segmentation model (optionally with Contextrast). A config has the sections seed, threads, "
            + "model (family unet|deeplabv3|deeplabv3-resnet18, pretrained none|imagenet, widths, base_width, output_stride, init, weights), data (dir, splits, crop, scale, batch, ...), schedule "
            + "(optimizer, lr, policy, epochs or iterations, validate_every, checkpoint_every, ...), loss, contextrast and adversarial (enabled, attack pgd|segpgd, "
            + "eps such as 4/255, steps, step_size, share such as 50%, random_start: PGD-AT / SegPGD-AT); `--print-config` prints every key "
            + "with its default, and configs/ holds examples (camvid-unet, camvid-deeplabv3, camvid-finetune-cgnet, camvid-contextrast, camvid-adversarial, camvid-deeplabv3-resnet18-*). Paths in a config "
            + "file are relative to that file.") { config, output, resume, print, set, init };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string? outDir = r.GetValue(output);
            bool resuming = r.GetValue(resume);
            string? file = r.GetValue(config);
            if (file is null && resuming && outDir is not null) file = Path.Combine(outDir, "config.yaml");
            var overrides = (r.GetValue(set) ?? []).ToList();
            if (r.GetValue(init) is { } name) overrides.Add($"model.init={name}");
            var cfg = ConfigLoader.Load(file, overrides);
            if (r.GetValue(print))
            {
                io.Out.Write(ConfigLoader.ToYaml(cfg));
                return 0;
            }
            if (outDir is null) throw new ArgumentException("seglab train needs --out OUTDIR (the run folder).");
            return Train(io, cfg, outDir, resuming);
        });
        return cmd;
    }

    private static readonly System.Text.Json.JsonSerializerOptions CamelCase = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase };

    /// <summary>`seglab bench train`: median training-step time (forward, backward, optimizer) on a random batch.</summary>
    public static Command CreateBench(CliIO io)
    {
        var family = new Option<string>("--model") { Description = "unet or deeplabv3.", DefaultValueFactory = _ => "unet" };
        var widths = new Option<string>("--widths") { Description = "UNet widths, shallow to deep.", DefaultValueFactory = _ => "16,32,64,128" };
        var baseWidth = new Option<int>("--base-width") { Description = "DeepLabV3 first-stage width.", DefaultValueFactory = _ => 16 };
        var batch = new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 8 };
        var size = new Option<int>("--size") { Description = "Square input size.", DefaultValueFactory = _ => 128 };
        var repeats = new Option<int>("--repeats") { Description = "Timed steps (after 2 warm-up steps).", DefaultValueFactory = _ => 5 };
        var contrast = new Option<bool>("--contextrast") { Description = "Add Contextrast's loss (d = 64) to the step." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("train", "Median training-step time (forward, backward, SGD) on a random batch, 11 classes.") { family, widths, baseWidth, batch, size, repeats, contrast, json };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            var mc = new ModelConfig
            {
                Family = r.GetValue(family)!, BaseWidth = r.GetValue(baseWidth),
                Widths = r.GetValue(widths)!.Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray(),
            };
            int n = r.GetValue(size);
            var result = TrainStepBench.Run(mc, 11, r.GetValue(batch), n, n, 2, r.GetValue(repeats),
                r.GetValue(contrast) ? new SegLab.Contextrast.ContextrastOptions { Enabled = true, Dim = 64 } : null);
            if (r.GetValue(json))
            {
                io.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(result, CamelCase));
                return 0;
            }
            var t = new Table().Border(TableBorder.Rounded).AddColumns("model", "batch", "size", "threads", "contextrast", "median ms", "min ms", "peak memory MB");
            t.AddRow(result.Model, Inv(result.Batch), $"{n}x{n}", Inv(result.Threads), result.Contextrast ? "yes" : "no", Inv(result.MedianMs, "F0"), Inv(result.MinMs, "F0"), Inv(result.PeakMemoryMB, "F0"));
            io.Console.Write(t);
            return 0;
        });
        return cmd;
    }

    internal static int Train(CliIO io, TrainConfig cfg, string outDir, bool resume)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            using var data = TrainData.Open(cfg);
            var trainer = new Trainer(cfg, data, outDir, resume);
            io.Console.MarkupLine($"[bold]training[/] {Markup.Escape(trainer.Model.Name)} ({trainer.Model.Network.ParameterCount():N0} parameters), "
                + $"{trainer.TotalSteps} steps of batch {cfg.Data.Batch}x{cfg.Schedule.Accumulation}, {cfg.Schedule.Optimizer} lr {Inv(cfg.Schedule.Lr)} {cfg.Schedule.Policy}"
                + (cfg.Contextrast.Enabled ? $", [blue]Contextrast[/] (alpha {Inv(cfg.Contextrast.Alpha)}, tau {Inv(cfg.Contextrast.Temperature)}, negatives {cfg.Contextrast.Negatives})" : "")
                + (cfg.Adversarial.Enabled ? $", [blue]{Markup.Escape(TrainSummary.Training(cfg))}[/]" : "") + $", from {Markup.Escape(TrainSummary.Initialisation(cfg))}"
                + (resume ? $", resuming at step {trainer.Step}" : "") + $" -> {Markup.Escape(outDir)}");
            var notes = new List<string>();
            TrainResult result = null!;
            CliProgress.Run(io, "training", trainer.TotalSteps, line =>
            {
                result = trainer.Run(new SyncProgress<TrainProgress>(p =>
                {
                    if (p.Message is not null)
                    {
                        notes.Add(p.Message);
                        return;
                    }
                    string pa = p.ContrastLoss != 0 ? FormattableString.Invariant($" (PA {p.ContrastLoss:F4})") : "";
                    string adv = cfg.Adversarial.Enabled ? FormattableString.Invariant($" | epoch so far: attack {p.AttackSeconds:F1} s, step {p.StepSeconds:F1} s") : "";
                    string text = FormattableString.Invariant($"step {p.Step}/{p.TotalSteps} epoch {p.Epoch} loss {p.Loss:F4}{pa} lr {p.LearningRate:G3} {p.ImagesPerSecond:F1} img/s{adv}");
                    line.Report(p.Step, text + (notes.Count > 0 ? $" | {notes[^1]}" : ""));
                }), cancel: cts.Token);
                return result.AlreadyFinished ? "already finished" : result.Completed ? $"trained {result.Steps} steps" : $"stopped at step {result.Steps}";
            }, start: trainer.Step);
            foreach (var n in notes) io.Console.MarkupLine(Markup.Escape(n));
            if (result.AlreadyFinished)
                io.Console.MarkupLine($"[green]{Markup.Escape(outDir)} is a finished run ({result.Steps} steps)[/]: nothing was trained or written. Its summary:");
            var t = new Table().Border(TableBorder.Rounded).AddColumns("steps", "final loss", "best val mIoU", "best step", "s / epoch", "peak memory MB", "folder");
            t.AddRow(Inv(result.Steps), Inv(result.FinalLoss, "F4"), double.IsNaN(result.BestMIoU) ? "-" : Inv(result.BestMIoU, "F2"), Inv(result.BestStep),
                Inv(result.SecondsPerEpoch, "F1") + (result.EpochsTrained < 1 ? $" (extrapolated from {Inv(result.EpochsTrained, "F2")} epoch)" : ""),
                Inv(result.PeakWorkingSetBytes / 1048576.0, "F0"), Markup.Escape(outDir));
            io.Console.Write(t);
            if (cfg.Adversarial.Enabled && !result.AlreadyFinished)
                io.Console.MarkupLine(Markup.Escape(FormattableString.Invariant(
                    $"adversarial training: {result.AttackSecondsPerEpoch:F1} of {result.SecondsPerEpoch:F1} s per epoch in the attack ({100 * result.AttackSecondsPerEpoch / Math.Max(1e-9, result.SecondsPerEpoch):F0}%); per epoch in summary.json")));
            if (!result.Completed)
                io.Console.MarkupLine($"[yellow]stopped at step {result.Steps}[/]: continue with [blue]seglab train --out {Markup.Escape(outDir)} --resume[/]");
            return result.Completed ? 0 : 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static string Inv(double v, string? format = null) => v.ToString(format, CultureInfo.InvariantCulture);

    private static string Inv(long v) => v.ToString(CultureInfo.InvariantCulture);
}
