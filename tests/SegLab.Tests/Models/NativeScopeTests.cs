// The native ports run in an inference scope hand each intermediate back once its last reader has run (Module.Forward,
// RunChain, Done; issue 22, inference memory): a scoped forward gives the unscoped logits exactly and, even as the
// first forward of a fresh pool, allocates at most three quarters of what an unscoped forward does (CGNet about half).
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Models;
using Xunit.Abstractions;

namespace SegLab.Tests.Models;

public sealed class NativeScopeTests(ITestOutputHelper output)
{
    public static TheoryData<string> Families => new() { "cgnet", "espnet", "espnetv2" };

    private static Module Build(string family) => family switch
    {
        "cgnet" => new CGNet(4, m: 2, n: 3, rng: new Rng(3)),
        "espnet" => new ESPNet(6, p: 2, q: 3, rng: new Rng(4)),
        _ => new ESPNetv2(21, 0.5, new Rng(5)),
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void A_scoped_forward_gives_the_unscoped_logits_and_allocates_a_fraction(string family)
    {
        var net = Build(family);
        net.Eval();
        var x = Tensor.Uniform([1, 3, 96, 128], -2, 2, 11);
        var (reference, first, second, unscoped, scoped) = ScopedForwardProbe.Run(net.Forward, x);
        Assert.Equal(reference, first);
        Assert.Equal(reference, second);
        output.WriteLine($"{family}: {unscoped / 1048576.0:F2} MB without a scope, {scoped / 1048576.0:F2} MB in the first scope");
        // ESPNetv2 keeps the most: the pools reuse exact lengths and it makes many distinct sizes (0.67 at this size).
        Assert.True(scoped < unscoped * 3 / 4, $"{family}: the first scoped forward allocated {scoped} bytes, the unscoped one {unscoped}: dead intermediates were not reused");
    }
}
