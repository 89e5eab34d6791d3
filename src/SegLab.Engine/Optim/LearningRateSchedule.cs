// Learning-rate schedules as small types: poly (DeepLab: lr * (1 - t/T)^0.9) and cosine (Loshchilov & Hutter,
// SGDR, ICLR 2017, without restarts), each with an optional linear warm-up that multiplies the schedule's value
// by a factor rising from warmupStartFactor to 1 over the first warmupSteps steps (mmsegmentation's "linear" warm-up).
namespace SegLab.Engine.Optim;

/// <summary>A learning rate as a function of the step (0-based: the step about to be taken).</summary>
public interface ILearningRateSchedule
{
    /// <summary>Learning rate for step <paramref name="step"/>.</summary>
    /// <param name="step">Optimizer steps taken so far.</param>
    double LearningRate(long step);
}

/// <summary>Shared warm-up and validation for the schedules.</summary>
public abstract class WarmupSchedule : ILearningRateSchedule
{
    /// <summary>Validates and stores the common settings.</summary>
    /// <param name="baseLr">Peak learning rate.</param>
    /// <param name="totalSteps">Steps of the whole run.</param>
    /// <param name="warmupSteps">Linear warm-up steps (0 for none).</param>
    /// <param name="warmupStartFactor">Fraction of the scheduled rate at step 0 of the warm-up.</param>
    protected WarmupSchedule(double baseLr, long totalSteps, long warmupSteps, double warmupStartFactor)
    {
        if (baseLr < 0 || totalSteps < 1 || warmupSteps < 0 || (warmupSteps > 0 && warmupSteps >= totalSteps) || warmupStartFactor is < 0 or > 1)
            throw new ArgumentException($"{GetType().Name}: need lr >= 0 ({baseLr}), total steps >= 1 ({totalSteps}), 0 <= warm-up < total ({warmupSteps}), start factor in [0, 1] ({warmupStartFactor}).");
        BaseLr = baseLr;
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
        WarmupStartFactor = warmupStartFactor;
    }

    /// <summary>Peak learning rate.</summary>
    public double BaseLr { get; }

    /// <summary>Steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>Linear warm-up steps.</summary>
    public long WarmupSteps { get; }

    /// <summary>Warm-up factor at step 0.</summary>
    public double WarmupStartFactor { get; }

    /// <inheritdoc/>
    public double LearningRate(long step)
    {
        long t = Math.Clamp(step, 0, TotalSteps);
        double lr = Decay(t / (double)TotalSteps);
        if (t < WarmupSteps) lr *= WarmupStartFactor + (1 - WarmupStartFactor) * t / WarmupSteps;
        return lr;
    }

    /// <summary>The schedule's value at progress <paramref name="progress"/> in [0, 1].</summary>
    /// <param name="progress">step / total steps.</param>
    protected abstract double Decay(double progress);
}

/// <summary>Poly decay: lr * (1 - t/T)^power.</summary>
/// <param name="baseLr">Peak learning rate.</param>
/// <param name="totalSteps">Steps of the whole run.</param>
/// <param name="power">Exponent (0.9 in DeepLab and Contextrast).</param>
/// <param name="minLr">Floor added after decay (mmsegmentation's min_lr).</param>
/// <param name="warmupSteps">Linear warm-up steps.</param>
/// <param name="warmupStartFactor">Warm-up factor at step 0.</param>
public sealed class PolySchedule(double baseLr, long totalSteps, double power = 0.9, double minLr = 0, long warmupSteps = 0, double warmupStartFactor = 0.001)
    : WarmupSchedule(baseLr, totalSteps, warmupSteps, warmupStartFactor)
{
    /// <summary>Exponent.</summary>
    public double Power { get; } = power;

    /// <summary>Floor.</summary>
    public double MinLr { get; } = minLr;

    /// <inheritdoc/>
    protected override double Decay(double progress) => (BaseLr - MinLr) * Math.Pow(1 - progress, Power) + MinLr;
}

/// <summary>Cosine decay from lr to minLr: minLr + (lr - minLr) (1 + cos(pi t/T)) / 2.</summary>
/// <param name="baseLr">Peak learning rate.</param>
/// <param name="totalSteps">Steps of the whole run.</param>
/// <param name="minLr">Final learning rate.</param>
/// <param name="warmupSteps">Linear warm-up steps.</param>
/// <param name="warmupStartFactor">Warm-up factor at step 0.</param>
public sealed class CosineSchedule(double baseLr, long totalSteps, double minLr = 0, long warmupSteps = 0, double warmupStartFactor = 0.001)
    : WarmupSchedule(baseLr, totalSteps, warmupSteps, warmupStartFactor)
{
    /// <summary>Final learning rate.</summary>
    public double MinLr { get; } = minLr;

    /// <inheritdoc/>
    protected override double Decay(double progress) => MinLr + (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * progress)) / 2;
}

/// <summary>A constant learning rate (with optional warm-up).</summary>
/// <param name="baseLr">Learning rate.</param>
/// <param name="totalSteps">Steps of the whole run.</param>
/// <param name="warmupSteps">Linear warm-up steps.</param>
/// <param name="warmupStartFactor">Warm-up factor at step 0.</param>
public sealed class ConstantSchedule(double baseLr, long totalSteps, long warmupSteps = 0, double warmupStartFactor = 0.001)
    : WarmupSchedule(baseLr, totalSteps, warmupSteps, warmupStartFactor)
{
    /// <inheritdoc/>
    protected override double Decay(double progress) => BaseLr;
}
