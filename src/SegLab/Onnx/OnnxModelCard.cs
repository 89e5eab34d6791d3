// The model card that travels beside an imported model (FILE.onnx.json): ONNX carries neither the input convention
// nor class names, so the card gives the classes (a built-in table, a classes.json beside it, or a list of names),
// the input (channel order, scale, mean, std: model input = (scale * x - mean) / std for x in [0, 1], per channel in
// the model's channel order) and optionally how many leading output channels are scored. With it an .onnx file is a
// SegmentationModel like any table entry. Unknown keys are errors, so typos do not pass silently.
using System.Text.Json;
using SegLab.Data;
using SegLab.Models;

namespace SegLab.Onnx;

/// <summary>An imported model's card: classes, input convention and scored outputs.</summary>
/// <param name="Classes">The class table outputs are scored against.</param>
/// <param name="Preprocessing">How an RGB image in [0, 1] becomes the model's input.</param>
/// <param name="ScoredOutputs">Leading output channels that are scored (the class count).</param>
public sealed record OnnxModelCard(ClassTable Classes, Preprocessing Preprocessing, int ScoredOutputs)
{
    /// <summary>What a card looks like (shown when one is missing or wrong).</summary>
    public const string Example =
        """{ "classes": "camvid", "input": { "channels": "rgb", "scale": 255, "mean": [105.7, 103.3, 99.6], "std": [1, 1, 1] }, "outputs": 11 }""";

    /// <summary>The card of <paramref name="onnxPath"/>: FILE.onnx.json beside it.</summary>
    /// <param name="onnxPath">The .onnx file.</param>
    public static string PathFor(string onnxPath) => onnxPath + ".json";

    /// <summary>Whether a --model argument names an ONNX file.</summary>
    /// <param name="nameOrPath">A --model argument.</param>
    public static bool IsOnnx(string nameOrPath) => nameOrPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the card beside <paramref name="onnxPath"/>; a missing or invalid card is an error naming it, with an example.</summary>
    /// <param name="onnxPath">The .onnx file.</param>
    public static OnnxModelCard Load(string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(onnxPath);
        string path = PathFor(onnxPath);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The ONNX model '{onnxPath}' has no model card: write '{path}' with its classes and input convention, e.g. {Example}", path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw Error(path, $"not valid JSON ({e.Message})");
        }
        using (doc)
            return Parse(doc.RootElement, path);
    }

    /// <summary>
    /// An .onnx file with its card as a segmentation model in eval mode (one image input of 3 channels, logits out),
    /// optionally with other weights (a safetensors file keyed by the graph's state-dict names, loaded strictly).
    /// </summary>
    /// <param name="onnxPath">The .onnx file (its card beside it).</param>
    /// <param name="weightsPath">A safetensors file, or null for the ONNX file's own initializers.</param>
    public static SegmentationModel LoadModel(string onnxPath, string? weightsPath = null)
    {
        ArgumentNullException.ThrowIfNull(onnxPath);
        var card = Load(onnxPath);
        var graph = OnnxGraph.Load(onnxPath);
        var inputs = graph.Model.Inputs;
        if (inputs.Count != 1 || inputs[0].Dims.Length != 4 || inputs[0].Dims[1] is not (null or 3))
            throw new OnnxUnsupportedException($"'{onnxPath}' is not an image model SegLab can score: it needs one input [N, 3, H, W] (it has {string.Join(", ", inputs.Select(i => i.Name + " " + i.ShapeText))}).");
        var output = graph.Model.Outputs[0];
        if (output.Dims.Length == 4 && output.Dims[1] is long k && k < card.ScoredOutputs)
            throw new OnnxUnsupportedException($"'{onnxPath}' outputs {k} channels ({output.Name} {output.ShapeText}) but its card scores {card.ScoredOutputs} classes.");
        if (weightsPath is not null)
            graph.LoadStateDict(SegLab.Engine.Serialization.SafeTensors.Load(weightsPath).ToTensors(), strict: true, source: weightsPath);
        graph.Eval();
        return new SegmentationModel(Path.GetFileNameWithoutExtension(onnxPath), graph, card.Preprocessing, card.ScoredOutputs);
    }

    private static OnnxModelCard Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Error(path, "the card must be a JSON object");
        Unknown(root, path, "", "classes", "input", "outputs");
        if (!root.TryGetProperty("classes", out var c)) throw Error(path, "'classes' is required");
        var classes = c.ValueKind switch
        {
            JsonValueKind.String => ClassTable.BuiltIn(c.GetString()!) ?? ClassTable.Load(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, c.GetString()!)),
            JsonValueKind.Array => Named(c.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(path, "'classes' entries must be names")).ToList(), path),
            _ => throw Error(path, "'classes' must be a table name (camvid, voc), a classes.json path or a list of names"),
        };
        if (!root.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object) throw Error(path, "'input' is required: an object with channels, scale, mean and std");
        Unknown(input, path, "input.", "channels", "scale", "mean", "std");
        string channels = input.TryGetProperty("channels", out var ch) && ch.ValueKind == JsonValueKind.String ? ch.GetString()! : throw Error(path, "'input.channels' is required: \"rgb\" or \"bgr\"");
        var order = channels.ToLowerInvariant() switch
        {
            "rgb" => ChannelOrder.Rgb,
            "bgr" => ChannelOrder.Bgr,
            _ => throw Error(path, $"'input.channels' is '{channels}'; use \"rgb\" or \"bgr\""),
        };
        double scale = input.TryGetProperty("scale", out var s) ? Number(s, path, "input.scale") : 1;
        double[] mean = input.TryGetProperty("mean", out var m) ? Triple(m, path, "input.mean") : [0, 0, 0];
        double[] std = input.TryGetProperty("std", out var sd) ? Triple(sd, path, "input.std") : [1, 1, 1];
        if (!(scale > 0) || std.Any(v => !(v > 0))) throw Error(path, "'input.scale' and every 'input.std' must be positive");
        int scored = root.TryGetProperty("outputs", out var o) ? (int)Number(o, path, "outputs") : classes.Count;
        if (scored != classes.Count)
            throw Error(path, $"'outputs' is {scored} but the class table has {classes.Count} classes; the first 'outputs' channels are scored, one per class");
        return new OnnxModelCard(classes, new Preprocessing(order, scale, mean, std), scored);
    }

    // A table of the given names, coloured with the VOC palette's bit pattern, void 255 (or the class count if larger).
    private static ClassTable Named(List<string> names, string path)
    {
        if (names.Count == 0) throw Error(path, "'classes' is empty");
        var infos = names.Select((n, i) =>
        {
            int r = 0, g = 0, b = 0;
            for (int bit = 0, id = i + 1; bit < 8; bit++, id >>= 3)
            {
                r |= ((id >> 0) & 1) << (7 - bit);
                g |= ((id >> 1) & 1) << (7 - bit);
                b |= ((id >> 2) & 1) << (7 - bit);
            }
            return new ClassInfo(i, n, (byte)r, (byte)g, (byte)b);
        }).ToList();
        try
        {
            return new ClassTable(Path.GetFileNameWithoutExtension(path), infos, Math.Max(255, names.Count));
        }
        catch (ArgumentException e)
        {
            throw Error(path, e.Message);
        }
    }

    private static void Unknown(JsonElement obj, string path, string prefix, params string[] known)
    {
        foreach (var p in obj.EnumerateObject())
            if (!known.Contains(p.Name, StringComparer.Ordinal))
                throw Error(path, $"unknown key '{prefix}{p.Name}' (known: {string.Join(", ", known.Select(k => prefix + k))})");
    }

    private static double Number(JsonElement e, string path, string key) =>
        e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Error(path, $"'{key}' must be a number");

    private static double[] Triple(JsonElement e, string path, string key)
    {
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 3) throw Error(path, $"'{key}' must be three numbers, one per channel");
        return e.EnumerateArray().Select(v => Number(v, path, key)).ToArray();
    }

    private static FormatException Error(string path, string what) => new($"Model card '{path}': {what}. Example: {Example}");
}
