// seglab demo: SegLab's main job on an embedded default. Until the segmentation demo lands (eval issue),
// it runs the engine end to end: a tiny network fits a synthetic label map.
using System.CommandLine;
using SegLab.Demo;
using Spectre.Console;

namespace SegLab.Cli;

internal static class DemoCommand
{
    public static Command Create(CliIO io)
    {
        var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => 300 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("demo", "Run SegLab end to end on embedded data (today: the engine demo).") { steps, seed };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            int n = r.GetValue(steps);
            if (n < 1) throw new ArgumentException($"--steps must be at least 1, got {n}.");
            io.Console.MarkupLine("[bold]SegLab engine demo[/]: fits a tiny network to a synthetic 3-region label map with SegLab's own autograd.");
            io.Console.MarkupLine("[grey]This is an engine demo, not segmentation yet: the segmentation demo on CamVid samples replaces it when it lands.[/]");
            EngineDemoResult result = null!;
            io.Console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: n);
                    result = EngineDemo.Run(n, r.GetValue(seed), new SyncProgress(p =>
                    {
                        task.Value = p.Step;
                        task.Description = $"training, loss {p.Loss:F4}";
                    }));
                    task.Value = n;
                    task.Description = $"trained, loss {result.FinalLoss:F4}";
                    task.StopTask();
                    ctx.Refresh();
                });
            var t = new Table().Border(TableBorder.Rounded).AddColumns("steps", "initial loss", "final loss", "held-out pixel accuracy", "seconds");
            t.AddRow(result.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture), result.InitialLoss.ToString("F4", System.Globalization.CultureInfo.InvariantCulture),
                result.FinalLoss.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), $"{result.PixelAccuracy:F1} %", result.Seconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
            io.Console.Write(t);
            return 0;
        });
        return cmd;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<EngineDemoProgress> report) : IProgress<EngineDemoProgress>
    {
        public void Report(EngineDemoProgress value) => report(value);
    }
}
