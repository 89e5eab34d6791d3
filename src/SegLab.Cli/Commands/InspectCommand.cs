// seglab inspect FILE.onnx: what an ONNX model holds (inputs, outputs, op counts, parameters, opset, producer) and
// whether SegLab can run it, naming every node it cannot. --json prints the same as one JSON object.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SegLab.Onnx;
using Spectre.Console;

namespace SegLab.Cli;

internal static class InspectCommand
{
    public static Command Create(CliIO io)
    {
        var file = new Argument<string>("file") { Description = "An ONNX model (.onnx)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables." };
        var cmd = new Command("inspect", "Show an ONNX model's inputs, outputs, ops and parameters, and whether SegLab can run it.") { file, json };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            var s = OnnxSummary.Of(r.GetValue(file)!);
            if (r.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(s, JsonOptions.Indented));
                return 0;
            }
            Print(io.Console, s);
            return 0;
        });
        return cmd;
    }

    private static void Print(IAnsiConsole console, OnnxSummary s)
    {
        var about = new Table().Border(TableBorder.Rounded).AddColumn("model").AddColumn("");
        void Row(string k, string v) => about.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("file", s.File);
        Row("producer", s.Producer.Length > 0 ? s.Producer : "(not recorded)");
        Row("IR version, opset", $"{s.IrVersion}, {s.Opset}");
        Row("nodes", s.Nodes.ToString(CultureInfo.InvariantCulture));
        Row("parameters", $"{s.Parameters.ToString("N0", CultureInfo.InvariantCulture)} in {s.Initializers} initializers");
        console.Write(about);

        var io = new Table().Border(TableBorder.Rounded).AddColumns("", "name", "type", "shape");
        foreach (var i in s.Inputs) io.AddRow("input", Markup.Escape(i.Name), i.ElementType, Markup.Escape(i.Shape));
        foreach (var o in s.Outputs)
            io.AddRow("output", Markup.Escape(o.Name), o.ElementType, Markup.Escape(o.ComputedShape is { } c && c != o.Shape ? $"{o.Shape} (computed {c})" : o.Shape));
        console.Write(io);

        var ops = new Table().Border(TableBorder.Rounded).AddColumns("op", "nodes", "SegLab");
        foreach (var op in s.Ops) ops.AddRow(Markup.Escape(op.Op), op.Count.ToString(CultureInfo.InvariantCulture), op.Supported ? "yes" : "[red]no[/]");
        console.Write(ops);

        if (s.Runnable)
        {
            console.MarkupLine("[green]SegLab can run this model[/] (with gradients to its inputs and parameters).");
            return;
        }
        console.MarkupLine("[red]SegLab cannot run this model:[/]");
        foreach (var p in s.Problems) console.MarkupLine("  - " + Markup.Escape(p));
    }
}
