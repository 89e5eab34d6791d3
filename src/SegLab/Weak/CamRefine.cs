// Refinement as a stage of the weak pipeline (PAPERS.md C.2), `seglab weak refine`: reads a CAM folder written by
// `seglab weak cam`, refines each image's CAMs and writes, like the CAM stage, ID.png (the confident mask, unsure
// pixels as the ignore id, or as the background class on VOC style data), ID.argmax.png (every pixel its best tagged class) and refine.json (both scored against the
// ground truth). The tags are the CAM file's own, so a class the image was not tagged with never enters (tested).
//   crf-psa: dense CRF of [(1 - max)^alpha, CAMs] as probabilities (psa tool/imutils.crf_inference);
//   crf-irn: dense CRF of the constant-background labels by unary_from_labels(0.7) (irn crf_inference_label);
//   rw:      random walk on the stride-4 grid of the stored CAMs, A = a^beta, 2^logt steps; background walked (PSA,
//            pow:ALPHA) or a constant after the walk (IRN, 0.25). The affinities a are either max(0, cos) of the
//            classifier's scale-1 features (training-free) or AffinityNet's learned exp(-mean|f_i - f_j|) of an
//            AffinityHead run (seglab weak train-affinity) on the same classifier.
using System.Diagnostics;
using System.Text.Json;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.IO;
using SegLab.Imaging;

namespace SegLab.Weak;

/// <summary>Refinement methods of <see cref="CamRefine"/>.</summary>
public enum RefineMethod
{
    /// <summary>Dense CRF with PSA's probability unary and kernels.</summary>
    CrfPsa,

    /// <summary>Dense CRF with IRN's label unary and kernels.</summary>
    CrfIrn,

    /// <summary>Random walk over cosine affinities of the classifier's features.</summary>
    RandomWalk,
}

/// <summary>Settings of a refinement run.</summary>
public sealed record RefineOptions
{
    /// <summary>The method.</summary>
    public RefineMethod Method { get; init; } = RefineMethod.CrfPsa;

    /// <summary>
    /// Background rule (null: the method's default): crf-psa pow:4 (PSA's confident foreground CRF), crf-irn the
    /// constant 0.15 that makes its input labels (IRN's CAM threshold), rw the constant 0.25 (IRN's sem_seg_bg_thres).
    /// </summary>
    public BackgroundRule? Background { get; init; }

    /// <summary>Dense CRF settings (null: the method's preset, <see cref="DenseCrfOptions.Psa"/> or <see cref="DenseCrfOptions.Irn"/>).</summary>
    public DenseCrfOptions? Crf { get; init; }

    /// <summary>Random walk settings (IRN's beta 10, logt 8).</summary>
    public RandomWalkOptions Walk { get; init; } = RandomWalkOptions.Irn;

    /// <summary>
    /// rw: subtract each feature channel's mean over the image before the cosine. ReLU features are all non-negative,
    /// so their plain cosines are high everywhere and the walk blurs the classes together (docs/weak.md).
    /// </summary>
    public bool CenterFeatures { get; init; } = true;

    /// <summary>Neighbourhood radius of the affinities (PSA, IRN: 5).</summary>
    public int Radius { get; init; } = 5;

    /// <summary>The background rule used.</summary>
    public BackgroundRule BackgroundUsed => Background ?? Method switch
    {
        RefineMethod.CrfPsa => BackgroundRule.Power(4),
        RefineMethod.CrfIrn => BackgroundRule.Constant(0.15),
        _ => BackgroundRule.Constant(0.25),
    };

    /// <summary>The CRF settings used.</summary>
    public DenseCrfOptions CrfUsed => Crf ?? (Method == RefineMethod.CrfIrn ? DenseCrfOptions.Irn : DenseCrfOptions.Psa);

    /// <summary>Reads crf, crf-psa, crf-irn, rw (random-walk); throws an ArgumentException naming the text.</summary>
    public static RefineMethod ParseMethod(string text) => text.Trim().ToLowerInvariant() switch
    {
        "crf" or "crf-psa" => RefineMethod.CrfPsa,
        "crf-irn" => RefineMethod.CrfIrn,
        "rw" or "random-walk" => RefineMethod.RandomWalk,
        _ => throw new ArgumentException($"refine method '{text}': expected crf (= crf-psa), crf-irn or rw."),
    };

    /// <summary>The method's name as the CLI spells it.</summary>
    public static string Name(RefineMethod m) => m switch { RefineMethod.CrfPsa => "crf-psa", RefineMethod.CrfIrn => "crf-irn", _ => "rw" };

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        CrfUsed.Validate();
        Walk.Validate();
        if (Radius is < 1 or > 16) throw new ArgumentException($"refine: radius must be in 1..16, got {Radius}.");
        if (Method == RefineMethod.CrfIrn && BackgroundUsed.Alpha is not null)
            throw new ArgumentException("refine: crf-irn needs a constant background (it refines the labels of a threshold), not pow:ALPHA.");
    }
}

/// <summary>Scores of a refinement run.</summary>
/// <param name="Method">crf-psa, crf-irn or rw.</param>
/// <param name="Background">The background rule, in words.</param>
/// <param name="Images">Images scored.</param>
/// <param name="Scores">Argmax and confident scores of the refined masks.</param>
/// <param name="SecondsPerImage">Wall time per refined image of this process (reading, refining, writing).</param>
/// <param name="Skipped">Images already refined by an earlier run (scored from their files).</param>
/// <param name="Affinity">rw: "cosine" or "learned (RUN)"; null for the CRF.</param>
/// <param name="BackgroundClass">The class the background score's pixels get (VOC style), or null: they are unsure (ignore).</param>
public sealed record RefineResult(string Method, string Background, int Images, PseudoMaskScores Scores, double SecondsPerImage, int Skipped, string? Affinity = null,
    string? BackgroundClass = null)
{
    /// <summary>File name of the scores.</summary>
    public const string FileName = "refine.json";
}

/// <summary>Runs a refinement stage over a CAM folder.</summary>
public static class CamRefine
{
    /// <summary>Refines the CAMs in <paramref name="camDir"/> of every image of <paramref name="data"/> into <paramref name="outDir"/>.</summary>
    /// <param name="camDir">A seglab weak cam output folder.</param>
    /// <param name="data">The dataset the CAMs were made of (images for the CRF, labels for the scores).</param>
    /// <param name="model">The tag classifier (needed by rw for its features; may be null for the CRF).</param>
    /// <param name="outDir">Output folder.</param>
    /// <param name="options">Method and settings.</param>
    /// <param name="progress">Images done.</param>
    /// <param name="cancel">Stops after the current image.</param>
    /// <param name="learned">rw: learned affinities (<see cref="AffinityTrainer.Load"/>) instead of the feature cosines.</param>
    public static RefineResult Run(string camDir, ISegmentationDataset data, TagClassifier? model, string outDir, RefineOptions options,
        IProgress<(int Done, string Id)>? progress = null, LearnedAffinity? learned = null, CancellationToken cancel = default)
    {
        if (learned is not null && options.Method != RefineMethod.RandomWalk)
            throw new ArgumentException($"refine: learned affinities ({learned.Dir}) are used by the random walk only, not by {RefineOptions.Name(options.Method)}.");
        options.Validate();
        if (!Directory.Exists(camDir)) throw new DirectoryNotFoundException($"CAM folder '{camDir}' does not exist (run seglab weak cam first).");
        if (options.Method == RefineMethod.RandomWalk && model is null) throw new ArgumentException("refine rw: the classifier is needed for its feature affinities (--classifier).");
        if (model is not null && model.Classes != data.Classes.Count)
            throw new ArgumentException($"refine: the classifier has {model.Classes} classes but {data.Root} has {data.Classes.Count}.");
        int c = data.Classes.Count;
        byte ignore = (byte)data.Classes.IgnoreIndex;
        var background = options.BackgroundUsed;
        Directory.CreateDirectory(outDir);
        int? backgroundClass = ClassMapLabels.BackgroundClass(data.Classes);
        var scorer = new PseudoMaskScorer(c, data.Classes.IgnoreIndex, background, backgroundClass);
        int skipped = 0, computed = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < data.Count && !cancel.IsCancellationRequested; i++)
        {
            var s = data.Load(i);
            if (s.Label is null) throw new DatasetException($"refine: sample {s.Id} ({s.ImagePath}) has no label map to score against.");
            string camPath = Path.Combine(camDir, s.Id + ".safetensors");
            string maskPath = Path.Combine(outDir, s.Id + ".png"), argmaxPath = Path.Combine(outDir, s.Id + ".argmax.png");
            byte[] confident, argmax;
            if (File.Exists(maskPath) && File.Exists(argmaxPath))
            {
                confident = ReadMask(maskPath, s.Width, s.Height);
                argmax = ReadMask(argmaxPath, s.Width, s.Height);
                skipped++;
            }
            else
            {
                if (!File.Exists(camPath)) throw new FileNotFoundException($"No CAM file '{camPath}' for image {s.Id} (run seglab weak cam on the same data and split).", camPath);
                var cam = CamRun.ReadCamFile(camPath, data.Classes.Names, s.Height, s.Width);
                (confident, argmax) = Refine(s, cam, model, options, ignore, learned, camPath);
                // VOC style: the background score's pixels are the background class in the written mask, not unsure.
                if (backgroundClass is int bg) confident = Array.ConvertAll(confident, v => v == ignore ? (byte)bg : v);
                Png.Save(argmaxPath, new Image(s.Width, s.Height, 1, argmax));
                Png.Save(maskPath, new Image(s.Width, s.Height, 1, confident));
                computed++;
            }
            scorer.AddMasks(s.Id, argmax, confident, s.Label, ignore);
            progress?.Report((i + 1, s.Id));
        }
        var result = new RefineResult(RefineOptions.Name(options.Method), background.ToString(), scorer.Count, scorer.Scores(),
            computed == 0 ? double.NaN : clock.Elapsed.TotalSeconds / computed, skipped,
            options.Method != RefineMethod.RandomWalk ? null : learned is null ? (options.CenterFeatures ? "cosine (centred features)" : "cosine") : $"learned ({learned.Dir})",
            backgroundClass is int b ? data.Classes.Names[b] : null);
        AtomicFile.Write(Path.Combine(outDir, RefineResult.FileName), JsonSerializer.SerializeToUtf8Bytes(result, TagTrainer.Json));
        return result;
    }

    /// <summary>The confident and argmax masks of one image; both use only the CAM file's tags.</summary>
    /// <param name="s">The image.</param>
    /// <param name="cam">Its stored CAM.</param>
    /// <param name="model">The classifier (rw).</param>
    /// <param name="options">Method and settings.</param>
    /// <param name="ignore">Label of unsure pixels.</param>
    /// <param name="learned">rw: learned affinities, or null for the feature cosines.</param>
    /// <param name="camPath">The CAM's file, named in errors.</param>
    public static (byte[] Confident, byte[] Argmax) Refine(SegmentationSample s, StoredCam cam, TagClassifier? model, RefineOptions options, byte ignore,
        LearnedAffinity? learned = null, string? camPath = null)
    {
        var background = options.BackgroundUsed;
        int h = s.Height, w = s.Width;
        var full = ClassMapLabels.Resize(cam.Strided, h, w);
        var tags = cam.Tags;
        switch (options.Method)
        {
            case RefineMethod.CrfPsa:
            {
                var r = DenseCrf.RefineCams(Rgb(s), full, tags, background, ignore, options.CrfUsed);
                return (r.Labels, ClassMapLabels.Labels(r.Probabilities, tags, BackgroundRule.Constant(0), ignore));
            }
            case RefineMethod.CrfIrn:
            {
                var labels = ClassMapLabels.Labels(full, tags, background, ignore);
                var r = DenseCrf.RefineLabels(Rgb(s), labels, cam.Strided.Size(0), tags, ignore, options.CrfUsed);
                return (r.Labels, ClassMapLabels.Labels(r.Probabilities, tags, BackgroundRule.Constant(0), ignore));
            }
            default:
            {
                var grid = cam.Strided;
                if (learned is not null && learned.CamStride != cam.Stride)
                    throw new InvalidDataException($"CAM file '{camPath ?? s.Id}' is at stride {cam.Stride}, but the affinity head of {learned.ConfigPath} was trained on CAMs at stride {learned.CamStride}.");
                var affinity = learned is not null
                    ? learned.Head.Affinities(model!, s.ImageTensor(), grid.Size(1), grid.Size(2), options.Radius)
                    : PixelAffinity.FromFeatures(GridFeatures(model!, s.ImageTensor(), grid.Size(1), grid.Size(2), options.CenterFeatures), options.Radius);
                var walked = RandomWalk.Refine(grid, tags, affinity, background, options.Walk);
                return (RandomWalk.Labels(walked, h, w, tags, background, ignore), RandomWalk.Labels(walked with { Background = null }, h, w, tags, BackgroundRule.Constant(0), ignore));
            }
        }
    }

    /// <summary>The classifier's scale-1 features of an image [1, 3, H, W], resized (bilinear) to the walk's grid: [K, gh, gw].</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="image">[1, 3, H, W] in [0, 1].</param>
    /// <param name="gh">Grid height.</param>
    /// <param name="gw">Grid width.</param>
    /// <param name="center">Subtract each channel's mean over the grid.</param>
    public static Tensor GridFeatures(TagClassifier model, Tensor image, int gh, int gw, bool center = false)
    {
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            var f = model.Features(image);
            if (f.Size(2) != gh || f.Size(3) != gw) f = Ops.Interpolate(f, gh, gw, InterpolationMode.Bilinear);
            var a = f.ToArray();
            int n = gh * gw;
            if (center)
                for (int k = 0; k < f.Size(1); k++)
                {
                    var plane = a.AsSpan(k * n, n);
                    float mean = System.Numerics.Tensors.TensorPrimitives.Sum<float>(plane) / n;
                    System.Numerics.Tensors.TensorPrimitives.Subtract(plane, mean, plane);
                }
            return Tensor.FromArray(a, f.Size(1), gh, gw);
        }
        finally
        {
            if (wasTraining) model.TrainMode();
        }
    }

    private static Tensor Rgb(SegmentationSample s) => Tensor.FromArray((float[])s.Image.Clone(), 3, s.Height, s.Width);

    private static byte[] ReadMask(string path, int width, int height)
    {
        var im = Png.Load(path);
        if (im.Width != width || im.Height != height || im.Channels != 1)
            throw new InvalidDataException($"mask '{path}' is {im.Width}x{im.Height}x{im.Channels}; expected {width}x{height}x1 like its image (delete it to recompute).");
        return im.Pixels;
    }
}
