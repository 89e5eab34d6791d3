using SegLab.Demo;

namespace SegLab.Tests.Demo;

public class EngineDemoTests
{
    [Fact]
    public void The_demo_network_learns_the_map()
    {
        int reports = 0;
        var r = EngineDemo.Run(steps: 300, seed: 0, new SyncProgress(_ => reports++));
        Assert.Equal(300, reports);
        Assert.True(r.FinalLoss < r.InitialLoss / 3, $"loss {r.InitialLoss} -> {r.FinalLoss}");
        Assert.InRange(r.PixelAccuracy, 90, 100);
    }

    [Fact]
    public void The_demo_is_deterministic_for_a_seed()
    {
        var a = EngineDemo.Run(steps: 20, seed: 3);
        var b = EngineDemo.Run(steps: 20, seed: 3);
        Assert.Equal(a.FinalLoss, b.FinalLoss);
        Assert.Throws<ArgumentOutOfRangeException>(() => EngineDemo.Run(steps: 0));
    }

    private sealed class SyncProgress(Action<EngineDemoProgress> report) : IProgress<EngineDemoProgress>
    {
        public void Report(EngineDemoProgress value) => report(value);
    }
}
