// The `weak` section of a training config (issue 19): the stages of the weak pipeline that `seglab weak run --config
// FILE` chains, tags -> classifier -> cam -> affinity -> refine -> pseudo -> train, each in its own folder under the pipeline's
// folder; the model, data and schedule sections of the same file train the segmenter on the pseudo-masks. Keys are
// snake_case as in the rest of the config; paths are relative to the config file.
namespace SegLab.Weak;

/// <summary>The weak pipeline of a training config.</summary>
public sealed record WeakConfig
{
    /// <summary>The stages to run, in pipeline order (a contiguous part of tags, classifier, cam, affinity, refine, pseudo, train; affinity and refine may be left out).</summary>
    public string[] Stages { get; init; } = [];

    /// <summary>The dataset the tags, CAMs and pseudo-masks are made of (empty: data.dir).</summary>
    public string Data { get; init; } = "";

    /// <summary>Its layout: auto, camvid, voc, folder.</summary>
    public string Layout { get; init; } = "auto";

    /// <summary>Use only the first N training images (0: all).</summary>
    public int Limit { get; init; }

    /// <summary>Tags of crops.</summary>
    public WeakTagsConfig Tags { get; init; } = new();

    /// <summary>The tag classifier.</summary>
    public WeakClassifierConfig Classifier { get; init; } = new();

    /// <summary>CAMs.</summary>
    public WeakCamConfig Cam { get; init; } = new();

    /// <summary>The learned affinity head (AffinityNet), read by refine with affinity: learned.</summary>
    public WeakAffinityConfig Affinity { get; init; } = new();

    /// <summary>Refinement.</summary>
    public WeakRefineConfig Refine { get; init; } = new();

    /// <summary>The canonical order of the stages.</summary>
    public static string[] Order { get; } = ["tags", "classifier", "cam", "affinity", "refine", "pseudo", "train"];

    /// <summary>Stages a chain may leave out.</summary>
    public static string[] Optional { get; } = ["affinity", "refine"];

    /// <summary>
    /// Checks that the stages exist and chain: in pipeline order, without gaps (affinity and refine may be skipped),
    /// and that an affinity stage feeds a refine stage that reads it (rw with affinity: learned). Returns a message
    /// naming the problem, or null when they chain.
    /// </summary>
    public string? ChainProblem()
    {
        if (Stages.Length == 0) return "weak.stages is empty: list the stages to run, e.g. [tags, classifier, cam, refine, pseudo, train]";
        int last = -1;
        foreach (var s in Stages)
        {
            int i = Array.IndexOf(Order, s);
            if (i < 0) return $"weak.stages: unknown stage '{s}' (stages: {string.Join(", ", Order)})";
            if (i <= last) return $"weak.stages: '{s}' comes after '{Order[last]}' or twice; the order is {string.Join(" -> ", Order)}";
            if (last >= 0)
                for (int j = last + 1; j < i; j++)
                    if (!Optional.Contains(Order[j]))
                        return $"weak.stages: '{Order[last]}' does not chain to '{s}': '{Order[j]}' is missing between them";
            last = i;
        }
        if (Refine.Affinity is not ("cosine" or "learned")) return $"weak.refine.affinity: '{Refine.Affinity}' is neither cosine nor learned";
        RefineMethod method;
        try { method = RefineOptions.ParseMethod(Refine.Method); }
        catch (ArgumentException e) { return "weak.refine.method: " + e.Message.TrimEnd('.'); }
        if (Refine.LearnedAffinity && method != RefineMethod.RandomWalk)
            return $"weak.refine.affinity is learned, but weak.refine.method is {Refine.Method}: learned affinities are read by the random walk (rw) only";
        if (Stages.Contains("affinity"))
        {
            if (!Stages.Contains("refine")) return "weak.stages has 'affinity' but no 'refine' to read its affinities";
            if (!Refine.LearnedAffinity) return "weak.stages has 'affinity' but weak.refine.affinity is not learned: set weak.refine.method: rw and weak.refine.affinity: learned";
        }
        return null;
    }
}

/// <summary>weak.tags.</summary>
public sealed record WeakTagsConfig
{
    /// <summary>Crop [height, width], or [] for whole images (VOC style).</summary>
    public int[] Crop { get; init; } = [120, 160];

    /// <summary>Stride [y, x] ([]: the crop size).</summary>
    public int[] Stride { get; init; } = [];

    /// <summary>A class is present from this many pixels of the crop.</summary>
    public int MinPixels { get; init; } = 200;

    /// <summary>The tag options.</summary>
    public TagOptions ToOptions()
    {
        if (Crop.Length == 0) return TagOptions.WholeImage(MinPixels);
        if (Crop.Length != 2) throw new ArgumentException($"weak.tags.crop must be [height, width] or [], got {Crop.Length} values.");
        var st = Stride.Length == 2 ? Stride : Crop;
        return new TagOptions(Crop[0], Crop[1], st[0], st[1], MinPixels);
    }
}

/// <summary>weak.classifier.</summary>
public sealed record WeakClassifierConfig
{
    /// <summary>Encoder name (resnet18-imagenet, scratch-resnet).</summary>
    public string Encoder { get; init; } = WeakEncoders.Default;

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Crops per step.</summary>
    public int Batch { get; init; } = 8;

    /// <summary>Encoder learning rate (classifier 10x).</summary>
    public double Lr { get; init; } = 0.01;

    /// <summary>Split to score the tag predictions on ("none": skip).</summary>
    public string ValSplit { get; init; } = "val";
}

/// <summary>weak.cam.</summary>
public sealed record WeakCamConfig
{
    /// <summary>Test-time scales.</summary>
    public double[] Scales { get; init; } = [1.0, 0.5, 1.5, 2.0];

    /// <summary>Flip test-time augmentation.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Background rule: a constant or pow:ALPHA.</summary>
    public string Background { get; init; } = "0.15";
}

/// <summary>weak.affinity: AffinityNet's head (seglab weak train-affinity).</summary>
public sealed record WeakAffinityConfig
{
    /// <summary>Confident foreground threshold (IRN: 0.30).</summary>
    public double FgThreshold { get; init; } = 0.30;

    /// <summary>Confident background threshold (IRN: 0.05).</summary>
    public double BgThreshold { get; init; } = 0.05;

    /// <summary>Pair radius on the CAM grid.</summary>
    public int Radius { get; init; } = 5;

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Images per step.</summary>
    public int Batch { get; init; } = 4;

    /// <summary>Learning rate.</summary>
    public double Lr { get; init; } = 0.1;

    /// <summary>Embedding channels.</summary>
    public int Dim { get; init; } = 64;

    /// <summary>The training options (seed: the config's).</summary>
    public AffinityTrainOptions ToOptions(int seed) => new()
    {
        Labels = new AffinityLabelOptions { Foreground = FgThreshold, Background = BgThreshold, Radius = Radius },
        Epochs = Epochs, Batch = Batch, Lr = Lr, Dim = Dim, Seed = seed,
    };
}

/// <summary>weak.refine.</summary>
public sealed record WeakRefineConfig
{
    /// <summary>crf (crf-psa), crf-irn or rw.</summary>
    public string Method { get; init; } = "crf";

    /// <summary>Background rule ("": the method's default).</summary>
    public string Background { get; init; } = "";

    /// <summary>rw: beta.</summary>
    public double Beta { get; init; } = 10;

    /// <summary>rw: log2 of the steps.</summary>
    public int Logt { get; init; } = 8;

    /// <summary>rw: the affinities, cosine (of the classifier's features, training-free) or learned (the affinity stage's head).</summary>
    public string Affinity { get; init; } = "cosine";

    /// <summary>Whether refine reads the affinity stage's head.</summary>
    public bool LearnedAffinity => Affinity == "learned";

    /// <summary>The refinement options.</summary>
    public RefineOptions ToOptions() => new()
    {
        Method = RefineOptions.ParseMethod(Method),
        Background = Background.Length == 0 ? null : BackgroundRule.Parse(Background),
        Walk = new RandomWalkOptions { Beta = Beta, LogT = Logt },
    };
}
