// The shared checks every model in the table and every trainable family must pass (segmentation_models_pytorch's
// base test): output shape at input size, named stages capturable, gradients reaching the input and every
// parameter, train/eval behaviour, and a training step that lowers the loss.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Engine.Optim;
using SegLab.Models;

namespace SegLab.Tests.Models;

public class ModelFamilyTests
{
    public static TheoryData<string> Families => new() { "unet", "deeplabv3", "deeplabv3-resnet", "cgnet", "espnet" };

    private static (Module Net, IReadOnlyList<string> Stages, int Classes) Build(string family) => family switch
    {
        "unet" => (new UNet(5, [8, 16, 32], rng: new Rng(1)) is var u ? (u, u.StageNames, 5) : default),
        "deeplabv3" => (new DeepLabV3(5, baseWidth: 8, outputStride: 8, asppChannels: 16, rng: new Rng(2)), DeepLabV3.StageNames, 5),
        "deeplabv3-resnet" => (new DeepLabV3(5, new ResNet([1, 1, 1, 2], 8, baseWidth: 8, rng: new Rng(5)), asppChannels: 16, rng: new Rng(6)), DeepLabV3.StageNames, 5),
        "cgnet" => (new CGNet(4, m: 2, n: 2, rng: new Rng(3)), CGNet.StageNames, 4),
        _ => (new ESPNet(6, p: 1, q: 1, rng: new Rng(4)), ESPNet.StageNames, 6), // ESP blocks split channels by 5: fewer than 5 classes leaves empty branches
    };

    [Fact]
    public void A_captured_context_block_output_leaves_the_logits_as_the_fused_path_gives_them()
    {
        // The context-guided block fuses x + F_glo(joint) unless a capture asks for F_glo's own output.
        var net = new CGNet(4, m: 2, n: 2, rng: new Rng(3));
        net.Eval();
        var x = Tensor.Uniform([1, 3, 32, 48], -1, 1, 8);
        var fused = net.Forward(x).ToArray();
        using var cap = FeatureCapture.Start(net, "level2.0.F_glo");
        var unfused = net.Forward(x).ToArray();
        var f = cap["level2.0.F_glo"];
        Assert.Equal(new[] { 1, 64, 8, 12 }, f.ShapeArray());
        Assert.Equal(fused.Length, unfused.Length);
        for (int i = 0; i < fused.Length; i++) Assert.Equal(fused[i], unfused[i], 1e-4f);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Output_is_logits_at_input_size_and_stages_are_named(string family)
    {
        var (net, stages, classes) = Build(family);
        net.Eval();
        var x = Tensor.Uniform([2, 3, 32, 48], -1, 1, 7);
        using var cap = FeatureCapture.Start(net, stages.ToArray());
        var y = net.Forward(x);
        Assert.Equal(new[] { 2, classes, 32, 48 }, y.ShapeArray());
        foreach (var s in stages)
        {
            var f = cap[s];
            Assert.Equal(2, f.Size(0));
            Assert.True(f.Size(2) <= 32 && f.Size(3) <= 48, $"{s}: {Shapes.Format(f.Shape)}");
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Gradients_reach_the_input_and_every_parameter(string family)
    {
        var (net, _, classes) = Build(family);
        net.Train();
        var x = Tensor.Uniform([2, 3, 32, 32], -1, 1, 8).RequireGrad();
        var target = Tensor.FromArray(Enumerable.Range(0, 2 * 32 * 32).Select(i => (float)(i % classes)).ToArray(), 2, 32, 32);
        var loss = Ops.CrossEntropy(net.Forward(x), target);
        var ps = net.Parameters().ToList();
        var grads = Tape.Grad(loss, [x, .. ps]);
        Assert.Contains(grads[0].ToArray(), v => v != 0);
        var names = net.NamedParameters().Select(p => p.Key).ToList();
        for (int i = 0; i < ps.Count; i++)
            Assert.True(grads[i + 1].ToArray().Any(v => v != 0), $"{family}: no gradient reaches {names[i]}");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void A_few_sgd_steps_lower_the_loss_on_a_fixed_batch(string family)
    {
        var (net, _, classes) = Build(family);
        net.Train();
        var x = Tensor.Uniform([2, 3, 32, 32], 0, 1, 9);
        // a learnable target: class by image quadrant
        var t = new float[2 * 32 * 32];
        for (int i = 0; i < t.Length; i++) t[i] = ((i % 1024) / 32 < 16 ? 0 : 1) + ((i % 32) < 16 ? 0 : 2) % classes;
        var target = Tensor.FromArray(t, 2, 32, 32);
        var opt = new Sgd(net.Parameters(), lr: 0.05, momentum: 0.9);
        double first = 0, last = 0;
        for (int step = 0; step < 8; step++)
        {
            opt.ZeroGrad();
            var loss = Ops.CrossEntropy(net.Forward(x), target);
            if (step == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            opt.Step();
        }
        Assert.True(last < first, $"{family}: loss {first} -> {last}");
    }

    [Fact]
    public void Bad_family_settings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new UNet(3, [8]));
        Assert.Throws<ArgumentException>(() => new DeepLabV3(3, outputStride: 32));
    }

    [Fact]
    public void Preprocessing_maps_rgb_to_each_network_convention()
    {
        var rgb = Tensor.FromArray(new float[] { 1, 0.5f, 0 }, 1, 3, 1, 1);
        var cg = ModelTable.Get("cgnet-camvid").Preprocessing.Apply(rgb).ToArray();
        Assert.Equal(255 - 105.65775299072266, cg[0], 3);
        Assert.Equal(127.5 - 103.329833984375, cg[1], 3);
        Assert.Equal(0 - 99.62540435791016, cg[2], 3);
        var esp = ModelTable.Get("espnet-camvid").Preprocessing.Apply(rgb).ToArray();
        // BGR order: channel 0 is blue (0), normalised then divided by 255
        Assert.Equal((0 - 110.33134460449219) / 72.12519836425781 / 255, esp[0], 6);
        Assert.Equal((255 - 105.03352355957031) / 69.9026107788086 / 255, esp[2], 6);
        Assert.Throws<ArgumentException>(() => Preprocessing.Identity.Apply(Tensor.Zeros(1, 1, 2, 2)));
    }

    [Fact]
    public void The_model_table_knows_its_models_and_names_the_unknown()
    {
        Assert.Equal(["cgnet-camvid", "espnet-camvid", "espnetv2-voc", "espnetv2-s0.5-voc", "resnet18-imagenet", "deeplabv3-resnet18"], ModelTable.All.Select(m => m.Name));
        Assert.Contains("encoder", Assert.Throws<ArgumentException>(() => ModelTable.Load("resnet18-imagenet")).Message, StringComparison.Ordinal);
        var dl = (DeepLabV3)ModelTable.Get("deeplabv3-resnet18").Create();
        Assert.Equal(ModelTable.Get("resnet18-imagenet").Create().StateDict().Keys.Select(k => "encoder." + k), dl.StateDict().Keys.Where(k => k.StartsWith("encoder.", StringComparison.Ordinal)));
        var e = Assert.Throws<ArgumentException>(() => ModelTable.Get("segformer"));
        Assert.Contains("cgnet-camvid", e.Message, StringComparison.Ordinal);
        var cg = (CGNet)ModelTable.Get("cgnet-camvid").Create();
        Assert.Equal(498, cg.StateDict().Count);
        var esp = ModelTable.Get("espnet-camvid").Create();
        Assert.Equal(189 + 21, esp.StateDict().Count); // the file lacks the 21 num_batches_tracked buffers
    }

    [Fact]
    public void Predict_takes_the_argmax_over_the_scored_classes_only()
    {
        var m = new SegmentationModel("t", new Lambda(x => x), Preprocessing.Identity, numClasses: 2);
        var logits = Tensor.FromArray(new float[] { 0, 1, 2, 0, 5, 9 }, 1, 3, 1, 2); // channel 2 (void) is largest everywhere
        Assert.Equal(new float[] { 1, 0 }, m.Predict(logits).ToArray());
    }
}
