// Parity with PyTorch on a committed fixture (tools/tiny_net_reference.py), so the model machinery is
// checked even where ../shared is absent: strict loading of PyTorch names, every layer, every gradient.
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Engine.Serialization;

namespace SegLab.Tests.Models;

public class TinyNetParityTests
{
    internal sealed class Cbr : Module
    {
        public Cbr(int i, int o, int k, int s = 1, int d = 1, int g = 1)
        {
            RegisterModule("conv", new Conv2d(i, o, k, s, (k - 1) / 2 * d, d, g, bias: false));
            RegisterModule("bn", new BatchNorm2d(o, eps: 1e-3));
            RegisterModule("act", new PReLU(o));
        }

        protected override Tensor ForwardCore(Tensor x)
        {
            foreach (var (_, m) in NamedChildren()) x = m.Forward(x);
            return x;
        }
    }

    /// <summary>The C# twin of TinyNet in tools/tiny_net_reference.py.</summary>
    internal sealed class TinyNet : Module
    {
        private readonly Cbr _stem, _dw, _pw;
        private readonly Sequential _se;
        private readonly Conv2d _head;
        private readonly ConvTranspose2d _up;

        public TinyNet(int classes = 4)
        {
            _stem = RegisterModule("stem", new Cbr(3, 8, 3, s: 2));
            _dw = RegisterModule("dw", new Cbr(8, 8, 3, d: 2, g: 8));
            _pw = RegisterModule("pw", new Cbr(8, 8, 1));
            _se = RegisterModule("se", new Sequential(new Linear(8, 2), Activation.ReLU(), new Linear(2, 8), Activation.Sigmoid()));
            _head = RegisterModule("head", new Conv2d(8 + 3, classes, 1));
            _up = RegisterModule("up", new ConvTranspose2d(classes, classes, 2, 2, bias: false));
        }

        protected override Tensor ForwardCore(Tensor x)
        {
            var y = _stem.Forward(x);
            y = Ops.Add(y, _pw.Forward(_dw.Forward(y)));
            var s = _se.Forward(Ops.Flatten(Ops.GlobalAvgPool2d(y), 1));
            y = Ops.Mul(y, Ops.Reshape(s, s.Size(0), s.Size(1), 1, 1));
            var p = Ops.AvgPool2d(x, 3, 3, 2, 2, 1, 1);
            y = _up.Forward(_head.Forward(Ops.Cat([y, p], 1)));
            return Ops.Interpolate(y, x.Size(2), x.Size(3), InterpolationMode.Bilinear);
        }
    }

    private static string Fixture(string name) => Path.Combine(TestPaths.SourceDir(), "Fixtures", "tinynet", name);

    [Fact]
    public void Tiny_net_matches_pytorch_in_logits_loss_and_every_gradient()
    {
        var net = new TinyNet();
        net.LoadStateDict(SafeTensors.Load(Fixture("tiny_net.safetensors")).ToTensors(), strict: true);
        var io = SafeTensors.Load(Fixture("tiny_net_io.safetensors"));
        var r = ParityCheck.Run(net, io, "", ignoreIndex: 255, paramGrads: true, "param_grad.");
        Assert.True(r.LogitsRel < 1e-5, $"logits rel {r.LogitsRel}");
        Assert.True(r.LossRel < 1e-5, $"loss rel {r.LossRel}");
        Assert.True(r.InputGradRel < 1e-4, $"input grad rel {r.InputGradRel}");
        Assert.Equal(1.0, r.ArgmaxAgreement);
        Assert.Equal(io.Names.Count(n => n.StartsWith("param_grad.", StringComparison.Ordinal)), r.ParamGradRel.Count);
        Assert.All(r.ParamGradRel, p => Assert.True(p.Rel < 1e-4, $"{p.Name}: rel {p.Rel}"));
    }

    [Fact]
    public void A_wrong_state_dict_is_refused_with_every_key_named()
    {
        var net = new TinyNet(classes: 5);
        var e = Assert.Throws<StateDictException>(() => net.LoadStateDict(SafeTensors.Load(Fixture("tiny_net.safetensors")).ToTensors(), strict: true, source: "tiny_net.safetensors"));
        Assert.Contains("head.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("up.weight", e.Message, StringComparison.Ordinal);
    }
}
