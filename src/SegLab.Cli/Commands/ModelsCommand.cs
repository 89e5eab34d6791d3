// seglab models: the model table with each model's card (source, licence, training data, input convention,
// published and measured figures, caveats), as a table or as JSON.
using System.CommandLine;
using System.Text.Json;
using SegLab.Models;
using Spectre.Console;

namespace SegLab.Cli;

internal static class ModelsCommand
{
    public static Command Create(CliIO io)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON array of the models and their cards." };
        var runs = new Option<string?>("--runs")
        {
            Description = "Also list the seglab train run folders in DIR (DIR itself, or its subfolders two levels deep): each with its training (adversarial or clean), best validation and the robustness `seglab attack --model RUN` recorded.",
        };
        var cmd = new Command("models", "List the models --model accepts, each with its card (source, licence, training data, input, figures).") { json, runs };
        cmd.SetAction(r =>
        {
            if (r.GetValue(runs) is { } runsDir) return ListRuns(io, runsDir, r.GetValue(json));
            var rows = ModelTable.All.Select(m => new
            {
                name = m.Name,
                description = m.Description,
                dataset = m.Dataset,
                classes = m.NumClasses,
                outputs = m.OutputChannels,
                input = ModelCard.Describe(m.Preprocessing),
                weights = m.WeightsFile,
                source = m.Card?.Source,
                licence = m.Card?.Licence,
                trainedOn = m.Card?.TrainedOn,
                published = m.Card?.Published,
                measured = m.Card?.Measured,
                caveat = m.Card?.Caveat,
            }).ToList();
            if (r.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(rows, JsonOptions.Indented));
                return 0;
            }
            foreach (var m in rows)
            {
                var t = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(m.name)}[/]").AddColumns("", "");
                t.ShowHeaders = false;
                void Row(string k, object? v)
                {
                    if (v is not null) t.AddRow(Markup.Escape(k), Markup.Escape(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
                }
                Row("model", m.description);
                Row("classes", $"{m.classes} ({m.dataset}), {m.outputs} outputs");
                Row("input", m.input);
                Row("source", m.source is null ? null : $"{m.source} ({m.licence})");
                Row("trained on", m.trainedOn);
                Row("published", m.published);
                Row("measured", m.measured);
                Row("caveat", m.caveat);
                Row("weights", m.weights is null ? null : $"shared/{m.weights}");
                io.Console.Write(t);
            }
            io.Console.MarkupLine("[grey]A seglab train run folder works wherever a model name does (--model RUN).[/]");
            return 0;
        });
        return cmd;
    }

    /// <summary>The run folders under <paramref name="dir"/> with training, validation and recorded robustness.</summary>
    private static int ListRuns(CliIO io, string dir, bool json)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"--runs: no folder '{dir}'.");
        var folders = new[] { dir }.Concat(Directory.EnumerateDirectories(dir))
            .Concat(Directory.EnumerateDirectories(dir).SelectMany(Directory.EnumerateDirectories))
            .Where(d => SegLab.Training.TrainedModel.IsRunFolder(d) && File.Exists(Path.Combine(d, SegLab.Training.TrainSummary.FileName)))
            .Distinct().OrderBy(d => d, StringComparer.Ordinal).ToList();
        var rows = folders.Select(d =>
        {
            var cfg = SegLab.Training.ConfigLoader.Load(Path.Combine(d, "config.yaml"));
            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(d, SegLab.Training.TrainSummary.FileName)));
            var root = summary.RootElement;
            double[]? best = null;
            if (root.TryGetProperty("validations", out var vals) && root.TryGetProperty("bestStep", out var bs))
                foreach (var v in vals.EnumerateArray())
                    if (v.GetProperty("step").GetInt64() == bs.GetInt64())
                        best = [Num(v, "pixelAccuracy"), Num(v, "mIoU"), Num(v, "imageMIoU")];
            return new
            {
                run = Path.GetFullPath(d),
                model = cfg.Model.Init ?? cfg.Model.Family,
                initialisation = SegLab.Training.TrainSummary.Initialisation(cfg),
                training = SegLab.Training.TrainSummary.Training(cfg),
                completed = root.TryGetProperty("completed", out var c) && c.GetBoolean(),
                steps = root.TryGetProperty("steps", out var st) ? st.GetInt64() : 0,
                bestValidation = best,
                robustness = SegLab.Training.RunRobustness.Load(d),
            };
        }).ToList();
        if (json)
        {
            io.Out.WriteLine(JsonSerializer.Serialize(rows, JsonOptions.Indented));
            return 0;
        }
        if (rows.Count == 0)
        {
            io.Console.MarkupLine($"[yellow]no seglab train run folders (config.yaml + summary.json) in {Markup.Escape(dir)}[/]");
            return 0;
        }
        foreach (var m in rows)
        {
            var t = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(Path.GetFileName(m.run))}[/]").AddColumns("", "");
            t.ShowHeaders = false;
            t.AddRow("run", Markup.Escape(m.run));
            t.AddRow("model", Markup.Escape(m.model ?? "?"));
            t.AddRow("initialisation", Markup.Escape(m.initialisation));
            t.AddRow("training", Markup.Escape(m.training) + (m.completed ? "" : " [yellow](not finished)[/]"));
            if (m.bestValidation is { } b)
                t.AddRow("best validation", $"pixel acc {EvalCommand.Fixed(b[0], 2)} / mIoU {EvalCommand.Fixed(b[1], 2)} / image mIoU {EvalCommand.Fixed(b[2], 2)}");
            foreach (var rr in m.robustness)
                t.AddRow(Markup.Escape($"{rr.Attack} @ {rr.Eps}"),
                    Markup.Escape($"{string.Join(" / ", rr.WorstCase.Select(x => EvalCommand.Fixed(x, 2)))} (clean {string.Join(" / ", rr.Clean.Select(x => EvalCommand.Fixed(x, 2)))}; {rr.Images} images, {rr.Selection})"));
            if (m.robustness.Count == 0) t.AddRow("robustness", "not measured (seglab attack --model RUN records it here)");
            io.Console.Write(t);
        }
        io.Console.MarkupLine("[grey]Figures: pixel accuracy / dataset mIoU / image mIoU in percent. Each run folder works wherever a model name does (--model RUN).[/]");
        return 0;
    }

    private static double Num(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
}
