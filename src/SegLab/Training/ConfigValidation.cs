// Range checks of a bound TrainConfig, each naming the dotted key that is wrong (the binder has already checked
// keys and types). Cross-checks against the dataset (classes, labels) happen in the trainer before step 0.
namespace SegLab.Training;

/// <summary>Validates a configuration.</summary>
public static class ConfigValidation
{
    /// <summary>Throws a <see cref="ConfigException"/> naming the first key whose value is out of range.</summary>
    /// <param name="c">The configuration.</param>
    public static void Validate(TrainConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        Check(c.Threads >= 0, "threads", "must be 0 (automatic) or positive");
        Check(c.Model.Family is "unet" or "deeplabv3" or "deeplabv3-resnet18", "model.family", $"must be unet, deeplabv3 or deeplabv3-resnet18, got '{c.Model.Family}'");
        Check(c.Model.Pretrained is "none" or "imagenet", "model.pretrained", $"must be none or imagenet, got '{c.Model.Pretrained}'");
        Check(c.Model.Pretrained == "none" || c.Model.Family == "deeplabv3-resnet18", "model.pretrained", "imagenet weights exist for family deeplabv3-resnet18 only");
        Check(c.Model.Classes >= 0, "model.classes", "must be 0 (the dataset's) or positive");
        Check(c.Model.Widths.Length >= 2 && c.Model.Widths.All(w => w > 0), "model.widths", "needs at least two positive widths");
        Check(c.Model.BaseWidth > 0 && c.Model.AsppChannels > 0, "model.base_width", "base_width and aspp_channels must be positive");
        Check(c.Model.OutputStride is 8 or 16, "model.output_stride", "must be 8 or 16");
        Check(c.Data.Crop.Length == 2 && c.Data.Crop.All(x => x >= 8), "data.crop", "must be [height, width], each at least 8");
        Check(c.Data.Scale.Length == 2 && c.Data.Scale[0] > 0 && c.Data.Scale[0] <= c.Data.Scale[1], "data.scale", "must be [min, max] with 0 < min <= max");
        Check(c.Data.Jitter is >= 0 and <= 1, "data.jitter", "must be in [0, 1]");
        Check(c.Data.Batch >= 1, "data.batch", "must be at least 1");
        Check(c.Data.ValScale is > 0 and <= 4, "data.val_scale", "must be in (0, 4]");
        Check(c.Data.ValLimit >= 0, "data.val_limit", "must be 0 (all) or positive");
        var s = c.Schedule;
        Check(s.Lr > 0, "schedule.lr", "must be positive");
        Check(s.Momentum is >= 0 and < 1, "schedule.momentum", "must be in [0, 1)");
        Check(!s.Nesterov || s.Momentum > 0, "schedule.nesterov", "needs schedule.momentum > 0");
        Check(s.WeightDecay >= 0, "schedule.weight_decay", "must be non-negative");
        Check(s.Betas.Length == 2 && s.Betas.All(b => b is >= 0 and < 1), "schedule.betas", "must be [beta1, beta2] in [0, 1)");
        Check(s.Power > 0, "schedule.power", "must be positive");
        Check(s.MinLr >= 0 && s.MinLr <= s.Lr, "schedule.min_lr", "must be in [0, lr]");
        Check(s.Epochs >= 0 && s.Iterations >= 0 && (s.Epochs > 0 || s.Iterations > 0), "schedule.epochs", "epochs or iterations must be positive");
        Check(s.WarmupSteps >= 0, "schedule.warmup_steps", "must be non-negative");
        Check(s.WarmupStartFactor is >= 0 and <= 1, "schedule.warmup_start_factor", "must be in [0, 1]");
        Check(s.Accumulation >= 1, "schedule.accumulation", "must be at least 1");
        Check(s.ValidateEvery >= 0, "schedule.validate_every", "must be non-negative");
        Check(s.CheckpointEvery >= 0, "schedule.checkpoint_every", "must be non-negative");
        Check(c.Loss.ClassWeights is null || c.Loss.ClassWeights.All(w => w >= 0 && double.IsFinite(w)), "loss.class_weights", "must be finite and non-negative");
        var x = c.Contextrast;
        Check(x.Dim >= 1 && x.HeadHidden >= 0, "contextrast.dim", "dim must be positive and head_hidden non-negative");
        Check(x.Alpha >= 0, "contextrast.alpha", "must be non-negative");
        Check(x.StageWeights.All(w => w >= 0), "contextrast.stage_weights", "must be non-negative");
        Check(x.Stages is null || x.Stages.Length == x.StageWeights.Length, "contextrast.stages", $"needs one name per stage weight ({x.StageWeights.Length})");
        Check(x.Temperature is >= 0.03 and <= 10, "contextrast.temperature", "must be in [0.03, 10] (float32 range of exp(1/tau))");
        Check(x.FusionDeepWeight is >= 0 and <= 1, "contextrast.fusion_deep_weight", "must be in [0, 1]");
        Check(x.BaneRatio is > 0 and <= 1, "contextrast.bane_ratio", "must be in (0, 1]");
        Check(x.MaxPositives >= 0 && x.MaxNegatives >= 0, "contextrast.max_positives", "caps must be 0 (none) or positive");
        var a = c.Adversarial;
        Check(a.Eps is > 0 and <= 1, "adversarial.eps", $"must be in (0, 1] (a radius in [0,1] RGB, e.g. 4/255), got {a.Eps}");
        Check(a.Steps is >= 1 and <= 1000, "adversarial.steps", $"must be in [1, 1000], got {a.Steps}");
        Check(a.StepSize is >= 0 and <= 1, "adversarial.step_size", $"must be 0 (2.5 * eps / steps) or in (0, 1], got {a.StepSize}");
        Check(a.Share is >= 0 and <= 1, "adversarial.share", $"must be in [0, 1] (0.5 or 50%: half of each batch), got {a.Share}");
    }

    private static void Check(bool ok, string key, string what)
    {
        if (!ok) throw new ConfigException($"{key}: {what}.");
    }
}
