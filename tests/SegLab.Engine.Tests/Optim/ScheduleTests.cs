using SegLab.Engine.Optim;

namespace SegLab.Engine.Tests.Optim;

public class ScheduleTests
{
    [Fact]
    public void Poly_follows_one_minus_progress_to_the_power()
    {
        var s = new PolySchedule(0.01, 100, 0.9);
        Assert.Equal(0.01, s.LearningRate(0), 12);
        Assert.Equal(0.01 * Math.Pow(0.5, 0.9), s.LearningRate(50), 12);
        Assert.Equal(0, s.LearningRate(100), 12);
        Assert.Equal(0, s.LearningRate(500), 12);
    }

    [Fact]
    public void Cosine_goes_from_base_to_min()
    {
        var s = new CosineSchedule(1.0, 10, minLr: 0.1);
        Assert.Equal(1.0, s.LearningRate(0), 12);
        Assert.Equal(0.55, s.LearningRate(5), 12);
        Assert.Equal(0.1, s.LearningRate(10), 12);
    }

    [Fact]
    public void Linear_warmup_multiplies_the_schedule()
    {
        var s = new PolySchedule(1.0, 100, 1.0, warmupSteps: 10, warmupStartFactor: 0.1);
        Assert.Equal(0.1, s.LearningRate(0), 12);
        Assert.Equal((0.1 + 0.9 * 0.5) * 0.95, s.LearningRate(5), 12);
        Assert.Equal(0.9, s.LearningRate(10), 12);
        var c = new ConstantSchedule(2, 10, warmupSteps: 4, warmupStartFactor: 0);
        Assert.Equal(0, c.LearningRate(0), 12);
        Assert.Equal(1, c.LearningRate(2), 12);
        Assert.Equal(2, c.LearningRate(4), 12);
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new PolySchedule(0.1, 0));
        Assert.Throws<ArgumentException>(() => new CosineSchedule(0.1, 10, warmupSteps: 10));
        Assert.Throws<ArgumentException>(() => new ConstantSchedule(-1, 10));
    }
}
