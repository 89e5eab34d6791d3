// CGNet: Context Guided Network (Wu, Tang, Liu, Zhang, Zhang; IEEE TIP 2021, arXiv 1811.08201).
// Written from the public architecture (wutianyiRosun/CGNet, model/CGNet.py) with its state-dict names,
// so the released PyTorch weights load with strict checking. Output: logits at input size (bilinear).
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>Context Guided Network, M blocks in stage 2 and N in stage 3.</summary>
public sealed class CGNet : Module
{
    private readonly Module[] _level2;
    private readonly Module[] _level3;

    /// <summary>Builds the network.</summary>
    /// <param name="classes">Output classes.</param>
    /// <param name="m">Blocks in stage 2 (3 in the paper's CamVid model).</param>
    /// <param name="n">Blocks in stage 3 (21).</param>
    /// <param name="rng">Initialisation generator.</param>
    public CGNet(int classes = 11, int m = 3, int n = 21, Rng? rng = null)
    {
        Level1_0 = RegisterModule("level1_0", new ConvBnPrelu(3, 32, 3, 2, rng));
        Level1_1 = RegisterModule("level1_1", new ConvBnPrelu(32, 32, 3, 1, rng));
        Level1_2 = RegisterModule("level1_2", new ConvBnPrelu(32, 32, 3, 1, rng));
        B1 = RegisterModule("b1", new BnPrelu(32 + 3));
        Level2_0 = RegisterModule("level2_0", new ContextGuidedBlockDown(32 + 3, 64, dilation: 2, reduction: 8, rng));
        var level2 = RegisterModule("level2", new Sequential());
        for (int i = 0; i < m - 1; i++) level2.Add(new ContextGuidedBlock(64, 64, dilation: 2, reduction: 8, rng));
        _level2 = Enumerable.Range(0, level2.Count).Select(i => level2[i]).ToArray();
        BnPrelu2 = RegisterModule("bn_prelu_2", new BnPrelu(128 + 3));
        Level3_0 = RegisterModule("level3_0", new ContextGuidedBlockDown(128 + 3, 128, dilation: 4, reduction: 16, rng));
        var level3 = RegisterModule("level3", new Sequential());
        for (int i = 0; i < n - 1; i++) level3.Add(new ContextGuidedBlock(128, 128, dilation: 4, reduction: 16, rng));
        _level3 = Enumerable.Range(0, level3.Count).Select(i => level3[i]).ToArray();
        BnPrelu3 = RegisterModule("bn_prelu_3", new BnPrelu(256));
        Classifier = RegisterModule("classifier", new Sequential(new ConvOnly(256, classes, 1, 1, rng)));
        Classes = classes;
    }

    /// <summary>Output classes.</summary>
    public int Classes { get; }

    internal ConvBnPrelu Level1_0 { get; }

    internal ConvBnPrelu Level1_1 { get; }

    internal ConvBnPrelu Level1_2 { get; }

    internal BnPrelu B1 { get; }

    internal ContextGuidedBlockDown Level2_0 { get; }

    internal BnPrelu BnPrelu2 { get; }

    internal ContextGuidedBlockDown Level3_0 { get; }

    internal BnPrelu BnPrelu3 { get; }

    internal Sequential Classifier { get; }

    /// <summary>Encoder stages by name, for feature capture: stage1 (1/2), stage2 (1/4), stage3 (1/8), logits (1/8).</summary>
    public static IReadOnlyList<string> StageNames { get; } = ["b1", "bn_prelu_2", "bn_prelu_3", "classifier"];

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x)
    {
        // x: [N, 3, H, W] preprocessed -> [N, classes, H, W]
        // Each value is handed back to an inference scope once its last reader has run (Done, RunChain).
        var out0 = RunChain(x, [Level1_0, Level1_1, Level1_2]);
        var inp1 = Downsample(x);
        var inp2 = Downsample(inp1);
        var out0Cat = Done(B1.ForwardCat([out0, inp1]), out0, inp1);
        var out1_0 = Done(Level2_0.Forward(out0Cat), out0Cat);
        var out1 = RunChain(out1_0, _level2);
        var out1Cat = Done(BnPrelu2.ForwardCat([out1, out1_0, inp2]), out1, out1_0, inp2);
        var out2_0 = Done(Level3_0.Forward(out1Cat), out1Cat);
        var out2 = RunChain(out2_0, _level3);
        var out2Cat = Done(BnPrelu3.ForwardCat([out2_0, out2]), out2_0, out2);
        var logits = Done(Classifier.Forward(out2Cat), out2Cat);
        return Done(Ops.Interpolate(logits, x.Size(2), x.Size(3), InterpolationMode.Bilinear, alignCorners: false), logits);
    }

    /// <summary>The input injection: 3x3 average pooling, stride 2, padding 1 (zeros counted, as PyTorch's default).</summary>
    private static Tensor Downsample(Tensor x) => Ops.AvgPool2d(x, 3, 3, 2, 2, 1, 1, ceilMode: false, countIncludePad: true);

    /// <summary>F_glo: channel attention from the global average (squeeze-and-excitation: fc.0, ReLU, fc.2, sigmoid).</summary>
    internal sealed class GlobalContext : Module
    {
        public GlobalContext(int channels, int reduction, Rng? rng)
            => Fc = RegisterModule("fc", new Sequential(new Linear(channels, channels / reduction, rng: rng), Activation.ReLU(), new Linear(channels / reduction, channels, rng: rng), Activation.Sigmoid()));

        public Sequential Fc { get; }

        protected override Tensor ForwardCore(Tensor x) => Ops.Mul(x, Ops.Reshape(Scale(x), x.Size(0), x.Size(1), 1, 1));

        /// <summary>The channel factors [N, C] that the block multiplies x by.</summary>
        /// <param name="x">[N, C, H, W].</param>
        public Tensor Scale(Tensor x) => Fc.Forward(Ops.Reshape(Ops.GlobalAvgPool2d(x), x.Size(0), x.Size(1)));
    }

    /// <summary>The down-sampling context-guided block: (H, W, C) -> (H/2, W/2, nOut).</summary>
    internal sealed class ContextGuidedBlockDown : Module
    {
        public ContextGuidedBlockDown(int nIn, int nOut, int dilation, int reduction, Rng? rng)
        {
            Conv1x1 = RegisterModule("conv1x1", new ConvBnPrelu(nIn, nOut, 3, 2, rng));
            FLoc = RegisterModule("F_loc", new ConvOnly(nOut, nOut, 3, 1, rng, groups: nOut));
            FSur = RegisterModule("F_sur", new ConvOnly(nOut, nOut, 3, 1, rng, dilation: dilation, groups: nOut));
            Bn = RegisterModule("bn", new BatchNorm2d(2 * nOut, eps: 1e-3));
            Act = RegisterModule("act", new PReLU(2 * nOut));
            Reduce = RegisterModule("reduce", new ConvOnly(2 * nOut, nOut, 1, 1, rng));
            FGlo = RegisterModule("F_glo", new GlobalContext(nOut, reduction, rng));
        }

        private ConvBnPrelu Conv1x1 { get; }

        private ConvOnly FLoc { get; }

        private ConvOnly FSur { get; }

        private BatchNorm2d Bn { get; }

        private PReLU Act { get; }

        private ConvOnly Reduce { get; }

        private GlobalContext FGlo { get; }

        protected override Tensor ForwardCore(Tensor x)
        {
            var o = Conv1x1.Forward(x);
            var joint = Reduce.Forward(BnPrelu.ApplyCat(Bn, Act, [FLoc.Forward(o), FSur.Forward(o)]));
            return FGlo.Forward(joint);
        }
    }

    /// <summary>The context-guided block with a residual connection.</summary>
    internal sealed class ContextGuidedBlock : Module
    {
        public ContextGuidedBlock(int nIn, int nOut, int dilation, int reduction, Rng? rng)
        {
            int n = nOut / 2;
            Conv1x1 = RegisterModule("conv1x1", new ConvBnPrelu(nIn, n, 1, 1, rng));
            FLoc = RegisterModule("F_loc", new ConvOnly(n, n, 3, 1, rng, groups: n));
            FSur = RegisterModule("F_sur", new ConvOnly(n, n, 3, 1, rng, dilation: dilation, groups: n));
            BnPreluJoint = RegisterModule("bn_prelu", new BnPrelu(nOut));
            FGlo = RegisterModule("F_glo", new GlobalContext(nOut, reduction, rng));
        }

        private ConvBnPrelu Conv1x1 { get; }

        private ConvOnly FLoc { get; }

        private ConvOnly FSur { get; }

        private BnPrelu BnPreluJoint { get; }

        private GlobalContext FGlo { get; }

        protected override Tensor ForwardCore(Tensor x)
        {
            var o = Conv1x1.Forward(x);
            var joint = BnPreluJoint.ForwardCat([FLoc.Forward(o), FSur.Forward(o)]);
            // x + F_glo(joint) in one pass, unless a capture asks for F_glo's own output.
            return MayFuse(FGlo) ? Ops.AddChannelScaled(x, joint, FGlo.Scale(joint)) : Ops.Add(x, FGlo.Forward(joint));
        }
    }
}
