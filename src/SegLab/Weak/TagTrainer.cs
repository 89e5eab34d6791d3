// Trains IRN's multi-label classifier (PAPERS.md C.1) on image-level tags of crops or whole images, with the
// checkpoints and resume of `seglab train` (src/SegLab/Training/Checkpoint.cs): SGD with momentum, poly decay (power
// 0.9), the classifier at 10x the encoder's learning rate (IRN), weight decay 1e-4, random horizontal flips.
// Determinism: the crop order of an epoch comes from Rng(seed, epoch) and the flips of a step from Rng(seed, step),
// so a resumed run takes exactly the batches and flips the uninterrupted one would.
// Folder: config.json (the options), last.json + step-*.safetensors (resumable), model.safetensors and summary.json
// when finished. Validation (when a val set is given): per-class precision, recall and F1 of sigmoid(logit) > 0.5.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.IO;
using SegLab.Engine.Optim;
using SegLab.Engine.Serialization;
using SegLab.Training;

namespace SegLab.Weak;

/// <summary>Settings of a classifier run.</summary>
public sealed record TagTrainOptions
{
    /// <summary>Encoder name (<see cref="WeakEncoders"/>).</summary>
    public string Encoder { get; init; } = WeakEncoders.Default;

    /// <summary>How tags are taken.</summary>
    public TagOptions Tags { get; init; } = TagOptions.CamVidCrops;

    /// <summary>Epochs over the tagged crops (IRN: 5).</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Crops per step (IRN: 16).</summary>
    public int Batch { get; init; } = 8;

    /// <summary>Encoder learning rate (IRN: 0.1; the classifier gets <see cref="ClassifierLrFactor"/> times it).</summary>
    public double Lr { get; init; } = 0.01;

    /// <summary>Classifier learning rate factor (IRN: 10).</summary>
    public double ClassifierLrFactor { get; init; } = 10;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (IRN: 1e-4).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>
    /// Train the classifier only, the encoder frozen at its initial (for resnet18-imagenet: ImageNet) weights. Left out
    /// of config.json and the resume hash when false, so runs from before the option resume.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool FreezeEncoder { get; init; }

    /// <summary>Random horizontal flips.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Seed of the initialisation, order and flips.</summary>
    public int Seed { get; init; }

    /// <summary>Write a resumable checkpoint every this many steps (and at each epoch's end).</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        Tags.Validate();
        WeakEncoders.Check(Encoder);
        if (Epochs < 1) throw new ArgumentException($"classifier: epochs must be >= 1, got {Epochs}.");
        if (Batch < 1) throw new ArgumentException($"classifier: batch must be >= 1, got {Batch}.");
        if (!(Lr > 0) || !(ClassifierLrFactor > 0)) throw new ArgumentException($"classifier: learning rate {Lr} and classifier factor {ClassifierLrFactor} must be positive.");
        if (Momentum is < 0 or >= 1) throw new ArgumentException($"classifier: momentum must be in [0, 1), got {Momentum}.");
        if (WeightDecay < 0) throw new ArgumentException($"classifier: weight decay must be >= 0, got {WeightDecay}.");
        if (CheckpointEvery < 1) throw new ArgumentException($"classifier: checkpoint interval must be >= 1, got {CheckpointEvery}.");
    }
}

/// <summary>Progress of a classifier run.</summary>
public sealed record TagTrainProgress(long Step, long TotalSteps, int Epoch, double Loss, double CropsPerSecond);

/// <summary>Per-class tag prediction quality on a split.</summary>
public sealed record TagQuality(string[] Classes, double[] Precision, double[] Recall, double[] F1, int[] Positives, int Crops)
{
    /// <summary>Mean F1 over classes that have positives.</summary>
    public double MeanF1 => Enumerable.Range(0, F1.Length).Where(c => Positives[c] > 0).Select(c => F1[c]).DefaultIfEmpty(double.NaN).Average();
}

/// <summary>What a finished classifier run wrote to summary.json.</summary>
public sealed record TagTrainSummary
{
    /// <summary>Encoder used (and whether it was ImageNet-pretrained).</summary>
    public string Encoder { get; init; } = "";

    /// <summary>How tags were taken.</summary>
    public string Tags { get; init; } = "";

    /// <summary>Class names.</summary>
    public string[] Classes { get; init; } = [];

    /// <summary>Tagged crops of the training split.</summary>
    public int TrainCrops { get; init; }

    /// <summary>Crops in which each class is tagged (training split).</summary>
    public int[] TagsPerClass { get; init; } = [];

    /// <summary>Steps taken.</summary>
    public long Steps { get; init; }

    /// <summary>Mean loss per epoch.</summary>
    public double[] EpochLoss { get; init; } = [];

    /// <summary>Seconds of training in all (this process and earlier ones).</summary>
    public double Seconds { get; init; }

    /// <summary>Validation tag quality, or null.</summary>
    public TagQuality? Val { get; init; }
}

/// <summary>Trains a <see cref="TagClassifier"/> on tagged crops.</summary>
public sealed class TagTrainer
{
    /// <summary>File names in a run folder.</summary>
    public const string ConfigFile = "config.json", SummaryFile = "summary.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly TagTrainOptions _o;
    private readonly ISegmentationDataset _train;
    private readonly ISegmentationDataset? _val;
    private readonly string _dir;
    private readonly List<TaggedCrop> _crops;
    private readonly Sgd _encOpt, _clsOpt;
    private readonly PolySchedule _schedule;
    private readonly CropImages _images;
    private CheckpointState _state;

    /// <summary>Prepares a run (tags are taken here); resumes from <paramref name="dir"/>/last.json when asked.</summary>
    public TagTrainer(TagTrainOptions options, ISegmentationDataset train, ISegmentationDataset? val, string dir, bool resume = false, IProgress<int>? tagging = null)
    {
        _o = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _train = train;
        _val = val;
        _dir = dir;
        Directory.CreateDirectory(dir);
        _crops = ImageTags.Of(train, options.Tags, tagging);
        if (_crops.Count < options.Batch)
            throw new ArgumentException($"classifier: {_crops.Count} tagged crops in {train.Root} ({train.Split}) is fewer than one batch of {options.Batch}.");
        Statistics = ImageTags.Statistics(_crops, train.Classes.Count);
        Model = WeakEncoders.CreateClassifier(options.Encoder, train.Classes.Count, options.Seed);
        if (options.FreezeEncoder) Model.Encoder.Freeze();
        _encOpt = new Sgd(Model.Encoder.TrainableParameters(), options.Lr, options.Momentum, options.WeightDecay);
        _clsOpt = new Sgd(Model.Classifier.TrainableParameters(), options.Lr * options.ClassifierLrFactor, options.Momentum, options.WeightDecay);
        BatchesPerEpoch = _crops.Count / options.Batch;
        TotalSteps = (long)options.Epochs * BatchesPerEpoch;
        _schedule = new PolySchedule(options.Lr, TotalSteps, 0.9);
        _images = new CropImages(train);
        _state = new CheckpointState { TotalSteps = TotalSteps, ConfigHash = Hash(options, train) };
        if (resume) Restore();
        AtomicFile.Write(Path.Combine(dir, ConfigFile), JsonSerializer.SerializeToUtf8Bytes(new RunConfig(options, train.Root, train.Split, train.Classes.Names), Json));
    }

    /// <summary>The classifier.</summary>
    public TagClassifier Model { get; }

    /// <summary>Tag counts of the training crops.</summary>
    public TagStatistics Statistics { get; }

    /// <summary>Steps per epoch (the last incomplete batch is dropped).</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>Steps done.</summary>
    public long Step => _state.Step;

    /// <summary>Trains to the end, or until <paramref name="stopAfterStep"/> steps or cancellation (a checkpoint is written).</summary>
    public TagTrainSummary Run(IProgress<TagTrainProgress>? progress = null, long stopAfterStep = long.MaxValue, CancellationToken cancel = default)
    {
        string summaryPath = Path.Combine(_dir, SummaryFile);
        if (_state.Step >= TotalSteps && File.Exists(summaryPath) && File.Exists(Path.Combine(_dir, Checkpoint.FinalWeights)))
            return ReadSummary(_dir);
        var clock = Stopwatch.StartNew();
        double before = _state.Seconds;
        long start = _state.Step;
        int classes = _train.Classes.Count;
        Model.TrainMode();
        while (_state.Step < TotalSteps && _state.Step < stopAfterStep && !cancel.IsCancellationRequested)
        {
            long step = _state.Step;
            int epoch = (int)(step / BatchesPerEpoch), inEpoch = (int)(step % BatchesPerEpoch);
            var order = Order(epoch);
            var flips = new Rng(_o.Seed * 1_000_003L + step + 1);
            var batch = new List<TaggedCrop>(_o.Batch);
            for (int i = 0; i < _o.Batch; i++) batch.Add(_crops[order[inEpoch * _o.Batch + i]]);
            var x = _images.Batch(batch, b => _o.Flip && flips.NextDouble() < 0.5);
            var y = Tensor.FromArray(batch.SelectMany(c => c.Target(classes)).ToArray(), batch.Count, classes);
            double lr = _schedule.LearningRate(step);
            _encOpt.LearningRate = lr;
            _clsOpt.LearningRate = lr * _o.ClassifierLrFactor;
            _encOpt.ZeroGrad();
            _clsOpt.ZeroGrad();
            var loss = MultiLabelLoss.SoftMargin(Model.Forward(x), y);
            double l = loss.Item();
            if (!double.IsFinite(l)) throw new InvalidOperationException($"classifier: the loss became {l} at step {step + 1} (learning rate {lr:G3}); lower the learning rate.");
            loss.Backward();
            _encOpt.Step();
            _clsOpt.Step();
            long next = step + 1;
            bool epochEnd = next % BatchesPerEpoch == 0;
            _state = _state.WithStepLoss(l).AfterStep(next, BatchesPerEpoch, lr);
            if (epochEnd) _state = _state.WithEpochLossClosed();
            progress?.Report(new TagTrainProgress(next, TotalSteps, _state.Epoch, l, (next - start) * _o.Batch / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
            if (epochEnd || next % _o.CheckpointEvery == 0 || next == TotalSteps) SaveLast(before + clock.Elapsed.TotalSeconds);
        }
        if (_state.Step < TotalSteps)
        {
            SaveLast(before + clock.Elapsed.TotalSeconds);
            return Summary(null);
        }
        SafeTensors.Save(Path.Combine(_dir, Checkpoint.FinalWeights), Model.StateDict());
        var val = _val is null ? null : Quality(Model, _val, _o.Tags);
        var summary = Summary(val);
        AtomicFile.Write(summaryPath, JsonSerializer.SerializeToUtf8Bytes(summary, Json));
        return summary;
    }

    /// <summary>Tag prediction quality of a classifier on a dataset's crops (sigmoid &gt; 0.5).</summary>
    public static TagQuality Quality(TagClassifier model, ISegmentationDataset data, TagOptions tags, int batch = 8)
    {
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            return Quality(model.Forward, model.Classes, data, tags, batch);
        }
        finally
        {
            if (wasTraining) model.TrainMode();
        }
    }

    /// <summary>
    /// Tag prediction quality of any multi-label model given by its <paramref name="logits"/> ([B, 3, h, w] crops in
    /// [0, 1] to [B, classes]; a logit above 0 predicts the tag), under no-grad; the caller sets the model's mode.
    /// </summary>
    public static TagQuality Quality(Func<Tensor, Tensor> logits, int classes, ISegmentationDataset data, TagOptions tags, int batch)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(data);
        var crops = ImageTags.Of(data, tags);
        int c = classes;
        var tp = new int[c]; var fp = new int[c]; var fn = new int[c]; var pos = new int[c];
        var images = new CropImages(data);
        using (GradMode.NoGrad())
            for (int i = 0; i < crops.Count; i += batch)
            {
                var part = crops.Skip(i).Take(batch).ToList();
                var values = logits(images.Batch(part, _ => false)).ToArray();
                for (int j = 0; j < part.Count; j++)
                {
                    var t = part[j].Target(c);
                    for (int k = 0; k < c; k++)
                    {
                        bool p = values[j * c + k] > 0, g = t[k] > 0;
                        if (g) pos[k]++;
                        if (p && g) tp[k]++; else if (p) fp[k]++; else if (g) fn[k]++;
                    }
                }
            }
        double Div(int a, int b) => b == 0 ? double.NaN : (double)a / b;
        var prec = Enumerable.Range(0, c).Select(k => Div(tp[k], tp[k] + fp[k])).ToArray();
        var rec = Enumerable.Range(0, c).Select(k => Div(tp[k], tp[k] + fn[k])).ToArray();
        var f1 = Enumerable.Range(0, c).Select(k => Div(2 * tp[k], 2 * tp[k] + fp[k] + fn[k])).ToArray();
        return new TagQuality(data.Classes.Names, prec, rec, f1, pos, crops.Count);
    }

    /// <summary>Reads a finished run's summary.json, naming the file when it is missing or malformed.</summary>
    public static TagTrainSummary ReadSummary(string dir)
    {
        string path = Path.Combine(dir, SummaryFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{dir}' is not a finished classifier run: no {SummaryFile}.", path);
        try { return JsonSerializer.Deserialize<TagTrainSummary>(File.ReadAllBytes(path), Json) ?? throw new FormatException($"'{path}' is empty."); }
        catch (JsonException e) { throw new FormatException($"'{path}' is not a valid classifier summary: {e.Message}", e); }
    }

    /// <summary>Loads the classifier of a finished run folder.</summary>
    public static TagClassifier Load(string dir)
    {
        string cfgPath = Path.Combine(dir, ConfigFile), weights = Path.Combine(dir, Checkpoint.FinalWeights);
        if (!File.Exists(cfgPath)) throw new FileNotFoundException($"'{dir}' is not a classifier run: no {ConfigFile}.", cfgPath);
        if (!File.Exists(weights)) throw new FileNotFoundException($"Classifier run '{dir}' has not finished: no {Checkpoint.FinalWeights} (resume it with --resume).", weights);
        RunConfig cfg;
        try { cfg = JsonSerializer.Deserialize<RunConfig>(File.ReadAllBytes(cfgPath), Json) ?? throw new FormatException($"'{cfgPath}' is empty."); }
        catch (JsonException e) { throw new FormatException($"'{cfgPath}' is not a valid classifier config: {e.Message}", e); }
        var model = WeakEncoders.CreateClassifier(cfg.Options.Encoder, cfg.Classes.Length, cfg.Options.Seed, pretrained: false);
        model.LoadStateDict(SafeTensors.Load(weights).ToStateDict(), strict: true, source: weights);
        model.Eval();
        return model;
    }

    /// <summary>Class names a run was trained on.</summary>
    public static string[] Classes(string dir)
    {
        string cfgPath = Path.Combine(dir, ConfigFile);
        if (!File.Exists(cfgPath)) throw new FileNotFoundException($"'{dir}' is not a classifier run: no {ConfigFile}.", cfgPath);
        return (JsonSerializer.Deserialize<RunConfig>(File.ReadAllBytes(cfgPath), Json) ?? throw new FormatException($"'{cfgPath}' is empty.")).Classes;
    }

    private TagTrainSummary Summary(TagQuality? val) => new()
    {
        Encoder = WeakEncoders.Describe(_o.Encoder) + (_o.FreezeEncoder ? "; encoder frozen, classifier trained alone" : ""),
        Tags = _o.Tags.ToString(),
        Classes = _train.Classes.Names,
        TrainCrops = _crops.Count,
        TagsPerClass = Statistics.PerClass,
        Steps = _state.Step,
        EpochLoss = _state.EpochLoss,
        Seconds = _state.Seconds,
        Val = val,
    };

    private int[] Order(int epoch) => new Rng(_o.Seed * 7_919L + epoch + 17).Permutation(_crops.Count);

    private void SaveLast(double seconds)
    {
        var extra = _encOpt.ExportState().Select(kv => new KeyValuePair<string, Tensor>("encoder." + kv.Key, kv.Value))
            .Concat(_clsOpt.ExportState().Select(kv => new KeyValuePair<string, Tensor>("classifier." + kv.Key, kv.Value)));
        _state = Checkpoint.Save(_dir, _state with { Seconds = seconds }, Model.StateDict(), extra);
    }

    private void Restore()
    {
        string path = Path.Combine(_dir, Checkpoint.LastState);
        var st = Checkpoint.Read(path);
        if (st.ConfigHash != _state.ConfigHash)
            throw new ArgumentException($"'{path}' was written under other classifier settings or data (hash {st.ConfigHash}, now {_state.ConfigHash}); see {Path.Combine(_dir, ConfigFile)}.");
        string w = Path.Combine(_dir, st.WeightsFile), o = Path.Combine(_dir, st.OptimizerFile);
        Model.LoadStateDict(SafeTensors.Load(w).ToStateDict(), strict: true, source: w);
        var extra = SafeTensors.Load(o).ToTensors(DType.Float32);
        Dictionary<string, Tensor> Part(string prefix) => extra.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        _encOpt.ImportState(Part("encoder."), o);
        _clsOpt.ImportState(Part("classifier."), o);
        _state = st;
    }

    private static string Hash(TagTrainOptions o, ISegmentationDataset train) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new RunConfig(o with { CheckpointEvery = 0 }, Path.GetFullPath(train.Root), train.Split, train.Classes.Names), Json))))[..16];

    /// <summary>What config.json holds.</summary>
    internal sealed record RunConfig(TagTrainOptions Options, string Data, string Split, string[] Classes);
}

/// <summary>Decodes dataset images once (as bytes) and cuts crops from them into batches.</summary>
internal sealed class CropImages(ISegmentationDataset data)
{
    private readonly Dictionary<int, (byte[] Rgb, int H, int W)> _cache = [];

    /// <summary>[B, 3, h, w] of equally sized crops in [0, 1], each mirrored where <paramref name="flip"/> says.</summary>
    public Tensor Batch(IReadOnlyList<TaggedCrop> crops, Func<int, bool> flip)
    {
        int h = crops[0].Height, w = crops[0].Width, plane = h * w;
        var x = new float[crops.Count * 3 * plane];
        for (int b = 0; b < crops.Count; b++)
        {
            var c = crops[b];
            if (c.Height != h || c.Width != w) throw new ArgumentException($"crops of one batch differ in size ({h}x{w} and {c.Height}x{c.Width}, image {c.ImageId}); whole-image tags need images of one size.");
            var (rgb, ih, iw) = Image(c.Index);
            bool f = flip(b);
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < h; y++)
                {
                    int src = ch * ih * iw + (c.Y + y) * iw + c.X, dst = ((b * 3 + ch) * h + y) * w;
                    for (int i = 0; i < w; i++) x[dst + i] = rgb[src + (f ? w - 1 - i : i)] / 255f;
                }
        }
        return Tensor.FromArray(x, crops.Count, 3, h, w);
    }

    private (byte[], int, int) Image(int index)
    {
        if (_cache.TryGetValue(index, out var e)) return e;
        var s = data.Load(index);
        var bytes = new byte[s.Image.Length];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)Math.Clamp((int)Math.Round(s.Image[i] * 255f), 0, 255);
        return _cache[index] = (bytes, s.Height, s.Width);
    }
}
