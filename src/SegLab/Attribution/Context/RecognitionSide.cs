// The recognition side of the context study (issue 18 item 4, PAPERS.md B): the CamVid crop classifier of the
// weak-supervision work (SegLab.Weak.TagClassifier, a run folder of `seglab weak train-classifier`) on a crop around
// each object. The crop has the classifier's training crop size (config.json's tags.cropHeight x cropWidth), is
// centred on the centre of the object's box and shifted to lie inside the image (an image smaller than the crop is
// cropped to itself). The variants are built on the whole image and then cropped: mixed_same's "the class nearby",
// no_fg's fill and the corruptions (blurs, fog, zoom, elastic) are defined on the whole scene, and the crop then shows
// exactly the pixels the segmentation side shows in that window. The target is the object's class logit
// (pytorch-grad-cam's ClassifierOutputTarget, as the paper), the quality the class's sigmoid probability (the
// classifier is trained multi-label), and an object is recognised ("correct") when it is at least 0.5.
using System.Text.Json;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Models;
using SegLab.Weak;

namespace SegLab.Attribution.Context;

/// <summary>The recognition side: a crop classifier, the object's class logit on a crop around it, its probability.</summary>
public sealed class RecognitionSide : IContextSide
{
    private readonly Dictionary<int, int> _toClassifier = [];
    private readonly string[] _classifierClasses;
    private readonly ClassTable _datasetClasses;

    /// <summary>A recognition side over <paramref name="classifier"/>.</summary>
    /// <param name="name">Name in reports (the run folder's name).</param>
    /// <param name="classifier">The classifier (eval mode); RGB in [0, 1] in, logits [N, C] out.</param>
    /// <param name="classifierClasses">Its class names, in output order (matched to the dataset's by name).</param>
    /// <param name="datasetClasses">The dataset's class table.</param>
    /// <param name="cropHeight">Crop height (the classifier's training crop).</param>
    /// <param name="cropWidth">Crop width.</param>
    /// <param name="threshold">Probability from which an object counts as recognised.</param>
    public RecognitionSide(string name, TagClassifier classifier, IReadOnlyList<string> classifierClasses, ClassTable datasetClasses, int cropHeight, int cropWidth, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(classifierClasses);
        ArgumentNullException.ThrowIfNull(datasetClasses);
        if (cropHeight < 1 || cropWidth < 1) throw new ArgumentException($"context: the crop {cropWidth}x{cropHeight} of classifier {name} must be positive.");
        if (classifierClasses.Count != classifier.Classes)
            throw new ArgumentException($"context: classifier {name} has {classifier.Classes} outputs but {classifierClasses.Count} class names.");
        if (!(threshold is > 0 and < 1)) throw new ArgumentException($"context: the recognition threshold must be in (0, 1), got {threshold}.");
        Classifier = classifier;
        Model = Wrap(classifier, name);
        _classifierClasses = [.. classifierClasses];
        _datasetClasses = datasetClasses;
        CropHeight = cropHeight;
        CropWidth = cropWidth;
        Threshold = threshold;
    }

    /// <inheritdoc/>
    public string Kind => "recognition";

    /// <inheritdoc/>
    public SegmentationModel Model { get; }

    /// <summary>The classifier.</summary>
    public TagClassifier Classifier { get; }

    /// <summary>Crop height.</summary>
    public int CropHeight { get; }

    /// <summary>Crop width.</summary>
    public int CropWidth { get; }

    /// <summary>Probability from which an object counts as recognised.</summary>
    public double Threshold { get; }

    /// <summary>Words for the run's fingerprint and report.</summary>
    public string Describe() => $"recognition: classifier {Model.Name} ({Classifier.EncoderName}), crops {CropWidth}x{CropHeight} centred on the object, recognised at p >= {Threshold}";

    /// <summary>The classifier as the attribution methods take a model: RGB in [0, 1] in (its preprocessing is its own), logits [N, C] out.</summary>
    /// <param name="classifier">The classifier.</param>
    /// <param name="name">Its name in results.</param>
    public static SegmentationModel Wrap(TagClassifier classifier, string name)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        return new SegmentationModel(name, classifier, Preprocessing.Identity, classifier.Classes);
    }

    /// <summary>Whether <paramref name="path"/> is a run folder of `seglab weak train-classifier` (config.json with tag options and an encoder).</summary>
    /// <param name="path">A --model value.</param>
    public static bool IsClassifierRun(string path)
    {
        string cfg = Path.Combine(path, "config.json");
        if (!Directory.Exists(path) || !File.Exists(cfg)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(cfg));
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Object
                && o.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Object && t.TryGetProperty("cropHeight", out _)
                && o.TryGetProperty("encoder", out _) && doc.RootElement.TryGetProperty("classes", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Loads the classifier of a finished run folder with its crop size and classes.</summary>
    /// <param name="dir">The run folder.</param>
    /// <param name="datasetClasses">The dataset's class table.</param>
    public static RecognitionSide Load(string dir, ClassTable datasetClasses)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string cfg = Path.Combine(dir, "config.json");
        int ch, cw;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(cfg));
            var tags = doc.RootElement.GetProperty("options").GetProperty("tags");
            ch = tags.GetProperty("cropHeight").GetInt32();
            cw = tags.GetProperty("cropWidth").GetInt32();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{cfg}: no crop size (options.tags.cropHeight/cropWidth): {e.Message}", e);
        }
        var classifier = TagTrainer.Load(dir);
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        return new RecognitionSide(name, classifier, TagTrainer.Classes(dir), datasetClasses, ch, cw);
    }

    /// <summary>The classifier output of dataset class <paramref name="datasetClass"/> (matched by name).</summary>
    /// <param name="datasetClass">Class id of the dataset.</param>
    public int ClassifierClass(int datasetClass)
    {
        if (_toClassifier.TryGetValue(datasetClass, out int k)) return k;
        string name = datasetClass >= 0 && datasetClass < _datasetClasses.Count ? _datasetClasses.Names[datasetClass] : $"class {datasetClass}";
        k = Array.FindIndex(_classifierClasses, n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        if (k < 0)
            throw new ArgumentException($"context: '{name}' is not a class of classifier {Model.Name} (its classes: {string.Join(", ", _classifierClasses)}).");
        _toClassifier[datasetClass] = k;
        return k;
    }

    /// <inheritdoc/>
    public void CheckClass(int datasetClass, string className) => ClassifierClass(datasetClass);

    /// <summary>The crop window of an object: the crop size (at most the image's), centred on the box centre, shifted inside the image.</summary>
    /// <param name="inst">The object.</param>
    public (int X0, int Y0, int Width, int Height) Window(ContextInstance inst)
    {
        ArgumentNullException.ThrowIfNull(inst);
        int cw = Math.Min(CropWidth, inst.Width), ch = Math.Min(CropHeight, inst.Height);
        int cx = (inst.Box.X0 + inst.Box.X1) / 2, cy = (inst.Box.Y0 + inst.Box.Y1) / 2;
        int x0 = Math.Clamp(cx - (cw / 2), 0, inst.Width - cw), y0 = Math.Clamp(cy - (ch / 2), 0, inst.Height - ch);
        return (x0, y0, cw, ch);
    }

    /// <inheritdoc/>
    public ContextView View(ContextInstance inst)
    {
        var (x0, y0, cw, ch) = Window(inst);
        var mask = new bool[cw * ch];
        for (int y = 0; y < ch; y++)
            inst.Mask.AsSpan(((y0 + y) * inst.Width) + x0, cw).CopyTo(mask.AsSpan(y * cw, cw));
        string name = inst.Class < _datasetClasses.Count ? _datasetClasses.Names[inst.Class] : $"class {inst.Class}";
        return new ContextView(x0, y0, cw, ch, mask, AttributionTarget.ForClass(ClassifierClass(inst.Class), name));
    }

    /// <inheritdoc/>
    public ContextJudgement Judge(ContextInstance inst, ContextView view, float[] image, float[] window, int[]? sceneLabel, ContextOptions options)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(window);
        double p = Probability(window, view.Height, view.Width, view.Target.Class);
        return new ContextJudgement(double.NaN, double.NaN, p, p >= Threshold);
    }

    /// <summary>The sigmoid probability of classifier class <paramref name="cls"/> on one planar crop.</summary>
    /// <param name="crop">Planar [3, h, w] RGB in [0, 1].</param>
    /// <param name="h">h.</param>
    /// <param name="w">w.</param>
    /// <param name="cls">Classifier class.</param>
    public double Probability(float[] crop, int h, int w, int cls)
    {
        ArgumentNullException.ThrowIfNull(crop);
        using var _ = GradMode.NoGrad();
        var logits = Model.Forward(Tensor.FromArray((float[])crop.Clone(), 1, 3, h, w)).ToArray();
        return 1 / (1 + Math.Exp(-logits[cls]));
    }
}
