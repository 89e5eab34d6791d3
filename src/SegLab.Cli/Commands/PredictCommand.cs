// seglab predict: one image or a folder in, label PNGs (class ids) and colour overlays out.
using System.CommandLine;
using SegLab.Evaluation;
using SegLab.Models;
using Spectre.Console;

namespace SegLab.Cli;

internal static class PredictCommand
{
    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model") { Description = "Model name from the model table (cgnet-camvid, espnet-camvid), a seglab train run folder, or FILE.onnx with its card FILE.onnx.json.", Required = true };
        var weights = new Option<string?>("--weights") { Description = "Weights file (default: the model's pretrained weights)." };
        var input = new Option<string>("--input") { Description = "An image (PNG, JPEG, WebP, BMP, PPM/PGM) or a folder of images.", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder: ID.png (class ids) and ID_overlay.png per image.", Required = true };
        var alpha = new Option<double>("--alpha") { Description = "Opacity of the class colours in the overlays (0-1).", DefaultValueFactory = _ => 0.5 };
        var cmd = new Command("predict", "Predict label maps: class-id PNGs and colour overlays.") { model, weights, input, output, alpha };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            double a = r.GetValue(alpha);
            if (a is < 0 or > 1) throw new ArgumentException($"--alpha must be between 0 and 1, got {a}.");
            string name = r.GetValue(model)!;
            var m = SegLab.Training.TrainedModel.Resolve(name, r.GetValue(weights));
            var classes = SegLab.Training.TrainedModel.Classes(name);
            var files = Predictor.Inputs(r.GetValue(input)!);
            string outDir = r.GetValue(output)!;
            var written = new List<PredictionFiles>();
            CliProgress.Run(io, "predicting", files.Count, report =>
            {
                for (int i = 0; i < files.Count; i++)
                {
                    report(i, $"predicting {Path.GetFileName(files[i])}");
                    written.Add(Predictor.PredictFile(m, classes, files[i], outDir, a));
                }
                return $"predicted {files.Count} image(s)";
            });
            // One row per image with file names only; the folder once below (full paths made three lines per image).
            var table = new Table().Border(TableBorder.Rounded).AddColumns("image", "labels", "overlay", "largest classes");
            foreach (var f in written)
            {
                long total = f.ClassPixels.Sum();
                var top = f.ClassPixels.Select((n, c) => (n, c)).OrderByDescending(t => t.n).Take(3)
                    .Select(t => $"{classes.Names[t.c]} {100.0 * t.n / total:F0}%");
                table.AddRow(Markup.Escape(f.Id), Markup.Escape(Path.GetFileName(f.Labels)), Markup.Escape(Path.GetFileName(f.Overlay)), Markup.Escape(string.Join(", ", top)));
            }
            io.Console.Write(table);
            io.Console.MarkupLine($"{written.Count} image(s) written to [blue]{Markup.Escape(Path.GetFullPath(outDir))}[/]");
            return 0;
        });
        return cmd;
    }
}
