// Trains AffinityNet's affinity head (PSA CVPR'18, PAPERS.md C.2) on the frozen tag classifier: for every image, the
// classifier's multi-level features (scale 1, no flip) are computed once and kept, and the confident regions of its
// stored CAM (AffinityLabels) give the pair labels on the CAM's grid (IRN's stride 4). SGD with momentum, poly decay
// (power 0.9), weight decay; the image order of an epoch comes from Rng(seed, epoch), so a resumed run takes exactly
// the batches an uninterrupted one would (the features are recomputed on resume: the classifier is frozen).
// Folder: config.json (options, classifier, CAM folder, level channels, grid), last.json + step-*.safetensors,
// model.safetensors and summary.json when finished. A run is tied to its classifier by the SHA-256 of its weights.
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

namespace SegLab.Weak;

/// <summary>Settings of an affinity run.</summary>
public sealed record AffinityTrainOptions
{
    /// <summary>Confident-region thresholds and the pair radius.</summary>
    public AffinityLabelOptions Labels { get; init; } = new();

    /// <summary>Channels each encoder level is reduced to.</summary>
    public int Reduced { get; init; } = 64;

    /// <summary>Embedding channels D.</summary>
    public int Dim { get; init; } = 64;

    /// <summary>Epochs over the images (PSA: 8).</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Images per step (PSA: 8 crops).</summary>
    public int Batch { get; init; } = 4;

    /// <summary>Learning rate (PSA: 0.1).</summary>
    public double Lr { get; init; } = 0.1;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (PSA: 5e-4).</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>Seed of the initialisation and order.</summary>
    public int Seed { get; init; }

    /// <summary>Write a resumable checkpoint every this many steps (and at each epoch's end).</summary>
    public int CheckpointEvery { get; init; } = 50;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        Labels.Validate();
        if (Reduced < 1 || Dim < 1) throw new ArgumentException($"affinity: reduced width {Reduced} and dim {Dim} must be positive.");
        if (Epochs < 1) throw new ArgumentException($"affinity: epochs must be >= 1, got {Epochs}.");
        if (Batch < 1) throw new ArgumentException($"affinity: batch must be >= 1, got {Batch}.");
        if (!(Lr > 0)) throw new ArgumentException($"affinity: learning rate must be positive, got {Lr}.");
        if (Momentum is < 0 or >= 1) throw new ArgumentException($"affinity: momentum must be in [0, 1), got {Momentum}.");
        if (WeightDecay < 0) throw new ArgumentException($"affinity: weight decay must be >= 0, got {WeightDecay}.");
        if (CheckpointEvery < 1) throw new ArgumentException($"affinity: checkpoint interval must be >= 1, got {CheckpointEvery}.");
    }
}

/// <summary>Progress of an affinity run.</summary>
public sealed record AffinityTrainProgress(long Step, long TotalSteps, int Epoch, double Loss, double ImagesPerSecond);

/// <summary>What a finished affinity run wrote to summary.json.</summary>
public sealed record AffinityTrainSummary
{
    /// <summary>Images trained on.</summary>
    public int Images { get; init; }

    /// <summary>Grid [h, w] of the pairs (the CAM's stored grid).</summary>
    public int[] Grid { get; init; } = [];

    /// <summary>Pairs over all images: bg-positive, fg-positive, negative.</summary>
    public long[] Pairs { get; init; } = [];

    /// <summary>Share of grid positions in confident foreground, confident background and ignored.</summary>
    public double[] RegionShare { get; init; } = [];

    /// <summary>Steps taken.</summary>
    public long Steps { get; init; }

    /// <summary>Mean loss per epoch.</summary>
    public double[] EpochLoss { get; init; } = [];

    /// <summary>Seconds of feature extraction (this process).</summary>
    public double FeatureSeconds { get; init; }

    /// <summary>Seconds of training in all (this process and earlier ones).</summary>
    public double Seconds { get; init; }
}

/// <summary>A trained affinity head with the facts refinement checks.</summary>
/// <param name="Head">The head.</param>
/// <param name="Dir">Its run folder.</param>
/// <param name="CamStride">Stride of the CAM grid it was trained on.</param>
public sealed record LearnedAffinity(AffinityHead Head, string Dir, int CamStride)
{
    /// <summary>The run's config file, named in errors.</summary>
    public string ConfigPath => Path.Combine(Dir, AffinityTrainer.ConfigFile);
}

/// <summary>Trains an <see cref="AffinityHead"/> on the confident regions of stored CAMs.</summary>
public sealed class AffinityTrainer
{
    /// <summary>File names in a run folder.</summary>
    public const string ConfigFile = "config.json", SummaryFile = "summary.json";

    private readonly AffinityTrainOptions _o;
    private readonly string _dir;
    private readonly List<IReadOnlyList<Tensor>> _levels = [];
    private readonly List<AffinityPairs> _pairs = [];
    private readonly Sgd _opt;
    private readonly PolySchedule _schedule;
    private readonly int _gh, _gw;
    private readonly double _featureSeconds;
    private readonly double[] _regionShare;
    private CheckpointState _state;

    /// <summary>Prepares a run: features and pair labels of every image; resumes from <paramref name="dir"/>/last.json when asked.</summary>
    /// <param name="options">Settings.</param>
    /// <param name="classifierDir">A finished tag classifier run (frozen).</param>
    /// <param name="data">The images the CAMs were made of.</param>
    /// <param name="camDir">A seglab weak cam folder of those images.</param>
    /// <param name="dir">Run folder.</param>
    /// <param name="resume">Continue from the last checkpoint.</param>
    /// <param name="preparing">Images prepared.</param>
    public AffinityTrainer(AffinityTrainOptions options, string classifierDir, ISegmentationDataset data, string camDir, string dir, bool resume = false, IProgress<int>? preparing = null)
    {
        _o = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        ArgumentNullException.ThrowIfNull(data);
        if (!Directory.Exists(camDir)) throw new DirectoryNotFoundException($"CAM folder '{camDir}' does not exist (run seglab weak cam first).");
        var classes = TagTrainer.Classes(classifierDir);
        if (!classes.SequenceEqual(data.Classes.Names))
            throw new ArgumentException($"{Path.Combine(classifierDir, TagTrainer.ConfigFile)}: the classifier was trained on classes [{string.Join(", ", classes)}] but {data.Root} has [{string.Join(", ", data.Classes.Names)}].");
        var classifier = TagTrainer.Load(classifierDir);
        _dir = dir;
        Directory.CreateDirectory(dir);
        var clock = Stopwatch.StartNew();
        int camStride = 0;
        long fgPos = 0, bgPos = 0, all = 0;
        using (GradMode.NoGrad())
            for (int i = 0; i < data.Count; i++)
            {
                var s = data.Load(i);
                string camPath = Path.Combine(camDir, s.Id + ".safetensors");
                if (!File.Exists(camPath)) throw new FileNotFoundException($"No CAM file '{camPath}' for image {s.Id} (run seglab weak cam on the same data and split).", camPath);
                var cam = CamRun.ReadCamFile(camPath, data.Classes.Names, s.Height, s.Width);
                int gh = cam.Strided.Size(1), gw = cam.Strided.Size(2);
                if (i == 0) (_gh, _gw, camStride) = (gh, gw, cam.Stride);
                else if (gh != _gh || gw != _gw)
                    throw new ArgumentException($"affinity: CAM file '{camPath}' is a {gh}x{gw} grid, the first image's is {_gh}x{_gw}; images of one size are needed.");
                var regions = AffinityLabels.Regions(cam.Strided, cam.Tags, options.Labels);
                foreach (var r in regions) { if (r >= 0) fgPos++; else if (r == AffinityLabels.BackgroundRegion) bgPos++; all++; }
                _pairs.Add(AffinityLabels.Pairs(regions, gh, gw, options.Labels.Radius));
                _levels.Add(classifier.Levels(s.ImageTensor()).Select(t => t.Detach()).ToArray());
                preparing?.Report(i + 1);
            }
        if (_levels.Count < options.Batch) throw new ArgumentException($"affinity: {_levels.Count} images in {data.Root} ({data.Split}) is fewer than one batch of {options.Batch}.");
        _featureSeconds = clock.Elapsed.TotalSeconds;
        _regionShare = [fgPos / (double)all, bgPos / (double)all, (all - fgPos - bgPos) / (double)all];
        var levelChannels = _levels[0].Select(t => t.Size(1)).ToArray();
        Head = new AffinityHead(levelChannels, [.. levelChannels.Select(_ => options.Reduced)], options.Dim, new Rng(options.Seed));
        Head.SetNormalisation(_levels);
        _opt = new Sgd(Head.TrainableParameters(), options.Lr, options.Momentum, options.WeightDecay);
        BatchesPerEpoch = _levels.Count / options.Batch;
        TotalSteps = (long)options.Epochs * BatchesPerEpoch;
        _schedule = new PolySchedule(options.Lr, TotalSteps, 0.9);
        var config = new RunConfig(options, Path.GetFullPath(classifierDir), WeightsHash(classifierDir), Path.GetFullPath(camDir), Path.GetFullPath(data.Root), data.Split,
            data.Count, levelChannels, [_gh, _gw], camStride);
        _state = new CheckpointState { TotalSteps = TotalSteps, ConfigHash = Hash(config) };
        if (resume) Restore();
        AtomicFile.Write(Path.Combine(dir, ConfigFile), JsonSerializer.SerializeToUtf8Bytes(config, TagTrainer.Json));
    }

    /// <summary>The head.</summary>
    public AffinityHead Head { get; }

    /// <summary>Steps per epoch (the last incomplete batch is dropped).</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>Steps done.</summary>
    public long Step => _state.Step;

    /// <summary>Pair labels of the images, in dataset order.</summary>
    public IReadOnlyList<AffinityPairs> Pairs => _pairs;

    /// <summary>Trains to the end, or until <paramref name="stopAfterStep"/> steps or cancellation (a checkpoint is written).</summary>
    public AffinityTrainSummary Run(IProgress<AffinityTrainProgress>? progress = null, long stopAfterStep = long.MaxValue, CancellationToken cancel = default)
    {
        string summaryPath = Path.Combine(_dir, SummaryFile);
        if (_state.Step >= TotalSteps && File.Exists(summaryPath) && File.Exists(Path.Combine(_dir, Checkpoint.FinalWeights)))
            return ReadSummary(_dir);
        var clock = Stopwatch.StartNew();
        double before = _state.Seconds;
        long start = _state.Step;
        Head.Train();
        while (_state.Step < TotalSteps && _state.Step < stopAfterStep && !cancel.IsCancellationRequested)
        {
            long step = _state.Step;
            int epoch = (int)(step / BatchesPerEpoch), inEpoch = (int)(step % BatchesPerEpoch);
            var order = Order(epoch);
            var idx = Enumerable.Range(0, _o.Batch).Select(i => order[inEpoch * _o.Batch + i]).ToArray();
            var levels = Enumerable.Range(0, _levels[0].Count).Select(l => idx.Length == 1 ? _levels[idx[0]][l] : Ops.Cat(idx.Select(i => _levels[i][l]).ToArray(), 0)).ToArray();
            double lr = _schedule.LearningRate(step);
            _opt.LearningRate = lr;
            _opt.ZeroGrad();
            var value = AffinityLoss.Compute(Head.Embed(levels, _gh, _gw), idx.Select(i => _pairs[i]).ToArray());
            double l = value.Loss.Item();
            if (!double.IsFinite(l)) throw new InvalidOperationException($"affinity: the loss became {l} at step {step + 1} (learning rate {lr:G3}); lower the learning rate.");
            value.Loss.Backward();
            _opt.Step();
            long next = step + 1;
            bool epochEnd = next % BatchesPerEpoch == 0;
            _state = _state.WithStepLoss(l).AfterStep(next, BatchesPerEpoch, lr);
            if (epochEnd) _state = _state.WithEpochLossClosed();
            progress?.Report(new AffinityTrainProgress(next, TotalSteps, _state.Epoch, l, (next - start) * _o.Batch / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
            if (epochEnd || next % _o.CheckpointEvery == 0 || next == TotalSteps) SaveLast(before + clock.Elapsed.TotalSeconds);
        }
        if (_state.Step < TotalSteps)
        {
            SaveLast(before + clock.Elapsed.TotalSeconds);
            return Summary();
        }
        SafeTensors.Save(Path.Combine(_dir, Checkpoint.FinalWeights), Head.StateDict());
        var summary = Summary();
        AtomicFile.Write(summaryPath, JsonSerializer.SerializeToUtf8Bytes(summary, TagTrainer.Json));
        return summary;
    }

    /// <summary>Reads a finished run's summary.json, naming the file when it is missing or malformed.</summary>
    public static AffinityTrainSummary ReadSummary(string dir)
    {
        string path = Path.Combine(dir, SummaryFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{dir}' is not a finished affinity run: no {SummaryFile}.", path);
        try { return JsonSerializer.Deserialize<AffinityTrainSummary>(File.ReadAllBytes(path), TagTrainer.Json) ?? throw new FormatException($"'{path}' is empty."); }
        catch (JsonException e) { throw new FormatException($"'{path}' is not a valid affinity summary: {e.Message}", e); }
    }

    /// <summary>
    /// Loads the head of a finished run for the classifier in <paramref name="classifierDir"/>: an ArgumentException
    /// naming the run's config.json when the run was trained on another classifier or other feature levels.
    /// </summary>
    public static LearnedAffinity Load(string dir, string classifierDir, TagClassifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        string cfgPath = Path.Combine(dir, ConfigFile), weights = Path.Combine(dir, Checkpoint.FinalWeights);
        if (!File.Exists(cfgPath)) throw new FileNotFoundException($"'{dir}' is not an affinity run: no {ConfigFile}.", cfgPath);
        if (!File.Exists(weights)) throw new FileNotFoundException($"Affinity run '{dir}' has not finished: no {Checkpoint.FinalWeights} (resume it with --resume).", weights);
        RunConfig cfg;
        try { cfg = JsonSerializer.Deserialize<RunConfig>(File.ReadAllBytes(cfgPath), TagTrainer.Json) ?? throw new FormatException($"'{cfgPath}' is empty."); }
        catch (JsonException e) { throw new FormatException($"'{cfgPath}' is not a valid affinity config: {e.Message}", e); }
        string hash = WeightsHash(classifierDir);
        if (cfg.ClassifierHash != hash)
            throw new ArgumentException($"{cfgPath}: the affinity head was trained on the classifier in {cfg.Classifier} (weights {cfg.ClassifierHash}), not on the one in {Path.GetFullPath(classifierDir)} (weights {hash}).");
        var channels = ProbeLevels(classifier);
        if (!channels.SequenceEqual(cfg.LevelChannels))
            throw new ArgumentException($"{cfgPath}: the affinity head takes feature levels of [{string.Join(", ", cfg.LevelChannels)}] channels, the classifier gives [{string.Join(", ", channels)}].");
        var head = new AffinityHead(cfg.LevelChannels, [.. cfg.LevelChannels.Select(_ => cfg.Options.Reduced)], cfg.Options.Dim);
        head.LoadStateDict(SafeTensors.Load(weights).ToStateDict(), strict: true, source: weights);
        head.Eval();
        return new LearnedAffinity(head, dir, cfg.CamStride);
    }

    /// <summary>The first 16 hex digits of the SHA-256 of a classifier run's model.safetensors.</summary>
    public static string WeightsHash(string classifierDir)
    {
        string path = Path.Combine(classifierDir, Checkpoint.FinalWeights);
        if (!File.Exists(path)) throw new FileNotFoundException($"Classifier run '{classifierDir}' has not finished: no {Checkpoint.FinalWeights}.", path);
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f))[..16];
    }

    private static int[] ProbeLevels(TagClassifier classifier)
    {
        bool training = classifier.Training;
        classifier.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            return [.. classifier.Levels(Tensor.Zeros(1, 3, 64, 64)).Select(t => t.Size(1))];
        }
        finally
        {
            if (training) classifier.TrainMode();
        }
    }

    private AffinityTrainSummary Summary()
    {
        long bg = 0, fg = 0, neg = 0;
        foreach (var p in _pairs)
        {
            var (b, f, n) = p.Counts();
            bg += b; fg += f; neg += n;
        }
        return new AffinityTrainSummary
        {
            Images = _pairs.Count, Grid = [_gh, _gw], Pairs = [bg, fg, neg], RegionShare = _regionShare, Steps = _state.Step, EpochLoss = _state.EpochLoss,
            FeatureSeconds = _featureSeconds, Seconds = _state.Seconds,
        };
    }

    private int[] Order(int epoch) => new Rng(_o.Seed * 7_919L + epoch + 29).Permutation(_levels.Count);

    private void SaveLast(double seconds) => _state = Checkpoint.Save(_dir, _state with { Seconds = seconds }, Head.StateDict(), _opt.ExportState());

    private void Restore()
    {
        string path = Path.Combine(_dir, Checkpoint.LastState);
        var st = Checkpoint.Read(path);
        if (st.ConfigHash != _state.ConfigHash)
            throw new ArgumentException($"'{path}' was written under other affinity settings, classifier, CAMs or data (hash {st.ConfigHash}, now {_state.ConfigHash}); see {Path.Combine(_dir, ConfigFile)}.");
        string w = Path.Combine(_dir, st.WeightsFile), o = Path.Combine(_dir, st.OptimizerFile);
        Head.LoadStateDict(SafeTensors.Load(w).ToStateDict(), strict: true, source: w);
        _opt.ImportState(SafeTensors.Load(o).ToTensors(DType.Float32), o);
        _state = st;
    }

    private static string Hash(RunConfig c) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(c with { Options = c.Options with { CheckpointEvery = 0 } }, TagTrainer.Json))))[..16];

    /// <summary>What config.json holds.</summary>
    internal sealed record RunConfig(AffinityTrainOptions Options, string Classifier, string ClassifierHash, string Cams, string Data, string Split, int Images,
        int[] LevelChannels, int[] Grid, int CamStride);
}
