// Tests of the class-token ViT and its attention API for iSeg: one token per class, attention rows that sum to 1,
// Cat-Cross with gamma 1 equal to no scaling (and gamma 1.6 not), a training step that lowers the loss on a fixed
// batch, a resumed run bit-identical to an uninterrupted one, and the iSeg evaluation's variants.
using SegLab.Engine;
using SegLab.Engine.Optim;
using SegLab.Tests.Training;
using SegLab.TrainingFree;
using SegLab.Weak;

namespace SegLab.Tests.TrainingFree;

public sealed class ClassTokenVitTests : IDisposable
{
    private static readonly VitOptions Tiny = new() { Dim = 16, Depth = 2, Heads = 2, Patch = 4, MlpRatio = 2, Height = 16, Width = 16 };
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seglab-vit-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static Tensor Images(int b, int seed) => Tensor.Uniform(new Rng(seed), [b, 3, 16, 16], 0, 1);

    [Fact]
    public void There_is_one_token_per_class_and_the_outputs_have_the_class_count()
    {
        var m = new ClassTokenVit(Tiny, classes: 5, seed: 1);
        Assert.Equal([1, 5, 16], m.ClsToken.ShapeArray());
        var atts = new List<Tensor>();
        var logits = m.Run(Images(2, 3), 1.0, atts);
        Assert.Equal([2, 5], logits.ShapeArray());
        Assert.Equal(2, atts.Count);
        Assert.Equal([2, 2, 5 + 16, 5 + 16], atts[0].ShapeArray()); // T = C + N with N = (16/4)^2
        var a = m.Attention(Ops.Select(Images(1, 4), 0, 0), gamma: 1.6);
        Assert.Equal([16, 5], a.CrossAttention.ShapeArray());
        Assert.Equal([16, 16], a.SelfAttention.ShapeArray());
        Assert.Equal((4, 4), (a.GridH, a.GridW));
        Assert.Equal([5], a.Logits.ShapeArray());
        Assert.Contains(m.StateDict(), kv => kv.Key == "blocks.1.attn.qkv.weight");
        Assert.Contains(m.StateDict(), kv => kv.Key == "head.weight");
    }

    [Fact]
    public void Attention_rows_sum_to_one_and_so_do_the_rows_of_S()
    {
        var m = new ClassTokenVit(Tiny, classes: 3, seed: 2);
        var atts = new List<Tensor>();
        m.Run(Images(2, 5), 1.6, atts);
        foreach (var att in atts)
        {
            var v = att.ToArray();
            int t = att.Size(3);
            for (int r = 0; r < v.Length / t; r++) Assert.Equal(1.0, v.Skip(r * t).Take(t).Sum(x => (double)x), 5);
        }
        var a = m.Attention(Images(1, 6), gamma: 1.6, lastLayers: 2);
        var s = a.SelfAttention.ToArray();
        for (int r = 0; r < 16; r++) Assert.Equal(1.0, s.Skip(r * 16).Take(16).Sum(x => (double)x), 5);
        Assert.All(a.CrossAttention.ToArray(), x => Assert.True(x >= 0 && x <= 1));
    }

    [Fact]
    public void Cat_cross_with_gamma_one_equals_no_scaling_and_gamma_1_6_changes_the_cross_attention()
    {
        var m = new ClassTokenVit(Tiny, classes: 3, seed: 3);
        var x = Images(1, 7);
        var plain = m.Forward(x).ToArray();
        var one = m.Attention(x, gamma: 1.0);
        Assert.Equal(plain, one.Logits.ToArray());
        var atts = new List<Tensor>();
        m.Run(x, 1.0, atts);
        // A0 from the raw attentions with no scaling: mean over heads and the last 2 blocks, class rows, patch columns
        int t = 3 + 16;
        var expected = new double[16 * 3];
        foreach (var att in atts)
        {
            var v = att.ToArray();
            for (int h = 0; h < 2; h++)
                for (int c = 0; c < 3; c++)
                    for (int j = 0; j < 16; j++) expected[j * 3 + c] += v[h * t * t + c * t + 3 + j] / 4.0;
        }
        var a0 = one.CrossAttention.ToArray();
        for (int i = 0; i < a0.Length; i++) Assert.Equal(expected[i], a0[i], 6);
        var enhanced = m.Attention(x, gamma: 1.6).CrossAttention.ToArray();
        Assert.True(a0.Zip(enhanced).Max(p => Math.Abs(p.First - p.Second)) > 1e-4, "gamma 1.6 left the cross-attention unchanged");
    }

    [Fact]
    public void Training_steps_lower_the_loss_on_a_fixed_batch()
    {
        var m = new ClassTokenVit(Tiny, classes: 3, seed: 4);
        var x = Images(4, 8);
        var y = Tensor.FromArray(new float[] { 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1 }, 4, 3);
        var opt = new AdamW(m.TrainableParameters(), 3e-3, weightDecay: 0);
        double first = 0, last = 0;
        for (int i = 0; i < 8; i++)
        {
            opt.ZeroGrad();
            var loss = MultiLabelLoss.SoftMargin(m.Forward(x), y);
            if (i == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            Assert.All(m.TrainableParameters(), p => Assert.NotNull(p.Grad));
            opt.Step();
        }
        Assert.True(last < first - 0.05, $"loss {first:F4} -> {last:F4}");
    }

    [Fact]
    public void Bad_inputs_name_what_is_wrong()
    {
        var m = new ClassTokenVit(Tiny, classes: 3);
        Assert.Contains("multiple of the patch size 4", Assert.Throws<ArgumentException>(() => m.Forward(Tensor.Zeros(1, 3, 15, 16))).Message);
        Assert.Contains("gamma", Assert.Throws<ArgumentException>(() => m.Attention(Tensor.Zeros(3, 16, 16), gamma: 0)).Message);
        Assert.Contains("last layers must be in 1..2", Assert.Throws<ArgumentException>(() => m.Attention(Tensor.Zeros(3, 16, 16), lastLayers: 3)).Message);
        Assert.Contains("multiple of heads", Assert.Throws<ArgumentException>(() => new ClassTokenVit(Tiny with { Heads = 3 }, 2)).Message);
    }

    private static VitTrainOptions RunOptions => new()
    {
        Model = Tiny,
        Tags = new TagOptions(16, 16, 16, 16, 12),
        Epochs = 2,
        Batch = 4,
        Lr = 2e-3,
        CheckpointEvery = 3,
        Seed = 5,
    };

    [Fact]
    public void Resumed_run_is_bit_identical_to_an_uninterrupted_one()
    {
        var train = new SyntheticDataset(8, 32, 3);
        string a = Path.Combine(_root, "full"), b = Path.Combine(_root, "resumed");
        var full = new VitTrainer(RunOptions, train, null, a).Run();
        Assert.Equal(2, full.EpochSeconds.Length);
        Assert.Equal(2, full.EpochLoss.Length);
        var first = new VitTrainer(RunOptions, train, null, b);
        first.Run(stopAfterStep: 5);
        Assert.Equal(5, first.Step);
        var (partial, _, step) = VitTrainer.LoadCheckpoint(b);
        Assert.Equal(5, step);
        Assert.Equal(first.Model.Forward(Images(1, 10)).ToArray(), partial.Forward(Images(1, 10)).ToArray());
        var second = new VitTrainer(RunOptions, train, null, b, resume: true);
        Assert.Equal(5, second.Step);
        second.Run();
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));
        var e = Assert.Throws<ArgumentException>(() => new VitTrainer(RunOptions with { Lr = 0.1 }, train, null, b, resume: true));
        Assert.Contains("other ViT settings", e.Message);
        var (loaded, classes) = VitTrainer.Load(a);
        Assert.Equal(train.Classes.Names, classes);
        var x = Images(1, 9);
        Assert.Equal(new VitTrainer(RunOptions, train, null, a, resume: true).Model.Forward(x).ToArray(), loaded.Forward(x).ToArray());
    }

    [Fact]
    public void Iseg_evaluation_scores_every_variant_and_writes_its_json()
    {
        var train = new SyntheticDataset(8, 32, 4);
        string dir = Path.Combine(_root, "run");
        var s = new VitTrainer(RunOptions with { Epochs = 1 }, train, new SyntheticDataset(4, 32, 6), dir).Run();
        Assert.NotNull(s.Val);
        var (model, classes) = VitTrainer.Load(dir);
        var r = VitIseg.Run(model, classes, new SyntheticDataset(2, 32, 7), new VitIsegOptions { Iterations = [1, 10] }, Path.Combine(_root, "eval"));
        Assert.Equal(8, r.Crops);
        Assert.Equal(["a0", "base", "iseg", "iseg", "a0", "base", "iseg", "iseg"], r.Rows.Select(x => x.Variant));
        Assert.All(r.Rows, x => Assert.InRange(x.MIoU, 0, 100));
        Assert.True(File.Exists(Path.Combine(_root, "eval", VitIsegResult.FileName)));
        Assert.Throws<ArgumentException>(() => VitIseg.Run(model, ["x", "y", "z"], train, new VitIsegOptions()));
    }
}
