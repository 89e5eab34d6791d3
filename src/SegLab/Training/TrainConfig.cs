// The training configuration as typed records (STYLE.md: typed configs, not string dicts). Keys in YAML/JSON are
// the snake_case property names (schedule.warmup_steps); defaults follow PAPERS.md E.4 (SGD 0.9, wd 5e-4, poly 0.9)
// scaled to CPU-sized runs. ConfigLoader reads, overrides, validates and prints these.
using SegLab.Contextrast;

namespace SegLab.Training;

/// <summary>Optimizer kinds.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum.</summary>
    Sgd,

    /// <summary>AdamW.</summary>
    AdamW,
}

/// <summary>Learning-rate policies.</summary>
public enum SchedulePolicy
{
    /// <summary>(1 - t/T)^power.</summary>
    Poly,

    /// <summary>Half cosine.</summary>
    Cosine,

    /// <summary>Constant.</summary>
    Constant,
}

/// <summary>The whole run.</summary>
public sealed record TrainConfig
{
    /// <summary>Seed of weights, data order and augmentation.</summary>
    public int Seed { get; init; }

    /// <summary>Engine threads (0: SEGLAB_THREADS or the processor count). Results are reproducible per thread count.</summary>
    public int Threads { get; init; }

    /// <summary>The network.</summary>
    public ModelConfig Model { get; init; } = new();

    /// <summary>The data and augmentation.</summary>
    public DataConfig Data { get; init; } = new();

    /// <summary>Optimizer and schedule.</summary>
    public ScheduleConfig Schedule { get; init; } = new();

    /// <summary>Cross-entropy settings.</summary>
    public LossConfig Loss { get; init; } = new();

    /// <summary>Contextrast (off by default).</summary>
    public ContextrastOptions Contextrast { get; init; } = new();

    /// <summary>Adversarial training, PGD-AT or SegPGD-AT (off by default).</summary>
    public AdversarialConfig Adversarial { get; init; } = new();

    /// <summary>The weak-supervision pipeline run by seglab weak run (unused by seglab train).</summary>
    public SegLab.Weak.WeakConfig Weak { get; init; } = new();
}

/// <summary>Which network to train.</summary>
public sealed record ModelConfig
{
    /// <summary>
    /// unet, deeplabv3 (fresh weights) or deeplabv3-resnet18 (DeepLabV3 on the ImageNet ResNet18's layout, from the
    /// weights <see cref="Pretrained"/> names); ignored when <see cref="Init"/> names a model-table entry.
    /// </summary>
    public string Family { get; init; } = "unet";

    /// <summary>Output classes (0: the dataset's class count).</summary>
    public int Classes { get; init; }

    /// <summary>UNet channels per level, shallow to deep.</summary>
    public int[] Widths { get; init; } = [16, 32, 64, 128];

    /// <summary>deeplabv3-resnet18: encoder weights, none (random) or imagenet (resnet18-imagenet).</summary>
    public string Pretrained { get; init; } = "none";

    /// <summary>DeepLabV3: channels of the first ResNet stage (deeplabv3-resnet18: always 64).</summary>
    public int BaseWidth { get; init; } = 16;

    /// <summary>DeepLabV3: output stride (8 or 16).</summary>
    public int OutputStride { get; init; } = 16;

    /// <summary>DeepLabV3: ASPP channels.</summary>
    public int AsppChannels { get; init; } = 64;

    /// <summary>A model-table name (cgnet-camvid): fine-tune its network from its pretrained weights.</summary>
    public string? Init { get; init; }

    /// <summary>A safetensors file to start from (strict load), instead of fresh or pretrained weights.</summary>
    public string? Weights { get; init; }
}

/// <summary>Dataset and augmentation.</summary>
public sealed record DataConfig
{
    /// <summary>Dataset folder (CamVid layout: train/, trainannot/, val/, valannot/).</summary>
    public string Dir { get; init; } = "";

    /// <summary>Training split.</summary>
    public string TrainSplit { get; init; } = "train";

    /// <summary>Validation split ("" for none).</summary>
    public string ValSplit { get; init; } = "val";

    /// <summary>Dataset layout (auto, camvid, voc).</summary>
    public string Layout { get; init; } = "auto";

    /// <summary>Optional classes JSON file.</summary>
    public string? ClassesJson { get; init; }

    /// <summary>Random crop [height, width].</summary>
    public int[] Crop { get; init; } = [128, 128];

    /// <summary>Random scale range [min, max] applied before the crop.</summary>
    public double[] Scale { get; init; } = [0.5, 1.0];

    /// <summary>Random horizontal flip.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Colour jitter strength (0 disables).</summary>
    public double Jitter { get; init; }

    /// <summary>Images per mini-batch.</summary>
    public int Batch { get; init; } = 8;

    /// <summary>Validation images scaled by this factor before the forward (1: full size).</summary>
    public double ValScale { get; init; } = 0.5;

    /// <summary>Use at most this many validation images (0: all).</summary>
    public int ValLimit { get; init; }
}

/// <summary>Optimizer, learning rate and run length.</summary>
public sealed record ScheduleConfig
{
    /// <summary>sgd or adamw.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    /// <summary>Peak learning rate.</summary>
    public double Lr { get; init; } = 0.01;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>SGD Nesterov momentum.</summary>
    public bool Nesterov { get; init; }

    /// <summary>Weight decay (L2 for SGD, decoupled for AdamW).</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>AdamW betas.</summary>
    public double[] Betas { get; init; } = [0.9, 0.999];

    /// <summary>poly, cosine or constant.</summary>
    public SchedulePolicy Policy { get; init; } = SchedulePolicy.Poly;

    /// <summary>Poly exponent.</summary>
    public double Power { get; init; } = 0.9;

    /// <summary>Final (cosine) or floor (poly) learning rate.</summary>
    public double MinLr { get; init; }

    /// <summary>Run length in epochs (used when <see cref="Iterations"/> is 0).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Run length in optimizer steps (overrides epochs when positive).</summary>
    public int Iterations { get; init; }

    /// <summary>Linear warm-up in optimizer steps.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Warm-up factor at step 0.</summary>
    public double WarmupStartFactor { get; init; } = 0.001;

    /// <summary>Mini-batches whose gradients are summed (averaged) into one optimizer step.</summary>
    public int Accumulation { get; init; } = 1;

    /// <summary>Validate every this many epochs (0: only at the end).</summary>
    public int ValidateEvery { get; init; } = 1;

    /// <summary>Write the last checkpoint every this many optimizer steps (0: at epoch ends only).</summary>
    public int CheckpointEvery { get; init; }
}

/// <summary>Cross-entropy settings.</summary>
public sealed record LossConfig
{
    /// <summary>Label ignored by the loss and the metrics (null: the dataset's).</summary>
    public int? IgnoreIndex { get; init; }

    /// <summary>Per-class weights (null: uniform); one per class.</summary>
    public double[]? ClassWeights { get; init; }
}

/// <summary>The attack that makes adversarial training samples.</summary>
public enum AdversarialAttack
{
    /// <summary>PGD on the cross-entropy (PGD-AT, Madry et al. 2018; DDC-AT's baseline).</summary>
    Pgd,

    /// <summary>PGD on SegPGD's weighted cross-entropy (SegPGD-AT, Gu et al. 2022); key segpgd.</summary>
    Segpgd,
}

/// <summary>Adversarial training (PAPERS.md A.0, A.5, A.6): part of every batch replaced by its PGD or SegPGD adversarial.</summary>
public sealed record AdversarialConfig
{
    /// <summary>Make adversarial samples (false: clean training, the other keys unused).</summary>
    public bool Enabled { get; init; }

    /// <summary>pgd (cross-entropy) or segpgd.</summary>
    public AdversarialAttack Attack { get; init; } = AdversarialAttack.Pgd;

    /// <summary>L-inf radius in [0,1] RGB; fractions allowed (4/255, SEA's adversarial training).</summary>
    public double Eps { get; init; } = 4.0 / 255;

    /// <summary>Attack steps (SegPGD-AT: 3; SEA's AT: 2 or 5).</summary>
    public int Steps { get; init; } = 3;

    /// <summary>Absolute step size (0: 2.5 * eps / steps, Madry et al.'s rule).</summary>
    public double StepSize { get; init; }

    /// <summary>Share of each batch made adversarial, in [0, 1] ("50%" allowed; 0.5 is the DDC-AT/SegPGD-AT default).</summary>
    public double Share { get; init; } = 0.5;

    /// <summary>Start the attack at a uniform random point of the ball (seeded by seed, step and micro-batch).</summary>
    public bool RandomStart { get; init; } = true;

    /// <summary>The step size used: <see cref="StepSize"/>, or 2.5 * eps / steps when it is 0.</summary>
    public double Alpha => StepSize > 0 ? StepSize : 2.5 * Eps / Math.Max(1, Steps);
}
