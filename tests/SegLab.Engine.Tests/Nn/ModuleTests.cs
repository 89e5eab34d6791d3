using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;

namespace SegLab.Engine.Tests.Nn;

public class ModuleTests
{
    /// <summary>A small PyTorch-named network: block.fc, block.scale (param), block.count (buffer), head.</summary>
    private sealed class Block : Module
    {
        public Block()
        {
            Fc = RegisterModule("fc", new Linear(3, 4, rng: new Rng(1)));
            Scale = RegisterParameter("scale", Tensor.Ones(4));
            Count = RegisterBuffer("count", Tensor.Zeros(1));
        }

        public Linear Fc { get; }

        public Tensor Scale { get; }

        public Tensor Count { get; }

        protected override Tensor ForwardCore(Tensor x) => Expose("scaled", Ops.Mul(Fc.Forward(x).Relu(), Scale));
    }

    private sealed class Net : Module
    {
        public Net()
        {
            Block = RegisterModule("block", new Block());
            Head = RegisterModule("head", new Sequential(new Linear(4, 2, rng: new Rng(2)), new Lambda(Ops.Tanh)));
        }

        public Block Block { get; }

        public Sequential Head { get; }

        protected override Tensor ForwardCore(Tensor x) => Head.Forward(Block.Forward(x));
    }

    [Fact]
    public void State_dict_keys_follow_pytorch_dotted_names()
    {
        var keys = new Net().StateDict().Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["block.count", "block.fc.bias", "block.fc.weight", "block.scale", "head.0.bias", "head.0.weight"], keys);
        Assert.Equal(3 * 4 + 4 + 4 + 4 * 2 + 2, new Net().ParameterCount());
    }

    [Fact]
    public void Load_state_dict_copies_values_in_place()
    {
        var a = new Net();
        var b = new Net();
        var w = b.Block.Fc.Weight;
        foreach (var (_, t) in a.StateDict()) t.Span.Fill(0.25f);
        b.LoadStateDict(a.StateDict());
        Assert.Same(w, b.Block.Fc.Weight);
        Assert.All(b.Block.Fc.Weight.ToArray(), v => Assert.Equal(0.25f, v));
        Assert.All(b.Block.Count.ToArray(), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void Strict_load_reports_every_problem_at_once()
    {
        var net = new Net();
        var state = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        state.Remove("block.scale");
        state.Remove("head.0.bias");
        state["block.extra"] = Tensor.Zeros(1);
        state["block.fc.weight"] = Tensor.Zeros(5, 3);
        var e = Assert.Throws<StateDictException>(() => net.LoadStateDict(state, source: "weights.safetensors"));
        Assert.Equal(["block.scale", "head.0.bias"], e.Missing.Order(StringComparer.Ordinal));
        Assert.Equal(["block.extra"], e.Unexpected);
        Assert.Single(e.Mismatched);
        Assert.Contains("weights.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("block.fc.weight: model [4, 3], file [5, 3]", e.Message, StringComparison.Ordinal);
        // non-strict: unknown and missing keys are skipped, but a shape mismatch is still an error
        Assert.Throws<StateDictException>(() => net.LoadStateDict(state, strict: false));
        state["block.fc.weight"] = Tensor.Full(2f, 4, 3);
        net.LoadStateDict(state, strict: false);
        Assert.All(net.Block.Fc.Weight.ToArray(), v => Assert.Equal(2f, v));
    }

    [Fact]
    public void Train_eval_and_freeze_reach_every_descendant()
    {
        var net = new Net();
        Assert.True(net.Block.Fc.Training);
        net.Eval();
        Assert.All(net.NamedModules(), m => Assert.False(m.Value.Training));
        net.Freeze();
        Assert.Equal(0, net.ParameterCount(trainableOnly: true));
        net.Block.Freeze(false);
        Assert.Equal(3 * 4 + 4 + 4, net.ParameterCount(trainableOnly: true));
    }

    [Fact]
    public void Features_are_captured_by_dotted_name_and_stay_differentiable()
    {
        var net = new Net();
        var x = Tensor.Uniform([5, 3], -1, 1, 3).RequireGrad();
        Tensor y;
        Tensor fc, scaled;
        using (var cap = FeatureCapture.Start(net, "block.fc", "block.scaled", "head.0"))
        {
            y = net.Forward(x);
            fc = cap["block.fc"];
            scaled = cap["block.scaled"];
            Assert.Equal(new[] { 5, 2 }, cap["head.0"].ShapeArray());
        }
        Assert.Equal(new[] { 5, 4 }, fc.ShapeArray());
        var g = Tape.Grad(Ops.Sum(y), [scaled]);
        Assert.Equal(new[] { 5, 4 }, g[0].ShapeArray());
        Assert.Contains(g[0].ToArray(), v => v != 0);
        Assert.Throws<KeyNotFoundException>(() => FeatureCapture.Start(net, "block.nope.x"));
        Assert.Throws<KeyNotFoundException>(() => net.GetSubmodule("block.nope"));
        Assert.Same(net.Block.Fc, net.GetSubmodule("block.fc"));
    }

    [Fact]
    public void Bad_names_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new BadModule("a.b"));
        Assert.Throws<ArgumentException>(() => new BadModule(""));
    }

    private sealed class BadModule : Module
    {
        public BadModule(string name) => RegisterParameter(name, Tensor.Ones(1));

        protected override Tensor ForwardCore(Tensor x) => x;
    }
}
