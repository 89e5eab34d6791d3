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
        var cmd = new Command("models", "List the models --model accepts, each with its card (source, licence, training data, input, figures).") { json };
        cmd.SetAction(r =>
        {
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
}
