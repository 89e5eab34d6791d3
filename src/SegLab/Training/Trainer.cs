// The training loop of `seglab train`: class-weighted cross-entropy with ignore index (plus alpha * L_PA when
// Contextrast is on, Sung et al. CVPR 2024), gradient accumulation, a poly/cosine schedule with warm-up, validation
// every N epochs keeping the best checkpoint by mIoU, atomic resumable checkpoints, a NaN guard and clean
// cancellation, and adversarial training (PGD-AT / SegPGD-AT, AdversarialTraining.cs) with its cost per epoch.
// Every random choice is a function of the seed and the step, so a resumed run ends bit-identical.
using System.Diagnostics;
using SegLab.Contextrast;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Engine.Optim;
using SegLab.Engine.Threading;
using SegLab.Metrics;
using SegLab.Models;

namespace SegLab.Training;

/// <summary>The data of a run: training batches, an optional validation split, the class table.</summary>
/// <param name="Train">Training batches.</param>
/// <param name="Val">Validation split, or null.</param>
/// <param name="Classes">Classes of the labels.</param>
public sealed record TrainData(IBatchSource Train, ISegmentationDataset? Val, ClassTable Classes) : IDisposable
{
    /// <summary>Stops the training loader's thread.</summary>
    public void Dispose() => (Train as IDisposable)?.Dispose();

    /// <summary>Opens the splits a config names.</summary>
    /// <param name="config">The configuration.</param>
    public static TrainData Open(TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Data.Dir.Length == 0) throw new ConfigException("data.dir: no dataset folder given.");
        var train = Datasets.Open(config.Data.Dir, config.Data.TrainSplit, config.Data.Layout, config.Data.ClassesJson);
        var val = config.Data.ValSplit.Length == 0 ? null : Datasets.Open(config.Data.Dir, config.Data.ValSplit, config.Data.Layout, config.Data.ClassesJson);
        int ignore = config.Loss.IgnoreIndex ?? train.Classes.IgnoreIndex;
        return new TrainData(new LoaderBatchSource(train, config.Data, config.Seed, ignore), val, train.Classes);
    }
}

/// <summary>Runs training.</summary>
public sealed class Trainer
{
    private readonly TrainConfig _cfg;
    private readonly TrainData _data;
    private readonly string _dir;
    private readonly int _ignore;
    private readonly Tensor? _classWeights;
    private readonly ContextrastLoss? _contrast;
    private readonly AdversarialTraining? _adv;
    private readonly IOptimizer _opt;
    private readonly ILearningRateSchedule _schedule;
    private readonly Rng _rng;
    private CheckpointState _state;

    /// <summary>Builds the model, optimizer and schedule, and restores the last checkpoint when resuming.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="data">Training and validation data.</param>
    /// <param name="outDir">Run folder (created).</param>
    /// <param name="resume">Continue from outDir/last.json.</param>
    public Trainer(TrainConfig config, TrainData data, string outDir, bool resume = false)
    {
        _cfg = config ?? throw new ArgumentNullException(nameof(config));
        _data = data ?? throw new ArgumentNullException(nameof(data));
        _dir = outDir ?? throw new ArgumentNullException(nameof(outDir));
        ConfigValidation.Validate(config);
        if (config.Threads > 0) Parallelism.SetThreads(config.Threads);
        Directory.CreateDirectory(outDir);
        Model = ModelFactory.Create(config.Model, data.Classes.Count, config.Seed);
        _ignore = config.Loss.IgnoreIndex ?? data.Classes.IgnoreIndex;
        if (data.Classes.Count > Model.NumClasses)
            throw new ArgumentException($"The dataset's labels have {data.Classes.Count} classes ({string.Join(", ", data.Classes.Names)}) but the model scores only {Model.NumClasses}: refusing to train.");
        if (config.Loss.ClassWeights is { } cw)
        {
            if (cw.Length != Model.NumClasses)
                throw new ConfigException($"loss.class_weights: {cw.Length} weights for a model with {Model.NumClasses} classes.");
            // Outputs beyond the scored classes (ESPNet's void channel) get weight 0.
            int outputs = config.Model.Init is not { } init ? Model.NumClasses
                : SegLab.Onnx.OnnxModelCard.IsOnnx(init) ? (int)(((SegLab.Onnx.OnnxGraph)Model.Network).Model.Outputs[0].Dims.ElementAtOrDefault(1) ?? Model.NumClasses)
                : ModelTable.Get(init).OutputChannels;
            _classWeights = Tensor.FromArray(cw.Select(w => (float)w).Concat(Enumerable.Repeat(0f, outputs - cw.Length)).ToArray(), outputs);
        }
        var parameters = Model.Network.TrainableParameters().ToList();
        if (config.Contextrast.Enabled)
        {
            var stages = ModelFactory.ContextrastStages(Model, config.Contextrast.Stages);
            _contrast = ContextrastLoss.ForModel(config.Contextrast, Model, stages, _ignore, new Rng(config.Seed + 7919));
            parameters.AddRange(_contrast.Heads.TrainableParameters());
        }
        var s = config.Schedule;
        _opt = s.Optimizer == OptimizerKind.Sgd
            ? new Sgd(parameters, s.Lr, s.Momentum, s.WeightDecay, s.Nesterov)
            : new AdamW(parameters, s.Lr, s.Betas[0], s.Betas[1], 1e-8, s.WeightDecay);
        int bpe = data.Train.BatchesPerEpoch;
        TotalSteps = s.Iterations > 0 ? s.Iterations : Math.Max(1, (long)s.Epochs * bpe / s.Accumulation);
        long warm = Math.Min(s.WarmupSteps, TotalSteps - 1);
        _schedule = s.Policy switch
        {
            SchedulePolicy.Poly => new PolySchedule(s.Lr, TotalSteps, s.Power, s.MinLr, warm, s.WarmupStartFactor),
            SchedulePolicy.Cosine => new CosineSchedule(s.Lr, TotalSteps, s.MinLr, warm, s.WarmupStartFactor),
            _ => new ConstantSchedule(s.Lr, TotalSteps, warm, s.WarmupStartFactor),
        };
        if (config.Adversarial.Enabled) _adv = new AdversarialTraining(config.Adversarial, Model, _ignore, config.Seed);
        _rng = new Rng(config.Seed + 104729);
        _state = new CheckpointState { TotalSteps = TotalSteps, ConfigHash = ConfigLoader.Hash(config), RngState = _rng.GetState() };
        if (resume) Restore();
        SegLab.Engine.IO.AtomicFile.Write(Path.Combine(outDir, "config.yaml"), System.Text.Encoding.UTF8.GetBytes(ConfigLoader.ToYaml(config)));
    }

    /// <summary>The model being trained.</summary>
    public SegmentationModel Model { get; }

    /// <summary>The adversarial sampler (adversarial.enabled), or null.</summary>
    public AdversarialTraining? Adversarial => _adv;

    /// <summary>Contextrast's loss and heads, or null.</summary>
    public ContextrastLoss? Contrast => _contrast;

    /// <summary>Steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>Optimizer steps taken (including before a resume).</summary>
    public long Step => _state.Step;

    /// <summary>
    /// Trains until <paramref name="stopAfterStep"/> (default: the end) or cancellation, then saves a checkpoint.
    /// </summary>
    /// <param name="progress">Told after every step and validation.</param>
    /// <param name="stopAfterStep">Stop (as if cancelled) once this many steps are done; for tests and staged runs.</param>
    /// <param name="cancel">Stops cleanly after the current step (a checkpoint is written).</param>
    public TrainResult Run(IProgress<TrainProgress>? progress = null, long stopAfterStep = long.MaxValue, CancellationToken cancel = default)
    {
        // A finished run (its final weights and summary written) stays as it is: a resume changes nothing.
        string summary = Path.Combine(_dir, TrainSummary.FileName);
        if (_state.Step >= TotalSteps && File.Exists(Path.Combine(_dir, Checkpoint.FinalWeights)) && File.Exists(summary))
            return TrainSummary.Read(summary, _dir);
        var clock = Stopwatch.StartNew();
        double secondsBefore = _state.Seconds;
        long startStep = _state.Step;
        int acc = _cfg.Schedule.Accumulation, bpe = _data.Train.BatchesPerEpoch, batch = _cfg.Data.Batch;
        double lastLoss = double.NaN, trainSeconds = 0, attackSeconds = 0;
        Model.Network.Train();
        while (_state.Step < TotalSteps && !cancel.IsCancellationRequested && _state.Step < stopAfterStep)
        {
            var stepClock = Stopwatch.StartNew();
            double attackBefore = _adv?.AttackSeconds ?? 0;
            double lr = _schedule.LearningRate(_state.Step);
            _opt.LearningRate = lr;
            _opt.ZeroGrad();
            double stepLoss = 0, stepContrast = 0;
            for (int a = 0; a < acc; a++)
            {
                long g = _state.Step * acc + a;
                var b = _data.Train.Get((int)(g / bpe), (int)(g % bpe));
                var (loss, contrast) = Forward(b, a, g);
                stepLoss += loss / acc;
                stepContrast += contrast / acc;
            }
            _opt.Step();
            lastLoss = stepLoss;
            double stepSeconds = stepClock.Elapsed.TotalSeconds, stepAttack = (_adv?.AttackSeconds ?? 0) - attackBefore;
            trainSeconds += stepSeconds;
            attackSeconds += stepAttack;
            long step = _state.Step + 1;
            int epochBefore = (int)((step - 1) * acc / bpe), epochAfter = (int)(step * acc / bpe);
            _state = _state.WithStepLoss(stepLoss) with
            {
                Step = step, Epoch = epochAfter, BatchInEpoch = (int)(step * acc % bpe), LearningRate = lr, RngState = _rng.GetState(),
                EpochAttackSecondsSoFar = _state.EpochAttackSecondsSoFar + stepAttack, EpochStepSecondsSoFar = _state.EpochStepSecondsSoFar + stepSeconds - stepAttack,
                AdversarialSamples = _adv?.AdversarialSamples ?? 0, Samples = _adv?.Samples ?? 0,
            };
            double done = step - startStep, ips = done * acc * batch / Math.Max(1e-9, trainSeconds);
            var eta = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * (TotalSteps - step));
            progress?.Report(new TrainProgress(step, TotalSteps, epochAfter, stepLoss, stepContrast, lr, ips, eta,
                AttackSeconds: _state.EpochAttackSecondsSoFar, StepSeconds: _state.EpochStepSecondsSoFar));
            bool epochEnd = epochAfter > epochBefore, last = step == TotalSteps;
            if (epochEnd)
            {
                double at = _state.EpochAttackSecondsSoFar, st = _state.EpochStepSecondsSoFar;
                _state = _state.WithEpochLossClosed() with
                {
                    EpochAttackSeconds = [.. _state.EpochAttackSeconds, at], EpochStepSeconds = [.. _state.EpochStepSeconds, st],
                    EpochAttackSecondsSoFar = 0, EpochStepSecondsSoFar = 0,
                };
                if (_adv is not null)
                    progress?.Report(new TrainProgress(step, TotalSteps, epochBefore, double.NaN, 0, lr, 0, TimeSpan.Zero,
                        FormattableString.Invariant($"epoch {epochBefore}: {at:F1} s in the attack, {st:F1} s in the training step ({100 * at / Math.Max(1e-9, at + st):F0}% attack)"),
                        at, st));
            }
            int every = _cfg.Schedule.ValidateEvery;
            if (_data.Val is not null && ((epochEnd && every > 0 && epochAfter % every == 0) || last))
                Validate(progress, step, cancel);
            if (last || epochEnd || (_cfg.Schedule.CheckpointEvery > 0 && step % _cfg.Schedule.CheckpointEvery == 0))
                SaveLast(secondsBefore + clock.Elapsed.TotalSeconds);
        }
        if (_state.Step < TotalSteps) SaveLast(secondsBefore + clock.Elapsed.TotalSeconds);
        else Engine.Serialization.SafeTensors.Save(Path.Combine(_dir, Checkpoint.FinalWeights), Model.Network.StateDict());
        double epochs = (_state.Step - startStep) * acc / (double)bpe;
        var result = new TrainResult(_state.Step, _state.Step >= TotalSteps, lastLoss, _state.BestMIoU, _state.BestStep, clock.Elapsed.TotalSeconds,
            trainSeconds / Math.Max(1e-9, epochs), Process.GetCurrentProcess().PeakWorkingSet64, _dir, EpochsTrained: epochs,
            AttackSecondsPerEpoch: attackSeconds / Math.Max(1e-9, epochs));
        if (result.Completed)
        {
            TrainSummary.Write(Path.Combine(_dir, TrainSummary.FileName), result, _state, Parallelism.Threads, _cfg);
            TrainSummary.WriteModelCard(Path.Combine(_dir, TrainSummary.ModelCardFile), _cfg, _state);
        }
        return result;
    }

    private (double Loss, double Contrast) Forward(Batch b, int microBatch, long globalBatch)
    {
        int n = b.Ids.Length, k = Model.NumClasses;
        var target = new float[b.Labels.Length];
        bool anyValid = false;
        for (int i = 0; i < target.Length; i++)
        {
            int y = b.Labels[i];
            if (y != _ignore && (uint)y >= (uint)k)
                throw new InvalidOperationException($"Batch {microBatch} of step {_state.Step + 1} ({b.Ids[i / (b.Height * b.Width)]}) has label {y}, beyond the model's {k} classes (ignore index {_ignore}).");
            anyValid |= y != _ignore;
            target[i] = y;
        }
        if (!anyValid) return (0, 0);
        // Adversarial samples replace the batch's first images before the step's scope opens (the attack has its own).
        if (_adv is not null) b = _adv.Make(b, _state.Step, globalBatch);
        // The step's activations, logits and loss are dead once its backward pass has run: their storage serves the
        // next step (TensorScope.BeginTraining); only doubles leave this method.
        using var scope = TensorScope.BeginTraining();
        using var capture = _contrast is null ? null : FeatureCapture.Start(Model.Network, [.. _contrast.Stages]);
        var logits = Model.Forward(b.Images);
        var loss = Ops.CrossEntropy(logits, Tensor.FromArray(target, n, b.Height, b.Width), _ignore, _classWeights);
        double contrast = 0;
        if (_contrast is not null)
        {
            var feats = _contrast.Stages.Select(s => capture![s]).ToArray();
            var pa = _contrast.Compute(feats, logits, b.Labels, _rng);
            var weighted = Ops.Mul(pa, _cfg.Contextrast.Alpha);
            contrast = weighted.Item();
            loss = Ops.Add(loss, weighted);
        }
        double v = loss.Item();
        if (!double.IsFinite(v))
        {
            var lastGood = Checkpoint.TryRead(Path.Combine(_dir, Checkpoint.LastState));
            throw new TrainingDivergedException(
                $"The loss is {v} at step {_state.Step + 1}, batch {microBatch} (epoch {(_state.Step * _cfg.Schedule.Accumulation + microBatch) / _data.Train.BatchesPerEpoch}, images {string.Join(", ", b.Ids)}); stopped. " +
                (lastGood is null ? "No checkpoint was written yet." : $"The last good checkpoint (step {lastGood.Step}) is kept in '{_dir}'; lower schedule.lr and resume."));
        }
        Ops.Mul(loss, 1.0 / _cfg.Schedule.Accumulation).Backward();
        return (v, contrast);
    }

    private void Validate(IProgress<TrainProgress>? progress, long step, CancellationToken cancel)
    {
        var m = Validation.Evaluate(Model, _data.Val!, _cfg.Data.ValScale, _cfg.Data.ValLimit, _ignore, cancel);
        if (cancel.IsCancellationRequested) return;
        _state = _state with { Validations = [.. _state.Validations, [step, m.MIoU, m.ImageMIoU, m.PixelAccuracy]] };
        var names = ClassNames();
        MetricsJson.WriteSummary(Path.Combine(_dir, LastMetricsFile), m, names);
        bool best = double.IsNaN(_state.BestMIoU) || m.MIoU > _state.BestMIoU;
        if (best)
        {
            _state = _state with { BestMIoU = m.MIoU, BestStep = step };
            Checkpoint.SaveBest(_dir, _state, Model.Network.StateDict());
            MetricsJson.WriteSummary(Path.Combine(_dir, BestMetricsFile), m, names);
        }
        progress?.Report(new TrainProgress(step, TotalSteps, _state.Epoch, double.NaN, 0, _opt.LearningRate, 0, TimeSpan.Zero,
            $"validation at step {step}: mIoU {m.MIoU:F2}, image mIoU {m.ImageMIoU:F2}, pixel accuracy {m.PixelAccuracy:F2}{(best ? " (best)" : "")}"));
    }

    /// <summary>Full metrics (per-class IoU included) of the latest validation and of the best one, in the run folder.</summary>
    public const string LastMetricsFile = "val-metrics.json", BestMetricsFile = "best-metrics.json";

    // The dataset's class names, then generic names for outputs the labels never use.
    private string[] ClassNames() =>
        [.. Enumerable.Range(0, Model.NumClasses).Select(c => c < _data.Classes.Count ? _data.Classes.Names[c] : $"class{c}")];

    private void SaveLast(double totalSeconds)
    {
        var extra = _opt.ExportState().Select(kv => new KeyValuePair<string, Tensor>("optim." + kv.Key, kv.Value)).ToList();
        if (_contrast is not null) extra.AddRange(_contrast.Heads.StateDict().Select(kv => new KeyValuePair<string, Tensor>("heads." + kv.Key, kv.Value)));
        _state = Checkpoint.Save(_dir, _state with { Seconds = totalSeconds }, Model.Network.StateDict(), extra);
    }

    private void Restore()
    {
        string path = Path.Combine(_dir, Checkpoint.LastState);
        var st = Checkpoint.Read(path);
        if (st.ConfigHash != _state.ConfigHash)
            throw new ArgumentException($"'{path}' was written under another configuration (hash {st.ConfigHash}, now {_state.ConfigHash}); see {Path.Combine(_dir, "config.yaml")}.");
        string wPath = Path.Combine(_dir, st.WeightsFile), oPath = Path.Combine(_dir, st.OptimizerFile);
        Model.Network.LoadStateDict(Engine.Serialization.SafeTensors.Load(wPath).ToStateDict(), strict: true, source: wPath);
        var extra = Engine.Serialization.SafeTensors.Load(oPath).ToTensors(DType.Float32);
        var optim = extra.Where(kv => kv.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["optim.".Length..], kv => kv.Value, StringComparer.Ordinal);
        _opt.ImportState(optim, oPath);
        if (_contrast is not null)
        {
            var heads = extra.Where(kv => kv.Key.StartsWith("heads.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["heads.".Length..], kv => kv.Value, StringComparer.Ordinal);
            _contrast.Heads.LoadStateDict(heads, strict: true, source: oPath);
        }
        _rng.SetState(st.RngState);
        _adv?.RestoreCounts(st.AdversarialSamples, st.Samples);
        _state = st;
    }
}
