// A tiny segmentation problem for the attack tests: a small random UNet with one extra output channel (like
// ESPNet's void logit), identity preprocessing, 2 images of 16x16, labels = its clean prediction with a void stripe.
using SegLab.Engine;
using SegLab.Models;
using SegLab.Robustness;

namespace SegLab.Tests.Robustness;

/// <summary>Model, images and labels for fast invariant tests.</summary>
internal sealed class TinySegmentation
{
    public const int Classes = 3, Ignore = 3, N = 2, H = 16, W = 16;

    public TinySegmentation(long seed = 5)
    {
        var net = new UNet(Classes + 1, [4, 8], rng: new Rng(seed));
        net.Eval();
        Model = new AttackModel(new SegmentationModel("tiny-unet", net, Preprocessing.Identity, Classes), Ignore);
        Images = Tensor.Uniform([N, 3, H, W], 0, 1, seed + 1).ToArray();
        var pred = Model.Predict(Model.Logits(Images, N, H, W), N, H * W);
        Labels = (int[])pred.Clone();
        for (int b = 0; b < N; b++)
            for (int x = 0; x < W; x++) Labels[b * H * W + x] = Ignore; // first row void
    }

    public AttackModel Model { get; }

    public float[] Images { get; }

    public int[] Labels { get; }

    public Tensor ImageTensor() => Tensor.FromArray((float[])Images.Clone(), N, 3, H, W);
}
