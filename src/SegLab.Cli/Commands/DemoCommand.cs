// seglab demo: SegLab's main job on its embedded default (samples/: CGNet and five CamVid val images), with no
// ../shared needed: evaluate, explain one prediction (Grad-CAM for Car on one image, a section of the report), then a
// quick attack on three of them (PGD-CE 5 steps and APGD-MCE 10 iterations at eps 1/255), write metrics and both
// reports, say where they are. `seglab demo engine` keeps the engine demo (a tiny network fitting
// a synthetic label map with SegLab's own autograd).
using System.CommandLine;
using SegLab.Data;
using SegLab.Demo;
using SegLab.Evaluation;
using SegLab.Models;
using SegLab.Robustness;
using SegLab.Robustness.Attacks;
using SegLab.Robustness.Losses;
using SegLab.Robustness.Protocols;
using Spectre.Console;

namespace SegLab.Cli;

internal static class DemoCommand
{
    public static Command Create(CliIO io)
    {
        var output = new Option<string>("--out") { Description = "Output folder for the report and metrics.", DefaultValueFactory = _ => "seglab-demo" };
        var noAttack = new Option<bool>("--no-attack") { Description = "Skip the quick attack (evaluation only)." };
        var cmd = new Command("demo", "Run SegLab end to end on its embedded samples (CGNet on five CamVid images): evaluation, a quick attack, HTML reports.") { output, noAttack };
        cmd.Subcommands.Add(Engine(io));
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string outDir = Path.GetFullPath(r.GetValue(output)!);
            io.Console.MarkupLine("[bold]SegLab demo[/]: CGNet (pretrained on CamVid) evaluated on the five CamVid images in samples/ (research use only, see samples/README.md).");
            var model = ModelTable.Load(Samples.Model, Samples.Weights());
            var data = Datasets.Open(Samples.CamVid(), "val", "camvid");
            var result = EvalCommand.Run(io, model, data, new EvaluationOptions { WorstImages = data.Count });
            var explained = DemoAttribution.Run(model, result.Worst, data.Classes);
            var files = EvaluationOutput.Write(result, outDir, new EvaluationRunInfo(EvalCommand.CommandLine(), null, "camvid", null),
                report => DemoAttribution.AddTo(report, explained, data.Classes, model.Name));
            EvalCommand.PrintSummary(io, result.Summary, result.Classes, result.Skipped);
            EvalCommand.PrintCaveat(io, model.Name);
            io.Console.MarkupLine($"{result.Summary.Images} images in {result.Seconds:F1} s ({result.ImagesPerSecond:F2} images/s).");
            var shares = explained.Shares;
            io.Console.MarkupLine($"Attribution: Grad-CAM for {Markup.Escape(explained.ClassName)} on {Markup.Escape(explained.Example.Id)} puts {100 * shares.ObjectShare:F1}% of its mass on the predicted {Markup.Escape(explained.ClassName)} region ({100 * shares.AreaFraction:F1}% of the image); the map is in the report.");
            io.Console.MarkupLine($"Report: [blue]{Markup.Escape(files.Report)}[/] (open it in a browser)  metrics: [blue]{Markup.Escape(files.Metrics)}[/]");
            if (!r.GetValue(noAttack)) Attack(io, model, data, Path.Combine(outDir, "attack"));
            io.Console.MarkupLine("[grey]Next: `seglab eval --model cgnet-camvid --data ../shared/data/camvid --split val --out OUT` for the whole split.[/]");
            return 0;
        });
        return cmd;
    }

    /// <summary>The demo's robustness check: two short attacks at eps 1/255 on the first three samples (the whole demo stays under a minute on 2 cores), worst case per image.</summary>
    private static void Attack(CliIO io, SegmentationModel model, ISegmentationDataset data, string dir)
    {
        const double eps = 1.0 / 255;
        var protocol = new Protocol("demo", "PGD-CE 5 steps (eps/4, no random start) + APGD-MCE 10 iterations (random start), a first look; `seglab attack` runs the full protocols",
            c => [new Pgd(new CrossEntropyLoss(), 5), new Apgd(new MaskedCrossEntropyLoss(), 10, seed: c.Seed)], Selection.Accuracy);
        var attackModel = new AttackModel(model, data.Classes.IgnoreIndex);
        var evaluator = new RobustnessEvaluator(attackModel, protocol, [eps], new ProtocolContext(model.NumClasses, null, 0)) { KeepTraces = true };
        var ids = Enumerable.Range(0, data.Count).Select(data.Id).Order(StringComparer.Ordinal).Take(3).ToList();
        Directory.CreateDirectory(dir);
        io.Console.MarkupLine($"[bold]Quick attack[/]: {Markup.Escape(protocol.Description)}; on the first {ids.Count} of the {data.Count} images (attacks take far longer than a forward pass), so its clean row scores those {ids.Count} and differs from the table above.");
        var done = new List<ImageRobustness>();
        var examples = AttackCommand.Run(io, data, ids, evaluator, done, Path.Combine(dir, "robustness.state.json"), "demo");
        var report = RobustnessSummary.Build(model.Name, protocol, attackModel.LossLogits, [eps], done);
        string json = Path.Combine(dir, "robustness.json"), html = Path.Combine(dir, "report.html");
        RobustnessJson.Save(json, report);
        AttackCommand.WriteTraces(Path.Combine(dir, "trace.json"), done);
        ModelCard.AddTo(RobustnessHtml.Build(report, data.Classes.Names, data.Classes.PaletteRgb(), attackModel.IgnoreIndex, examples, EvalCommand.CommandLine()), model.Name).Save(html);
        AttackCommand.Print(io, report);
        io.Console.MarkupLine($"Robustness report: [blue]{Markup.Escape(html)}[/]  results: [blue]{Markup.Escape(json)}[/]");
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
