// seglab demo: SegLab's main job on its embedded default (samples/: CGNet and five CamVid val images), with no
// ../shared needed: evaluate, write metrics and a report, say where it is. `seglab demo engine` keeps the engine
// demo (a tiny network fitting a synthetic label map with SegLab's own autograd).
using System.CommandLine;
using SegLab.Data;
using SegLab.Demo;
using SegLab.Evaluation;
using SegLab.Models;
using Spectre.Console;

namespace SegLab.Cli;

internal static class DemoCommand
{
    public static Command Create(CliIO io)
    {
        var output = new Option<string>("--out") { Description = "Output folder for the report and metrics.", DefaultValueFactory = _ => "seglab-demo" };
        var cmd = new Command("demo", "Run SegLab end to end on its embedded samples (CGNet on five CamVid images): metrics and an HTML report.") { output };
        cmd.Subcommands.Add(Engine(io));
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string outDir = Path.GetFullPath(r.GetValue(output)!);
            io.Console.MarkupLine("[bold]SegLab demo[/]: CGNet (pretrained on CamVid) evaluated on the five CamVid images in samples/ (research use only, see samples/README.md).");
            var model = ModelTable.Load(Samples.Model, Samples.Weights());
            var data = Datasets.Open(Samples.CamVid(), "val", "camvid");
            var result = EvalCommand.Run(io, model, data, new EvaluationOptions { WorstImages = data.Count });
            var files = EvaluationOutput.Write(result, outDir, new EvaluationRunInfo(EvalCommand.CommandLine(), null, "camvid", null));
            EvalCommand.PrintSummary(io, result.Summary, result.Classes, result.Skipped);
            io.Console.MarkupLine($"{result.Summary.Images} images in {result.Seconds:F1} s ({result.ImagesPerSecond:F2} images/s).");
            io.Console.MarkupLine($"Report: [blue]{Markup.Escape(files.Report)}[/] (open it in a browser)  metrics: [blue]{Markup.Escape(files.Metrics)}[/]");
            io.Console.MarkupLine("[grey]Next: `seglab eval --model cgnet-camvid --data ../shared/data/camvid --split val --out OUT` for the whole split.[/]");
            return 0;
        });
        return cmd;
    }

    private static Command Engine(CliIO io)
    {
        var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => 300 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("engine", "The engine demo: a tiny network fits a synthetic 3-region label map with SegLab's own autograd.") { steps, seed };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            int n = r.GetValue(steps);
            if (n < 1) throw new ArgumentException($"--steps must be at least 1, got {n}.");
            io.Console.MarkupLine("[bold]SegLab engine demo[/]: fits a tiny network to a synthetic 3-region label map with SegLab's own autograd.");
            EngineDemoResult result = null!;
            CliProgress.Run(io, "training", n, report =>
            {
                result = EngineDemo.Run(n, r.GetValue(seed), new SyncProgress<EngineDemoProgress>(p => report(p.Step, $"training, loss {p.Loss:F4}")));
                return $"trained, loss {result.FinalLoss:F4}";
            });
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            var t = new Table().Border(TableBorder.Rounded).AddColumns("steps", "initial loss", "final loss", "held-out pixel accuracy", "seconds");
            t.AddRow(result.Steps.ToString(inv), result.InitialLoss.ToString("F4", inv), result.FinalLoss.ToString("F4", inv),
                $"{result.PixelAccuracy:F1} %", result.Seconds.ToString("F2", inv));
            io.Console.Write(t);
            return 0;
        });
        return cmd;
    }
}
