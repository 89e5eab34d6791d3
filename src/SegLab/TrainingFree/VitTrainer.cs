// Trains a ClassTokenVit on image-level tags of crops (the tags of src/SegLab/Weak, CamVid 120x160 crops by default)
// with the multilabel soft-margin loss, AdamW and a cosine schedule with linear warm-up, random horizontal flips.
// Checkpoints and resume follow TagTrainer (src/SegLab/Weak/TagTrainer.cs): the crop order of epoch e comes from
// Rng(seed, e) and the flips of step s from Rng(seed, s), so a resumed run takes the batches the uninterrupted one would.
// Folder: config.json, last.json + step-*.safetensors (resumable), model.safetensors and summary.json when finished;
// summary.json holds the seconds of each epoch and the validation tag precision, recall and F1 (sigmoid > 0.5).
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.IO;
using SegLab.Engine.Optim;
using SegLab.Engine.Serialization;
using SegLab.Training;
using SegLab.Weak;

namespace SegLab.TrainingFree;

/// <summary>Settings of a class-token ViT run.</summary>
public sealed record VitTrainOptions
{
    /// <summary>Model sizes.</summary>
    public VitOptions Model { get; init; } = new();

    /// <summary>How tags are taken (the crop size must match the model's input size).</summary>
    public TagOptions Tags { get; init; } = TagOptions.CamVidCrops;

    /// <summary>Epochs over the tagged crops.</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Crops per step.</summary>
    public int Batch { get; init; } = 16;

    /// <summary>Peak AdamW learning rate.</summary>
    public double Lr { get; init; } = 5e-4;

    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Share of the steps spent in linear warm-up.</summary>
    public double Warmup { get; init; } = 0.05;

    /// <summary>Random horizontal flips.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Seed of the initialisation, order and flips.</summary>
    public int Seed { get; init; }

    /// <summary>Write a resumable checkpoint every this many steps (and at each epoch's end).</summary>
    public int CheckpointEvery { get; init; } = 50;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        Model.Validate();
        Tags.Validate();
        if (Tags.Whole) throw new ArgumentException("vit: whole-image tags are not supported (the model's input size is fixed); give a crop size.");
        if (Tags.CropHeight != Model.Height || Tags.CropWidth != Model.Width)
            throw new ArgumentException($"vit: the crops {Tags.CropHeight}x{Tags.CropWidth} must match the model's input {Model.Height}x{Model.Width}.");
        if (Epochs < 1) throw new ArgumentException($"vit: epochs must be >= 1, got {Epochs}.");
        if (Batch < 1) throw new ArgumentException($"vit: batch must be >= 1, got {Batch}.");
        if (!(Lr > 0)) throw new ArgumentException($"vit: learning rate must be positive, got {Lr}.");
        if (WeightDecay < 0) throw new ArgumentException($"vit: weight decay must be >= 0, got {WeightDecay}.");
        if (Warmup is < 0 or >= 1) throw new ArgumentException($"vit: warm-up share must be in [0, 1), got {Warmup}.");
        if (CheckpointEvery < 1) throw new ArgumentException($"vit: checkpoint interval must be >= 1, got {CheckpointEvery}.");
    }
}

/// <summary>What a finished ViT run wrote to summary.json.</summary>
public sealed record VitTrainSummary
{
    /// <summary>Model sizes.</summary>
    public VitOptions Model { get; init; } = new();

    /// <summary>Trainable parameters.</summary>
    public long Parameters { get; init; }

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

    /// <summary>Seconds of training steps per epoch (data, forward, backward, update; not checkpoints or validation).</summary>
    public double[] EpochSeconds { get; init; } = [];

    /// <summary>Seconds of the whole run (this process and earlier ones).</summary>
    public double Seconds { get; init; }

    /// <summary>Engine threads of the process that finished the run.</summary>
    public int Threads { get; init; }

    /// <summary>Validation tag quality, or null.</summary>
    public TagQuality? Val { get; init; }
}

/// <summary>Progress of a ViT run.</summary>
public sealed record VitTrainProgress(long Step, long TotalSteps, int Epoch, double Loss, double CropsPerSecond);

/// <summary>Trains a <see cref="ClassTokenVit"/> on tagged crops.</summary>
public sealed class VitTrainer
{
    /// <summary>File names in a run folder.</summary>
    public const string ConfigFile = "config.json", SummaryFile = "summary.json";

    private readonly VitTrainOptions _o;
    private readonly ISegmentationDataset _train;
    private readonly ISegmentationDataset? _val;
    private readonly string _dir;
    private readonly List<TaggedCrop> _crops;
    private readonly AdamW _opt;
    private readonly CosineSchedule _schedule;
    private readonly CropImages _images;
    private CheckpointState _state;

    /// <summary>Prepares a run (tags are taken here); resumes from <paramref name="dir"/>/last.json when asked.</summary>
    public VitTrainer(VitTrainOptions options, ISegmentationDataset train, ISegmentationDataset? val, string dir, bool resume = false, IProgress<int>? tagging = null)
    {
        _o = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _train = train;
        _val = val;
        _dir = dir;
        Directory.CreateDirectory(dir);
        _crops = ImageTags.Of(train, options.Tags, tagging);
        if (_crops.Count < options.Batch)
            throw new ArgumentException($"vit: {_crops.Count} tagged crops in {train.Root} ({train.Split}) is fewer than one batch of {options.Batch}.");
        Statistics = ImageTags.Statistics(_crops, train.Classes.Count);
        Model = new ClassTokenVit(options.Model, train.Classes.Count, options.Seed);
        _opt = new AdamW(Model.TrainableParameters(), options.Lr, weightDecay: options.WeightDecay);
        BatchesPerEpoch = _crops.Count / options.Batch;
        TotalSteps = (long)options.Epochs * BatchesPerEpoch;
        _schedule = new CosineSchedule(options.Lr, TotalSteps, 0, (long)Math.Round(options.Warmup * TotalSteps));
        _images = new CropImages(train);
        _state = new CheckpointState { TotalSteps = TotalSteps, ConfigHash = Hash(options, train) };
        if (resume) Restore();
        AtomicFile.Write(Path.Combine(dir, ConfigFile), JsonSerializer.SerializeToUtf8Bytes(new RunConfig(options, train.Root, train.Split, train.Classes.Names), TagTrainer.Json));
    }

    /// <summary>The model.</summary>
    public ClassTokenVit Model { get; }

    /// <summary>Tag counts of the training crops.</summary>
    public TagStatistics Statistics { get; }

    /// <summary>Steps per epoch (the last incomplete batch is dropped).</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>Steps done.</summary>
    public long Step => _state.Step;

    /// <summary>Trains to the end, or until <paramref name="stopAfterStep"/> steps or cancellation (a checkpoint is written).</summary>
    public VitTrainSummary Run(IProgress<VitTrainProgress>? progress = null, long stopAfterStep = long.MaxValue, CancellationToken cancel = default)
    {
        string summaryPath = Path.Combine(_dir, SummaryFile);
        if (_state.Step >= TotalSteps && File.Exists(summaryPath) && File.Exists(Path.Combine(_dir, Checkpoint.FinalWeights)))
            return ReadSummary(_dir);
        var clock = Stopwatch.StartNew();
        double before = _state.Seconds;
        long start = _state.Step;
        int classes = _train.Classes.Count;
        Model.Train();
        while (_state.Step < TotalSteps && _state.Step < stopAfterStep && !cancel.IsCancellationRequested)
        {
            var stepClock = Stopwatch.StartNew();
            long step = _state.Step;
            int epoch = (int)(step / BatchesPerEpoch), inEpoch = (int)(step % BatchesPerEpoch);
            var order = Order(epoch);
            var flips = new Rng(_o.Seed * 1_000_003L + step + 1);
            var batch = new List<TaggedCrop>(_o.Batch);
            for (int i = 0; i < _o.Batch; i++) batch.Add(_crops[order[inEpoch * _o.Batch + i]]);
            var x = _images.Batch(batch, b => _o.Flip && flips.NextDouble() < 0.5);
            var y = Tensor.FromArray(batch.SelectMany(c => c.Target(classes)).ToArray(), batch.Count, classes);
            double lr = _schedule.LearningRate(step);
            _opt.LearningRate = lr;
            _opt.ZeroGrad();
            var loss = MultiLabelLoss.SoftMargin(Model.Forward(x), y);
            double l = loss.Item();
            if (!double.IsFinite(l)) throw new InvalidOperationException($"vit: the loss became {l} at step {step + 1} (learning rate {lr:G3}); lower the learning rate.");
            loss.Backward();
            _opt.Step();
            long next = step + 1;
            bool epochEnd = next % BatchesPerEpoch == 0;
            double stepSeconds = _state.EpochStepSecondsSoFar + stepClock.Elapsed.TotalSeconds;
            _state = _state.WithStepLoss(l).AfterStep(next, BatchesPerEpoch, lr) with { EpochStepSecondsSoFar = stepSeconds };
            if (epochEnd) _state = _state.WithEpochLossClosed() with { EpochStepSeconds = [.. _state.EpochStepSeconds, stepSeconds], EpochStepSecondsSoFar = 0 };
            progress?.Report(new VitTrainProgress(next, TotalSteps, _state.Epoch, l, (next - start) * _o.Batch / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
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
        AtomicFile.Write(summaryPath, JsonSerializer.SerializeToUtf8Bytes(summary, TagTrainer.Json));
        return summary;
    }

    /// <summary>Tag prediction quality of a ViT on a dataset's crops (sigmoid &gt; 0.5).</summary>
    public static TagQuality Quality(ClassTokenVit model, ISegmentationDataset data, TagOptions tags, int batch = 16)
    {
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            return TagTrainer.Quality(model.Forward, model.Classes, data, tags, batch);
        }
        finally
        {
            if (wasTraining) model.Train();
        }
    }

    /// <summary>Reads a finished run's summary.json, naming the file when it is missing or malformed.</summary>
    public static VitTrainSummary ReadSummary(string dir)
    {
        string path = Path.Combine(dir, SummaryFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{dir}' is not a finished ViT run: no {SummaryFile}.", path);
        try { return JsonSerializer.Deserialize<VitTrainSummary>(File.ReadAllBytes(path), TagTrainer.Json) ?? throw new FormatException($"'{path}' is empty."); }
        catch (JsonException e) { throw new FormatException($"'{path}' is not a valid ViT summary: {e.Message}", e); }
    }

    // The run's config.json, naming the file when it is malformed.
    private static RunConfig ReadConfig(string cfgPath)
    {
        try { return JsonSerializer.Deserialize<RunConfig>(File.ReadAllBytes(cfgPath), TagTrainer.Json) ?? throw new FormatException($"'{cfgPath}' is empty."); }
        catch (JsonException e) { throw new FormatException($"'{cfgPath}' is not a valid ViT config: {e.Message}", e); }
    }

    /// <summary>Loads the model of a finished run folder (eval mode) and the class names it was trained on.</summary>
    public static (ClassTokenVit Model, string[] Classes) Load(string dir)
    {
        string cfgPath = Path.Combine(dir, ConfigFile), weights = Path.Combine(dir, Checkpoint.FinalWeights);
        if (!File.Exists(cfgPath)) throw new FileNotFoundException($"'{dir}' is not a ViT run: no {ConfigFile}.", cfgPath);
        if (!File.Exists(weights)) throw new FileNotFoundException($"ViT run '{dir}' has not finished: no {Checkpoint.FinalWeights} (resume it with --resume).", weights);
        var cfg = ReadConfig(cfgPath);
        var model = new ClassTokenVit(cfg.Options.Model, cfg.Classes.Length, cfg.Options.Seed);
        model.LoadStateDict(SafeTensors.Load(weights).ToStateDict(), strict: true, source: weights);
        model.Eval();
        return (model, cfg.Classes);
    }

    /// <summary>Loads the weights of a run's latest resumable checkpoint (an unfinished run), with its classes and step.</summary>
    public static (ClassTokenVit Model, string[] Classes, long Step) LoadCheckpoint(string dir)
    {
        string cfgPath = Path.Combine(dir, ConfigFile), last = Path.Combine(dir, Checkpoint.LastState);
        if (!File.Exists(cfgPath)) throw new FileNotFoundException($"'{dir}' is not a ViT run: no {ConfigFile}.", cfgPath);
        if (!File.Exists(last)) throw new FileNotFoundException($"ViT run '{dir}' has no checkpoint: no {Checkpoint.LastState}.", last);
        var cfg = ReadConfig(cfgPath);
        var st = Checkpoint.Read(last);
        string weights = Path.Combine(dir, st.WeightsFile);
        var model = new ClassTokenVit(cfg.Options.Model, cfg.Classes.Length, cfg.Options.Seed);
        model.LoadStateDict(SafeTensors.Load(weights).ToStateDict(), strict: true, source: weights);
        model.Eval();
        return (model, cfg.Classes, st.Step);
    }

    private VitTrainSummary Summary(TagQuality? val) => new()
    {
        Model = _o.Model,
        Parameters = Model.Parameters().Sum(p => (long)p.Numel),
        Tags = _o.Tags.ToString(),
        Classes = _train.Classes.Names,
        TrainCrops = _crops.Count,
        TagsPerClass = Statistics.PerClass,
        Steps = _state.Step,
        EpochLoss = _state.EpochLoss,
        EpochSeconds = _state.EpochStepSeconds,
        Seconds = _state.Seconds,
        Threads = Engine.Threading.Parallelism.Threads,
        Val = val,
    };

    private int[] Order(int epoch) => new Rng(_o.Seed * 7_919L + epoch + 17).Permutation(_crops.Count);

    private void SaveLast(double seconds) => _state = Checkpoint.Save(_dir, _state with { Seconds = seconds }, Model.StateDict(), _opt.ExportState());

    private void Restore()
    {
        string path = Path.Combine(_dir, Checkpoint.LastState);
        var st = Checkpoint.Read(path);
        if (st.ConfigHash != _state.ConfigHash)
            throw new ArgumentException($"'{path}' was written under other ViT settings or data (hash {st.ConfigHash}, now {_state.ConfigHash}); see {Path.Combine(_dir, ConfigFile)}.");
        string w = Path.Combine(_dir, st.WeightsFile), o = Path.Combine(_dir, st.OptimizerFile);
        Model.LoadStateDict(SafeTensors.Load(w).ToStateDict(), strict: true, source: w);
        _opt.ImportState(SafeTensors.Load(o).ToTensors(DType.Float32), o);
        _state = st;
    }

    private static string Hash(VitTrainOptions o, ISegmentationDataset train) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new RunConfig(o with { CheckpointEvery = 0 }, Path.GetFullPath(train.Root), train.Split, train.Classes.Names), TagTrainer.Json))))[..16];

    /// <summary>What config.json holds.</summary>
    internal sealed record RunConfig(VitTrainOptions Options, string Data, string Split, string[] Classes);
}
