// seglab explain: one attribution map for one image and one target (a class over a mask file, a pixel, a box, or
// the class's predicted region): OUTDIR/attribution.safetensors, OUTDIR/overlay.png and OUTDIR/explain.json
// (docs/attribution.md). Every option is checked before the model is loaded. A --model that is a `seglab weak
// train-classifier` run folder is explained as a classifier: the target is a class logit of the whole image, or the
// sum of the logits of a set of classes (--class A+B, a superclass: AttributionTarget.ForClasses).
using System.CommandLine;
using System.Globalization;
using SegLab.Attribution;
using SegLab.Attribution.Context;
using SegLab.Data;
using SegLab.Models;
using SegLab.Weak;
using Spectre.Console;

namespace SegLab.Cli;

internal static class ExplainCommand
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model") { Description = "Model name from the model table (cgnet-camvid, espnet-camvid), a seglab train run folder, FILE.onnx with its card FILE.onnx.json, or a `seglab weak train-classifier` run folder (a classifier: the target is the class logit of the whole image).", Required = true };
        var weights = new Option<string?>("--weights") { Description = "Weights file (default: the model's pretrained weights)." };
        var image = new Option<string>("--image") { Description = "The image (PNG, JPEG, PPM/PGM).", Required = true };
        var cls = new Option<string>("--class") { Description = "Target class: a name of the model's class table (Car) or its index; for a classifier also a set of classes A+B (a superclass: the sum of their logits).", Required = true };
        var mask = new Option<string?>("--mask") { Description = "Target mask image of the image's size: non-zero pixels are the object." };
        var pixel = new Option<string?>("--pixel") { Description = "Target pixel X,Y (column, row from the top left)." };
        var box = new Option<string?>("--box") { Description = "Target box X0,Y0,X1,Y1 (the end corner is exclusive)." };
        var method = new Option<string>("--method") { Description = "Method: " + string.Join(", ", AttributionTable.Names) + ".", DefaultValueFactory = _ => "gradcam" };
        var layer = new Option<string?>("--layer") { Description = "CAM layer as a module path (e.g. bn_prelu_3, level3.20); default: the model's." };
        var steps = new Option<int>("--steps") { Description = "Integrated Gradients steps.", DefaultValueFactory = _ => 32 };
        var baseline = new Option<string>("--baseline") { Description = "Integrated Gradients baseline: black, blurred, mean, noise.", DefaultValueFactory = _ => "black" };
        var samples = new Option<int>("--samples") { Description = "SmoothGrad samples.", DefaultValueFactory = _ => 16 };
        var batch = new Option<int>("--batch") { Description = "Images per forward/backward pass (IG steps, SmoothGrad samples, Score-CAM masks).", DefaultValueFactory = _ => 8 };
        var signed = new Option<bool>("--signed") { Description = "Saliency: the signed gradient summed over channels instead of its largest magnitude." };
        var seed = new Option<long>("--seed") { Description = "Seed of noise baselines and SmoothGrad noise.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder: attribution.safetensors, overlay.png, explain.json.", Required = true };
        var cmd = new Command("explain", "One attribution map for one image: a class over a mask, pixel, box or its predicted region.")
        {
            model, weights, image, cls, mask, pixel, box, method, layer, steps, baseline, samples, batch, signed, seed, output,
        };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            string methodName = r.GetValue(method)!;
            if (!AttributionTable.Names.Contains(methodName, StringComparer.OrdinalIgnoreCase))
                throw new ArgumentException($"--method: unknown attribution method '{methodName}'. Known methods: {string.Join(", ", AttributionTable.Names)}.");
            var attribution = AttributionTable.Create(methodName);
            string? maskPath = r.GetValue(mask), pixelText = r.GetValue(pixel), boxText = r.GetValue(box);
            if (new[] { maskPath, pixelText, boxText }.Count(v => v is not null) > 1)
                throw new ArgumentException("Give at most one of --mask, --pixel and --box (none: the class's predicted region).");
            int[]? px = pixelText is null ? null : Ints("--pixel", pixelText, 2, "X,Y");
            int[]? bx = boxText is null ? null : Ints("--box", boxText, 4, "X0,Y0,X1,Y1");
            var options = new AttributionOptions
            {
                Steps = r.GetValue(steps), Samples = r.GetValue(samples), BatchSize = r.GetValue(batch), Signed = r.GetValue(signed),
                Seed = r.GetValue(seed), Layer = r.GetValue(layer), Baseline = Baseline(r.GetValue(baseline)!),
            };
            if (options.Steps < 1) throw new ArgumentException($"--steps must be at least 1, got {options.Steps}.");
            if (options.Samples < 1) throw new ArgumentException($"--samples must be at least 1, got {options.Samples}.");
            if (options.BatchSize < 1) throw new ArgumentException($"--batch must be at least 1, got {options.BatchSize}.");
            if (options.Layer is not null && attribution is not CamBase && attribution is not SmoothGrad { Inner: CamBase })
                throw new ArgumentException($"--layer applies to the CAM methods ({string.Join(", ", AttributionTable.LayerMethods)}), not to {methodName}.");
            string imagePath = r.GetValue(image)!;
            if (!File.Exists(imagePath)) throw new FileNotFoundException($"--image: {imagePath} does not exist.");
            if (maskPath is not null && !File.Exists(maskPath)) throw new FileNotFoundException($"--mask: {maskPath} does not exist.");

            string name = r.GetValue(model)!, classText = r.GetValue(cls)!;
            SegmentationModel seg;
            float[] imageValues;
            int h, w;
            string className;
            AttributionTarget target;
            if (RecognitionSide.IsClassifierRun(name))
            {
                if (r.GetValue(weights) is not null) throw new ArgumentException($"--weights does not apply to the classifier run {name}: its model.safetensors is used.");
                if (maskPath is not null || px is not null || bx is not null)
                    throw new ArgumentException($"--mask, --pixel and --box do not apply to the classifier run {name}: its target is a class logit of the whole image.");
                string[] names = TagTrainer.Classes(name);
                int[] set = ClassifierClasses(classText, names, name);
                className = string.Join("+", set.Select(k => names[k]));
                target = AttributionTarget.ForClasses(set, className);
                seg = RecognitionSide.Wrap(TagTrainer.Load(name), Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(name))));
                if (attribution is CamBase) options = options with { Layer = CamLayers.Resolve(seg, options.Layer) };
                var sample = SampleDecoding.Load(Path.GetFileNameWithoutExtension(imagePath), imagePath, null, ClassTable.CamVid);
                (imageValues, h, w) = (sample.Image, sample.Height, sample.Width);
            }
            else
            {
                if (classText.Contains('+', StringComparison.Ordinal))
                    throw new ArgumentException($"--class: a set of classes ('{classText}') is a classifier target; {name} is a segmentation model, give one class.");
                var classes = SegLab.Training.TrainedModel.Classes(name);
                int c = ClassIndex(classText, classes);
                seg = SegLab.Training.TrainedModel.Resolve(name, r.GetValue(weights));
                if (c >= seg.NumClasses) throw new ArgumentException($"--class: model {seg.Name} scores {seg.NumClasses} classes; class {c} is not one of them.");
                if (attribution is CamBase) options = options with { Layer = CamLayers.Resolve(seg, options.Layer) };
                var sample = SampleDecoding.Load(Path.GetFileNameWithoutExtension(imagePath), imagePath, null, classes);
                (imageValues, h, w) = (sample.Image, sample.Height, sample.Width);
                className = classes.Names[c];
                target = maskPath is not null ? Explainer.MaskFile(maskPath, c, h, w)
                    : px is not null ? AttributionTarget.Pixel(c, px[0], px[1], h, w)
                    : bx is not null ? AttributionTarget.Box(c, bx[0], bx[1], bx[2], bx[3], h, w)
                    : Explainer.Predicted(seg, imageValues, h, w, c, className);
            }
            string outDir = r.GetValue(output)!;
            var start = System.Diagnostics.Stopwatch.StartNew();
            var result = Explainer.Write(seg, attribution, imageValues, h, w, target, className, options, outDir);
            var map = result.Map;
            io.Console.MarkupLine($"[bold]{Markup.Escape(map.Method)}[/]{(map.Layer is null ? "" : $" at {Markup.Escape(map.Layer)}")} for {Markup.Escape(className)} ({Markup.Escape(target.Description)}{(target.IsClassifier ? "" : $", {target.Pixels} px")}) on {Markup.Escape(Path.GetFileName(imagePath))}: score {map.TargetScore.ToString("G6", Ci)}, {start.Elapsed.TotalSeconds.ToString("F1", Ci)} s");
            if (map.CompletenessError is { } err)
                io.Console.MarkupLine($"completeness: map sum - (F(x) - F(baseline)) = {err.ToString("G4", Ci)}{(map.RelativeCompletenessError is { } rel ? $" ({(100 * rel).ToString("F2", Ci)}% of the score difference)" : "")}");
            if (result.Shares is { } s)
                io.Console.MarkupLine($"object share {(100 * s.ObjectShare).ToString("F1", Ci)}% (area {(100 * s.AreaFraction).ToString("F1", Ci)}%), context share {(100 * s.ContextShare).ToString("F1", Ci)}%");
            io.Console.MarkupLine($"written to [blue]{Markup.Escape(Path.GetFullPath(outDir))}[/]: attribution.safetensors, overlay.png, explain.json");
            return 0;
        });
        return cmd;
    }

    private static int[] Ints(string option, string text, int count, string form)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        bool ok = parts.Length == count;
        for (int i = 0; ok && i < parts.Length; i++) ok = int.TryParse(parts[i], NumberStyles.Integer, Ci, out values[i]);
        if (!ok)
            throw new ArgumentException($"{option}: '{text}' is not {form} ({count} whole numbers separated by commas).");
        return values;
    }

    private static IgBaseline Baseline(string text) => text.ToLowerInvariant() switch
    {
        "black" => IgBaseline.Black,
        "blurred" or "blur" => IgBaseline.Blurred,
        "mean" or "mean-colour" or "mean-color" => IgBaseline.MeanColour,
        "noise" or "uniform" => IgBaseline.UniformNoise,
        _ => throw new ArgumentException($"--baseline: unknown baseline '{text}'. Known baselines: black, blurred, mean, noise."),
    };

    // A classifier's class or set of classes A+B (names or indices of its classes; each once).
    private static int[] ClassifierClasses(string text, string[] names, string run)
    {
        var parts = text.Split('+', StringSplitOptions.TrimEntries);
        var set = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            int found = Array.FindIndex(names, n => string.Equals(n, parts[i], StringComparison.OrdinalIgnoreCase));
            if (found < 0 && int.TryParse(parts[i], NumberStyles.Integer, Ci, out int id) && id >= 0 && id < names.Length) found = id;
            if (found < 0)
                throw new ArgumentException($"--class: the classifier {run} has no class '{parts[i]}'{(parts.Length > 1 ? $" (in '{text}')" : "")}. Its classes: {string.Join(", ", names.Select((n, k) => $"{k} {n}"))}.");
            set[i] = found;
        }
        if (set.Distinct().Count() != set.Length) throw new ArgumentException($"--class: '{text}' names a class twice; each class counts once.");
        return set;
    }

    private static int ClassIndex(string text, ClassTable classes)
    {
        int found = Array.FindIndex(classes.Names, n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
        if (found >= 0) return found;
        if (int.TryParse(text, NumberStyles.Integer, Ci, out int id) && id >= 0 && id < classes.Count) return id;
        throw new ArgumentException($"--class: the model has no class '{text}'. Its classes: {string.Join(", ", classes.Names.Select((n, i) => $"{i} {n}"))}.");
    }
}
