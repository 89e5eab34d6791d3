// The encoders a tag classifier can stand on. The papers start from ImageNet weights (IRN: ResNet-50); SegLab's
// fallback is its own ResNet-18-style encoder trained from scratch. The names are what configs, the CLI and reports use.
using SegLab.Engine;
using SegLab.Models;

namespace SegLab.Weak;

/// <summary>Named encoders for <see cref="TagClassifier"/>.</summary>
public static class WeakEncoders
{
    /// <summary>SegLab's ResNet-18-style encoder (base width 32, output stride 16), random initialisation.</summary>
    public const string Scratch = "scratch-resnet";

    /// <summary>The ImageNet ResNet18 of the model table (resnet18-imagenet; 2-2-2-3 blocks), output stride 16.</summary>
    public const string ImageNet = "resnet18-imagenet";

    /// <summary>The encoder used when none is named: ImageNet weights, as the papers start from.</summary>
    public const string Default = ImageNet;

    /// <summary>Every known name.</summary>
    public static IReadOnlyList<string> Names { get; } = [ImageNet, Scratch];

    /// <summary>Throws an ArgumentException listing the known encoders when <paramref name="name"/> is not one.</summary>
    public static void Check(string name)
    {
        if (!Names.Contains(name)) throw new ArgumentException($"encoder '{name}' is unknown; known encoders: {string.Join(", ", Names)}.");
    }

    /// <summary>A one-line description for reports (which encoder, pretrained or not).</summary>
    public static string Describe(string name) => name switch
    {
        Scratch => $"{Scratch} (SegLab's ResNet-18-style encoder, width 32, output stride 16, trained from scratch: no ImageNet weights)",
        ImageNet => $"{ImageNet} (ImageNet-pretrained ResNet18 from Microsoft.ML.DnnImageFeaturizer.ResNet18, output stride 16; batch norm fixed and conv1/bn1 frozen, as IRN)",
        _ => name,
    };

    /// <summary>A classifier on the named encoder.</summary>
    /// <param name="name">Encoder name.</param>
    /// <param name="classes">Tagged classes.</param>
    /// <param name="seed">Initialisation seed.</param>
    /// <param name="pretrained">Load pretrained encoder weights where the encoder has them (false when a run's weights follow).</param>
    public static TagClassifier CreateClassifier(string name, int classes, int seed, bool pretrained = true)
    {
        Check(name);
        var rng = new Rng(seed);
        if (name == ImageNet)
        {
            var net = new ResNet([.. ResNetImageNet.Blocks], 16, rng: rng);
            if (pretrained) ResNetImageNet.LoadInto(net);
            net.GetSubmodule("conv1").Freeze();
            net.GetSubmodule("bn1").Freeze();
            return new TagClassifier(net, net.Channels, classes, ResNetImageNet.Preprocessing, name, rng) { FixedNorm = true };
        }
        var encoder = new ResNetEncoder(32, 16, rng);
        return new TagClassifier(encoder, encoder.Channels, classes, Preprocessing.ImageNet, name, rng);
    }
}
