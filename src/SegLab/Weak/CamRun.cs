// `seglab weak cam` as a library call: streams a dataset through a tag classifier's CAMs (Cams.Compute, flip and
// multi-scale), keeps each image's own tags (taken from its label map, as image-level labels would be given), and
// writes per image ID.safetensors (tensor "cam", float32 [C, h, w] at 1/stride of the image, IRN's strided map) and
// ID.png (the pseudo-mask: class ids, unsure pixels as the ignore id). The pseudo-masks are scored against the ground
// truth two ways: every pixel assigned to its best tagged class ("argmax"), and only where the CAM is confident
// against the background rule ("confident", with the share of pixels it covers). An image whose two files exist is
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

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        Cam.Validate();
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
public sealed record CamRunResult(int Images, double ArgmaxMIoU, double ConfidentMIoU, double Coverage, double[] PerClassArgmaxIoU, double ImagesPerSecond, int Skipped)
{
    /// <summary>File name of the scores.</summary>
    public const string FileName = "cam.json";
}

/// <summary>Runs CAMs over a dataset.</summary>
public static class CamRun
{
    /// <summary>CAMs, pseudo-masks and their scores for every image of <paramref name="data"/>, written to <paramref name="outDir"/>.</summary>
    public static CamRunResult Run(TagClassifier model, string[] classifierClasses, ISegmentationDataset data, string outDir, CamRunOptions options,
        IProgress<(int Done, string Id)>? progress = null, CancellationToken cancel = default)
    {
        options.Validate();
        int c = data.Classes.Count;
        if (classifierClasses.Length != c || !classifierClasses.SequenceEqual(data.Classes.Names))
            throw new ArgumentException($"CAM: the classifier was trained on classes [{string.Join(", ", classifierClasses)}] but {data.Root} has [{string.Join(", ", data.Classes.Names)}].");
        Directory.CreateDirectory(outDir);
        var argmax = new MetricAccumulator(c);
        var confident = new MetricAccumulator(c);
        long valid = 0, kept = 0;
        int skipped = 0, computed = 0;
        byte ignore = (byte)data.Classes.IgnoreIndex;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < data.Count && !cancel.IsCancellationRequested; i++)
        {
            var s = data.Load(i);
            if (s.Label is null) throw new DatasetException($"CAM: sample {s.Id} ({s.ImagePath}) has no label map to take its tags from.");
            string camPath = Path.Combine(outDir, s.Id + ".safetensors"), maskPath = Path.Combine(outDir, s.Id + ".png");
            var tags = ImageTags.Of(i, s.Id, s.Label, s.Height, s.Width, c, TagOptions.WholeImage(options.TagMinPixels))[0].Tags;
            Tensor full;
            if (File.Exists(camPath) && File.Exists(maskPath))
            {
                full = ReadCam(camPath, c, s.Height, s.Width, options.StoreStride);
                skipped++;
            }
            else
            {
                full = Cams.Compute(model, s.ImageTensor(), [tags], options.Cam);
                full = Tensor.FromArray(full.ToArray(), c, s.Height, s.Width);
                int sh = Math.Max(1, s.Height / options.StoreStride), sw = Math.Max(1, s.Width / options.StoreStride);
                var stored = ClassMapLabels.Resize(full, sh, sw);
                SafeTensors.Save(camPath, [new("cam", stored)], new Dictionary<string, string>
                {
                    ["classes"] = string.Join(",", data.Classes.Names), ["tags"] = string.Join(",", tags),
                    ["image_size"] = $"{s.Height}x{s.Width}", ["stride"] = options.StoreStride.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
                computed++;
            }
            var confidentMask = ClassMapLabels.Labels(full, tags, options.Background, ignore);
            if (!File.Exists(maskPath)) Png.Save(maskPath, new Image(s.Width, s.Height, 1, confidentMask));
            var all = ClassMapLabels.Labels(full, tags, BackgroundRule.Constant(0), 0);
            // A pixel of an image with no tag cannot be assigned; it counts as class 0 in the argmax scores.
            var pred = Array.ConvertAll(all, v => (int)v);
            argmax.Add(ImageConfusion.Compute(s.Id, pred, s.Label, c, data.Classes.IgnoreIndex));
            var gtKept = new int[s.Label.Length];
            var predKept = new int[s.Label.Length];
            for (int p = 0; p < gtKept.Length; p++)
            {
                bool isValid = s.Label[p] != data.Classes.IgnoreIndex;
                bool keep = confidentMask[p] != ignore;
                if (isValid) { valid++; if (keep) kept++; }
                gtKept[p] = keep ? s.Label[p] : data.Classes.IgnoreIndex;
                predKept[p] = keep ? confidentMask[p] : 0;
            }
            confident.Add(ImageConfusion.Compute(s.Id, predKept, gtKept, c, data.Classes.IgnoreIndex));
            progress?.Report((i + 1, s.Id));
        }
        var a = argmax.Summarize();
        var k = confident.Summarize();
        var result = new CamRunResult(argmax.Count, a.MIoU, k.MIoU, valid == 0 ? double.NaN : 100.0 * kept / valid, a.PerClassIoU,
            computed / Math.Max(1e-9, clock.Elapsed.TotalSeconds), skipped);
        AtomicFile.Write(Path.Combine(outDir, CamRunResult.FileName), JsonSerializer.SerializeToUtf8Bytes(result, TagTrainer.Json));
        return result;
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
}
