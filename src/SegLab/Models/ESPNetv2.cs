// ESPNetv2 for semantic segmentation (Mehta, Rastegari, Shapiro, Hajishirzi; "ESPNetv2: A Light-weight, Power
// Efficient, and General Purpose Convolutional Neural Network", CVPR 2019). Written from the public architecture
// (sacmehta/EdgeNets: model/segmentation/espnetv2.py on the EESPNet encoder of model/classification/espnetv2.py,
// without its level 5) with its state-dict names. Output: logits at input size (bilinear, aligned corners).
using SegLab.Engine;
using SegLab.Engine.Nn;

namespace SegLab.Models;

/// <summary>ESPNetv2 segmentation network at width scale s: EESPNet encoder (1/16) and a pyramid-pooling decoder.</summary>
public sealed class ESPNetv2 : Module
{
    // EdgeNets' espnetv2_config: channels per level for each width scale; EESP repeats at levels 3 and 4;
    // receptive-field limits of levels 2..5; four branches everywhere.
    private static readonly Dictionary<double, int[]> ChannelsOfScale = new()
    {
        [0.5] = [16, 32, 64, 128],
        [1.0] = [32, 64, 128, 256],
        [1.25] = [32, 80, 160, 320],
        [1.5] = [32, 96, 192, 384],
        [2.0] = [32, 128, 256, 512],
    };

    private const int Branches = 4;
    private readonly ConvBnPrelu _level1;
    private readonly EespDownSampler _level2_0, _level3_0, _level4_0;
    private readonly Module[] _level3, _level4;
    private readonly EfficientPyrPool _dec1, _dec2, _dec3, _dec4;
    private readonly EfficientPwConv _merge2, _merge3, _merge4;
    private readonly Sequential _br2, _br3, _br4;

    /// <summary>Builds the network.</summary>
    /// <param name="classes">Output classes (21 for PASCAL VOC).</param>
    /// <param name="scale">Width scale s: 0.5, 1.0, 1.25, 1.5 or 2.0.</param>
    /// <param name="rng">Initialisation generator.</param>
    public ESPNetv2(int classes = 21, double scale = 2.0, Rng? rng = null)
    {
        if (!ChannelsOfScale.TryGetValue(scale, out var ch))
            throw new ArgumentException($"ESPNetv2: width scale {scale} is not one of {string.Join(", ", ChannelsOfScale.Keys)}.");
        if (classes < 2) throw new ArgumentException($"ESPNetv2: {classes} classes; at least 2 are needed.");
        Classes = classes;
        Scale = scale;
        var baseNet = RegisterModule("base_net", new Named());
        _level1 = baseNet.Add("level1", new ConvBnPrelu(3, ch[0], 3, 2, rng, eps: 1e-5));
        _level2_0 = baseNet.Add("level2_0", new EespDownSampler(ch[0], ch[1], Branches, 13, rng));
        _level3_0 = baseNet.Add("level3_0", new EespDownSampler(ch[1], ch[2], Branches, 11, rng));
        _level3 = Repeat(baseNet.Add("level3", new Sequential()), 3, () => new Eesp(ch[2], ch[2], 1, Branches, 9, rng));
        _level4_0 = baseNet.Add("level4_0", new EespDownSampler(ch[2], ch[3], Branches, 9, rng));
        _level4 = Repeat(baseNet.Add("level4", new Sequential()), 7, () => new Eesp(ch[3], ch[3], 1, Branches, 7, rng));

        // Decoder for PASCAL VOC (EdgeNets' base width 16): widths 64, 48, 32, classes; pyramid projections min(classes / 2, 16).
        int[] dec = [64, 48, 32, classes];
        int proj = Math.Min(classes / 2, 16);
        _dec1 = RegisterModule("bu_dec_l1", new EfficientPyrPool(ch[3], proj, dec[0], lastLayerBr: true, rng));
        _dec2 = RegisterModule("bu_dec_l2", new EfficientPyrPool(dec[0], proj, dec[1], lastLayerBr: true, rng));
        _dec3 = RegisterModule("bu_dec_l3", new EfficientPyrPool(dec[1], proj, dec[2], lastLayerBr: true, rng));
        _dec4 = RegisterModule("bu_dec_l4", new EfficientPyrPool(dec[2], proj, dec[3], lastLayerBr: false, rng));
        _merge2 = RegisterModule("merge_enc_dec_l2", new EfficientPwConv(ch[2], dec[0], rng));
        _merge3 = RegisterModule("merge_enc_dec_l3", new EfficientPwConv(ch[1], dec[1], rng));
        _merge4 = RegisterModule("merge_enc_dec_l4", new EfficientPwConv(ch[0], dec[2], rng));
        _br2 = RegisterModule("bu_br_l2", new Sequential(new BatchNorm2d(dec[0]), new PReLU(dec[0])));
        _br3 = RegisterModule("bu_br_l3", new Sequential(new BatchNorm2d(dec[1]), new PReLU(dec[1])));
        _br4 = RegisterModule("bu_br_l4", new Sequential(new BatchNorm2d(dec[2]), new PReLU(dec[2])));
    }

    /// <summary>Output classes.</summary>
    public int Classes { get; }

    /// <summary>Width scale s.</summary>
    public double Scale { get; }

    /// <summary>Encoder stages by name, for feature capture: 1/2, 1/4, 1/8 and 1/16 resolution.</summary>
    public static IReadOnlyList<string> StageNames { get; } = ["base_net.level1", "base_net.level2_0", "base_net.level3.2", "base_net.level4.6"];

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x)
    {
        // x: [N, 3, H, W], H and W multiples of 16 -> [N, classes, H, W]
        if (x.Rank != 4 || x.Size(1) != 3 || x.Size(2) % 16 != 0 || x.Size(3) % 16 != 0 || x.Size(2) == 0 || x.Size(3) == 0)
            throw new ArgumentException($"ESPNetv2 takes [N, 3, H, W] with H and W positive multiples of 16, got {Shapes.Format(x.Shape)}.");
        var images = new List<Tensor> { x };
        var l1 = _level1.Forward(x);                  // 1/2
        var l2 = _level2_0.Run(l1, images);           // 1/4
        var l3First = _level3_0.Run(l2, images);
        var l3 = Done(RunChain(l3First, _level3), l3First); // 1/8
        var l4First = _level4_0.Run(l3, images);
        var l4 = Done(RunChain(l4First, _level4), l4First); // 1/16

        // Each value is handed back to an inference scope once its last reader has run (Done, Chain).
        var y = Done(_dec1.Forward(l4), l4);
        y = Step(_dec2, _br2, _merge2, l3, y);
        y = Step(_dec3, _br3, _merge3, l2, y);
        y = Step(_dec4, _br4, _merge4, l1, y);
        var output = Done(Ops.Interpolate(y, x.Size(2), x.Size(3), InterpolationMode.Bilinear, alignCorners: true), y);
        foreach (var image in images.Skip(1)) Done(output, image);
        return output;
    }

    // One decoder step: dec(br(merge(skip) + up2(y))); skip and y are dead afterwards.
    private static Tensor Step(Module dec, Module br, Module merge, Tensor skip, Tensor y)
    {
        var merged = merge.Forward(skip);
        var up = Up2(y);
        var sum = Done(Ops.Add(merged, up), merged, up, skip, y);
        var normed = Done(br.Forward(sum), sum);
        return Done(dec.Forward(normed), normed);
    }

    private static Tensor Up2(Tensor x) => Ops.Interpolate(x, 2.0, InterpolationMode.Bilinear, alignCorners: true);


    /// <summary>A container of named children (the encoder "base_net"); the parent runs them.</summary>
    private sealed class Named : Module
    {
        public T Add<T>(string name, T child) where T : Module => RegisterModule(name, child);

        protected override Tensor ForwardCore(Tensor x) => throw new InvalidOperationException("base_net is run by ESPNetv2.");
    }

    private static Module[] Repeat(Sequential list, int count, Func<Module> make)
    {
        for (int i = 0; i < count; i++) list.Add(make());
        return [.. Enumerable.Range(0, count).Select(i => list[i])];
    }
}
