// `seglab weak cam` as a library call: streams a dataset through a tag classifier's CAMs (Cams.Compute, flip and
// multi-scale), keeps each image's own tags (taken from its label map, as image-level labels would be given), and
// writes per image ID.safetensors (tensor "cam", float32 [C, h, w] at 1/stride of the image, IRN's strided map) and
// ID.png (the pseudo-mask: class ids, unsure pixels as the ignore id). The pseudo-masks are scored against the ground
// truth two ways: every pixel assigned to its best tagged class ("argmax"), and only where the CAM is confident
// against the background rule ("confident", with the share of pixels it covers). On a dataset with a background class
// (VOC style, ClassMapLabels.BackgroundClass) the background score's pixels are that class, not unsure: the confident
// mask covers every pixel and its mIoU is the VOC one, background scored as a class. An image whose two files exist is
// skipped, so an interrupted run resumes; cam.json (written atomically at the end) holds the scores.
using System.Diagnostics;
using System.Text.Json;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.IO;
using SegLab.Engine.Serialization;
using SegLab.Imaging;
using SegLab.Metrics;

namespace SegLab.Weak;

/// <summary>Settings of a CAM run.</summary>
public sealed record CamRunOptions
{
    /// <summary>CAM test-time augmentation.</summary>
    public CamOptions Cam { get; init; } = new();

    /// <summary>Background rule of the pseudo-masks (IRN: constant 0.15).</summary>
    public BackgroundRule Background { get; init; } = BackgroundRule.Constant();

    /// <summary>A class is an image's tag where it covers at least this many pixels of the whole image.</summary>
    public int TagMinPixels { get; init; } = 1;

    /// <summary>CAMs are stored at 1/stride of the image size (IRN's strided maps: 4).</summary>
    public int StoreStride { get; init; } = 4;

    /// <summary>
    /// Also refine the CAMs by iSeg (Ent-Self and K propagations) over the cosine affinities of the classifier's
    /// features at scale 1, and score those masks beside the CAM's; null: CAMs only.
    /// </summary>
    public TrainingFree.RefinementOptions? ISeg { get; init; }

    /// <summary>Exponent of the clamped cosine affinity for iSeg (1: none).</summary>
    public double AffinityPower { get; init; } = 1;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        Cam.Validate();
        ISeg?.Validate();
        if (!(AffinityPower > 0) || double.IsInfinity(AffinityPower)) throw new ArgumentException($"CAM: affinity power must be positive, got {AffinityPower}.");
        if (TagMinPixels < 1) throw new ArgumentException($"CAM: tag min pixels must be >= 1, got {TagMinPixels}.");
        if (StoreStride is < 1 or > 32) throw new ArgumentException($"CAM: store stride must be in 1..32, got {StoreStride}.");
    }
}

/// <summary>Scores of pseudo-masks against the ground truth.</summary>
/// <param name="Images">Images scored.</param>
/// <param name="ArgmaxMIoU">mIoU (%) with every pixel given its best tagged class.</param>
/// <param name="ConfidentMIoU">mIoU (%) over the pixels the background rule keeps.</param>
/// <param name="Coverage">Share (%) of valid pixels the background rule keeps.</param>
/// <param name="PerClassArgmaxIoU">Per-class IoU (%) of the argmax masks.</param>
/// <param name="ImagesPerSecond">Throughput of this process (CAMs, files and scoring).</param>
/// <param name="Skipped">Images already done by an earlier run (not recomputed; scored from their files).</param>
/// <param name="Refined">The same scores of the iSeg-refined maps, when asked for.</param>
/// <param name="PerClassConfidentIoU">Per-class IoU (%) of the confident masks (with a background class: the VOC scores).</param>
/// <param name="BackgroundClass">The class the background score's pixels get (VOC style), or null: they are unsure (ignore).</param>
public sealed record CamRunResult(int Images, double ArgmaxMIoU, double ConfidentMIoU, double Coverage, double[] PerClassArgmaxIoU, double ImagesPerSecond, int Skipped,
    PseudoMaskScores? Refined = null, double[]? PerClassConfidentIoU = null, string? BackgroundClass = null)
{
    /// <summary>File name of the scores.</summary>
    public const string FileName = "cam.json";

    /// <summary>The scores file of shard <paramref name="index"/> of <paramref name="count"/> (1-based): cam.shard-I-of-N.json.</summary>
    /// <param name="index">The shard, 1..count.</param>
    /// <param name="count">Number of shards.</param>
    public static string ShardFileName(int index, int count) => $"cam.shard-{index}-of-{count}.json";
}

/// <summary>Scores of one kind of pseudo-mask.</summary>
/// <param name="ArgmaxMIoU">mIoU (%) with every pixel given its best tagged class.</param>
/// <param name="ConfidentMIoU">mIoU (%) over the pixels the background rule keeps.</param>
/// <param name="Coverage">Share (%) of valid pixels the background rule keeps.</param>
/// <param name="PerClassArgmaxIoU">Per-class IoU (%) of the argmax masks.</param>
/// <param name="PerClassConfidentIoU">Per-class IoU (%) of the confident masks over the pixels they keep.</param>
public sealed record PseudoMaskScores(double ArgmaxMIoU, double ConfidentMIoU, double Coverage, double[] PerClassArgmaxIoU, double[]? PerClassConfidentIoU = null);

/// <summary>
/// Accumulates argmax and confident scores of pseudo-masks from normalised class maps. With a background class
/// (VOC style) the background score's pixels are that class in the confident mask, which then covers every pixel.
/// </summary>
internal sealed class PseudoMaskScorer(int classes, int ignoreIndex, BackgroundRule background, int? backgroundClass = null)
{
    private readonly MetricAccumulator _argmax = new(classes), _confident = new(classes);
    private long _valid, _kept;

    public int Count => _argmax.Count;

    /// <summary>Scores the maps [C, H, W] of one image; returns its confident mask (background pixels as the background class, else as the ignore id).</summary>
    public byte[] Add(string id, Tensor maps, int[] tags, int[] label)
    {
        byte ignore = (byte)ignoreIndex;
        var confidentMask = ClassMapLabels.Labels(maps, tags, background, backgroundClass is int b ? (byte)b : ignore);
        var argmax = ClassMapLabels.Labels(maps, tags, BackgroundRule.Constant(0), ignore);
        AddMasks(id, argmax, confidentMask, label, ignore);
        return confidentMask;
    }

    /// <summary>
    /// Scores an image's argmax mask and confident mask (unsure pixels as <paramref name="unsure"/>; with a background
    /// class they are taken as that class, so a mask whose background is still the ignore id scores as VOC does).
    /// </summary>
    public void AddMasks(string id, byte[] argmax, byte[] confidentMask, int[] label, byte unsure)
    {
        if (backgroundClass is int bg) confidentMask = Array.ConvertAll(confidentMask, v => v == unsure ? (byte)bg : v);
        // A pixel of an image with no tag cannot be assigned; it counts as class 0 in the argmax scores.
        var pred = Array.ConvertAll(argmax, v => v == unsure || v >= classes ? 0 : (int)v);
        _argmax.Add(ImageConfusion.Compute(id, pred, label, classes, ignoreIndex));
        var gtKept = new int[label.Length];
        var predKept = new int[label.Length];
        for (int p = 0; p < label.Length; p++)
        {
            bool keep = confidentMask[p] != unsure;
            if (label[p] != ignoreIndex) { _valid++; if (keep) _kept++; }
            gtKept[p] = keep ? label[p] : ignoreIndex;
            predKept[p] = keep ? confidentMask[p] : 0;
        }
        _confident.Add(ImageConfusion.Compute(id, predKept, gtKept, classes, ignoreIndex));
    }

    public PseudoMaskScores Scores()
    {
        var a = _argmax.Summarize();
        var k = _confident.Summarize();
        return new PseudoMaskScores(a.MIoU, k.MIoU, _valid == 0 ? double.NaN : 100.0 * _kept / _valid, a.PerClassIoU, k.PerClassIoU);
    }
}

/// <summary>Runs CAMs over a dataset.</summary>
public static class CamRun
{
    /// <summary>CAMs, pseudo-masks and their scores for every image of <paramref name="data"/>, written to <paramref name="outDir"/>.</summary>
    /// <param name="model">The tag classifier.</param>
    /// <param name="classifierClasses">The classes it was trained on.</param>
    /// <param name="data">The images (their label maps give the tags and the scores).</param>
    /// <param name="outDir">Output folder.</param>
    /// <param name="options">Settings.</param>
    /// <param name="progress">Images done.</param>
    /// <param name="trainedTags">Per class, how many training crops were tagged with it (null: not checked); a tag of a
    /// class with 0 is an error naming <paramref name="classifierSource"/>.</param>
    /// <param name="classifierSource">The classifier's run folder or file, for messages.</param>
    /// <param name="resultFile">The scores' file name in <paramref name="outDir"/>: cam.json, or a shard's (<see cref="CamRunResult.ShardFileName"/>).</param>
    /// <param name="cancel">Stops after the current image.</param>
    public static CamRunResult Run(TagClassifier model, string[] classifierClasses, ISegmentationDataset data, string outDir, CamRunOptions options,
        IProgress<(int Done, string Id)>? progress = null, IReadOnlyList<int>? trainedTags = null, string classifierSource = "the classifier",
        string resultFile = CamRunResult.FileName, CancellationToken cancel = default)
    {
        options.Validate();
        int c = data.Classes.Count;
        if (classifierClasses.Length != c || !classifierClasses.SequenceEqual(data.Classes.Names))
            throw new ArgumentException($"CAM: {classifierSource} was trained on classes [{string.Join(", ", classifierClasses)}] but {data.Root} has [{string.Join(", ", data.Classes.Names)}].");
        Directory.CreateDirectory(outDir);
        int? backgroundClass = ClassMapLabels.BackgroundClass(data.Classes);
        var cam = new PseudoMaskScorer(c, data.Classes.IgnoreIndex, options.Background, backgroundClass);
        var refined = options.ISeg is null ? null : new PseudoMaskScorer(c, data.Classes.IgnoreIndex, options.Background, backgroundClass);
        int skipped = 0, computed = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < data.Count && !cancel.IsCancellationRequested; i++)
        {
            var s = data.Load(i);
            if (s.Label is null) throw new DatasetException($"CAM: sample {s.Id} ({s.ImagePath}) has no label map to take its tags from.");
            string camPath = Path.Combine(outDir, s.Id + ".safetensors"), maskPath = Path.Combine(outDir, s.Id + ".png");
            var tags = ImageTags.Of(i, s.Id, s.Label, s.Height, s.Width, c, TagOptions.WholeImage(options.TagMinPixels), backgroundClass)[0].Tags;
            if (trainedTags is not null)
                foreach (var t in tags)
                    if (t < trainedTags.Count && trainedTags[t] == 0)
                        throw new ArgumentException($"CAM: image {s.Id} is tagged {data.Classes.Names[t]}, a class {classifierSource} was never trained on (no training crop tagged with it).");
            Tensor full;
            Tensor? features = null;
            if (File.Exists(camPath) && File.Exists(maskPath))
            {
                full = ReadCamFile(camPath, data.Classes.Names, s.Height, s.Width).Full(s.Height, s.Width);
                skipped++;
            }
            else
            {
                (full, features) = Cams.ComputeWithFeatures(model, s.ImageTensor(), [tags], options.Cam);
                full = Tensor.FromArray(full.ToArray(), c, s.Height, s.Width);
                int sh = Math.Max(1, s.Height / options.StoreStride), sw = Math.Max(1, s.Width / options.StoreStride);
                var stored = ClassMapLabels.Resize(full, sh, sw);
                SafeTensors.Save(camPath, [new("cam", stored)], new Dictionary<string, string>
                {
                    ["classes"] = string.Join(",", data.Classes.Names), ["tags"] = string.Join(",", tags),
                    ["image_size"] = $"{s.Height}x{s.Width}", ["stride"] = options.StoreStride.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
                // Masks and scores come from the stored maps, as a resumed run (or a shard's files) reads them back and
                // as refine takes them: a fresh, a resumed and a sharded run give the same masks and scores.
                full = ClassMapLabels.Resize(stored, s.Height, s.Width);
                computed++;
            }
            var confidentMask = cam.Add(s.Id, full, tags, s.Label);
            if (!File.Exists(maskPath)) Png.Save(maskPath, new Image(s.Width, s.Height, 1, confidentMask));
            if (refined is not null)
            {
                var maps = RefineByISeg(model, s.ImageTensor(), full, options, features);
                var refinedMask = refined.Add(s.Id, maps, tags, s.Label);
                string refinedPath = Path.Combine(outDir, s.Id + ".iseg.png");
                if (!File.Exists(refinedPath)) Png.Save(refinedPath, new Image(s.Width, s.Height, 1, refinedMask));
            }
            progress?.Report((i + 1, s.Id));
        }
        var k = cam.Scores();
        var result = new CamRunResult(cam.Count, k.ArgmaxMIoU, k.ConfidentMIoU, k.Coverage, k.PerClassArgmaxIoU,
            computed / Math.Max(1e-9, clock.Elapsed.TotalSeconds), skipped, refined?.Scores(), k.PerClassConfidentIoU,
            backgroundClass is int bc ? data.Classes.Names[bc] : null);
        AtomicFile.Write(Path.Combine(outDir, resultFile), JsonSerializer.SerializeToUtf8Bytes(result, TagTrainer.Json));
        return result;
    }

    /// <summary>
    /// iSeg on a CNN: S = cosine affinities of the classifier's features of the image (scale 1), A0 = the CAMs resized
    /// to that grid; refined, resized to the image and min-max normalised per class ([C, H, W]; untagged classes stay 0).
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="image">[1, 3, H, W] in [0, 1].</param>
    /// <param name="cams">[C, H, W] normalised CAMs.</param>
    /// <param name="options">iSeg settings.</param>
    /// <param name="features">The classifier's scale-1 features of the image when already computed (Cams.ComputeWithFeatures), else null.</param>
    public static Tensor RefineByISeg(TagClassifier model, Tensor image, Tensor cams, CamRunOptions options, Tensor? features = null)
    {
        Tensor f;
        if (features is not null) f = features;
        else
        {
            bool wasTraining = model.Training;
            model.Eval();
            using (Engine.Autograd.GradMode.NoGrad()) f = model.Features(image);
            if (wasTraining) model.TrainMode();
        }
        int gh = f.Size(2), gw = f.Size(3), h = cams.Size(1), w = cams.Size(2);
        var s = TrainingFree.FeatureAffinity.Cosine(f, options.AffinityPower);
        var a0 = TrainingFree.FeatureAffinity.Tokens(ClassMapLabels.Resize(cams, gh, gw));
        var r = TrainingFree.AttentionRefinement.Refine(s, a0, options.ISeg);
        return TrainingFree.AttentionRefinement.ToImageMaps(r, gh, gw, h, w);
    }

    /// <summary>Reads a stored CAM and resizes it to the image, checking its class count and size.</summary>
    public static Tensor ReadCam(string path, int classes, int height, int width, int stride)
    {
        var file = SafeTensors.Load(path);
        var tensors = file.ToTensors(DType.Float32);
        if (!tensors.TryGetValue("cam", out var cam)) throw new InvalidDataException($"CAM file '{path}' has no tensor 'cam'.");
        int sh = Math.Max(1, height / stride), sw = Math.Max(1, width / stride);
        if (cam.Rank != 3 || cam.Size(0) != classes || cam.Size(1) != sh || cam.Size(2) != sw)
            throw new InvalidDataException($"CAM file '{path}' holds {Shapes.Format(cam.Shape)}; expected [{classes}, {sh}, {sw}] ({classes} classes, image {height}x{width} at stride {stride}).");
        return ClassMapLabels.Resize(cam, height, width);
    }

    /// <summary>
    /// Reads a stored CAM with its metadata and checks it against the image: the classes (names and count), the image
    /// size, the stride and the tensor's shape; any mismatch is an InvalidDataException naming the file.
    /// </summary>
    public static StoredCam ReadCamFile(string path, IReadOnlyList<string> classes, int height, int width)
    {
        var file = SafeTensors.Load(path);
        var tensors = file.ToTensors(DType.Float32);
        if (!tensors.TryGetValue("cam", out var cam)) throw new InvalidDataException($"CAM file '{path}' has no tensor 'cam'.");
        var meta = file.Metadata;
        if (meta.TryGetValue("classes", out var names) && !names.Split(',').SequenceEqual(classes))
            throw new InvalidDataException($"CAM file '{path}' is of {names.Split(',').Length} classes [{names}], but the dataset has {classes.Count} [{string.Join(",", classes)}].");
        if (meta.TryGetValue("image_size", out var size) && size != $"{height}x{width}")
            throw new InvalidDataException($"CAM file '{path}' is of a {size} image, but the dataset's image is {height}x{width}.");
        int stride = meta.TryGetValue("stride", out var st) && int.TryParse(st, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : 4;
        int sh = Math.Max(1, height / stride), sw = Math.Max(1, width / stride);
        if (cam.Rank != 3 || cam.Size(0) != classes.Count || cam.Size(1) != sh || cam.Size(2) != sw)
            throw new InvalidDataException($"CAM file '{path}' holds {Shapes.Format(cam.Shape)}; expected [{classes.Count}, {sh}, {sw}] ({classes.Count} classes, image {height}x{width} at stride {stride}).");
        if (!meta.TryGetValue("tags", out var tagText)) throw new InvalidDataException($"CAM file '{path}' has no 'tags' metadata (written by seglab weak cam?).");
        var tags = tagText.Length == 0 ? [] : tagText.Split(',').Select(t => int.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var k) && k >= 0 && k < classes.Count ? k
            : throw new InvalidDataException($"CAM file '{path}': tag '{t}' is not a class index in 0..{classes.Count - 1}.")).ToArray();
        return new StoredCam(cam, tags, stride);
    }
}

/// <summary>A CAM as <see cref="CamRun"/> stores it.</summary>
/// <param name="Strided">[C, H / stride, W / stride], max-normalised, untagged classes 0.</param>
/// <param name="Tags">The image's tags.</param>
/// <param name="Stride">The stride.</param>
public sealed record StoredCam(Tensor Strided, int[] Tags, int Stride)
{
    /// <summary>The maps resized to the image (bilinear).</summary>
    public Tensor Full(int height, int width) => ClassMapLabels.Resize(Strided, height, width);
}
