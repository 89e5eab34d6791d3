// The model table: names users type (cgnet-camvid, espnet-camvid, espnetv2-voc, resnet18-imagenet,
// deeplabv3-resnet18) mapped to constructors, weights and preprocessing. One explicit table, no registry magic (segmentation_models_pytorch's shape).
using SegLab.Data;
using SegLab.Engine.Nn;
using SegLab.Engine.Serialization;

namespace SegLab.Models;

/// <summary>One entry of the model table.</summary>
/// <param name="Name">Name users type.</param>
/// <param name="Description">One line for listings.</param>
/// <param name="Create">Builds the network with fresh weights.</param>
/// <param name="Preprocessing">Its input convention.</param>
/// <param name="NumClasses">Scored classes.</param>
/// <param name="OutputChannels">Channels the network outputs.</param>
/// <param name="Dataset">Dataset the pretrained weights fit ("camvid", "voc").</param>
/// <param name="WeightsFile">Pretrained weights, relative to the shared data folder; null for untrained families.</param>
/// <param name="InputSize">The (height, width) the network was trained and runs at, or null for any size (see <see cref="SegmentationModel.InputSize"/>).</param>
public sealed record ModelSpec(
    string Name, string Description, Func<Module> Create, Preprocessing Preprocessing,
    int NumClasses, int OutputChannels, string Dataset, string? WeightsFile, (int Height, int Width)? InputSize = null)
{
    /// <summary>Source, licence, training data and figures of the pretrained weights; null for untrained families.</summary>
    public ModelCard? Card { get; init; }
}

/// <summary>Known models.</summary>
public static class ModelTable
{
    /// <summary>Every model by name.</summary>
    public static IReadOnlyList<ModelSpec> All { get; } =
    [
        new("cgnet-camvid", "CGNet (M=3, N=21), CamVid 11 classes, trained on train+val",
            () => new CGNet(11, 3, 21),
            new Preprocessing(ChannelOrder.Rgb, 255, [105.65775299072266, 103.329833984375, 99.62540435791016], [1, 1, 1]),
            11, 11, "camvid", "models/cgnet-camvid/cgnet_m3n21_camvid.safetensors")
        {
            Card = new("wutianyiRosun/CGNet, model/CGNet.py (Context_Guided_Network, M=3, N=21)", "MIT",
                "CamVid train + val (367 + 101 images, 360x480)", "65.6 mIoU on CamVid test at 360x480 (Wu et al., 2021)",
                "85.68 mIoU on CamVid val (seglab eval; the PyTorch reference gives the same)",
                "trained on the val split too: its val scores are not held-out figures"),
        },
        new("espnet-camvid", "ESPNet (p=2, q=8), CamVid 11 classes + void output, trained on train",
            () => new ESPNet(12, 2, 8),
            new Preprocessing(ChannelOrder.Bgr, 255, [110.33134460449219, 108.40914916992188, 105.03352355957031], [72.12519836425781, 72.68854522705078, 69.9026107788086], 1.0 / 255),
            11, 12, "camvid", "models/espnet-camvid/espnet_p_2_q_8_camvid.safetensors")
        {
            Card = new("sacmehta/ESPNet, train/Model.py (ESPNet, p=2, q=8)", "MIT",
                "CamVid train (367 images); 12 outputs, the twelfth is void and never predicted", "55.64 mIoU on CamVid test (the repository's README)",
                "69.35 mIoU on CamVid val, held out (seglab eval; the PyTorch reference gives the same)"),
        },
        new("espnetv2-voc", "ESPNetv2 (s=2.0), PASCAL VOC 21 classes, runs at 384x384",
            () => new ESPNetv2(21, 2.0), Preprocessing.ImageNet,
            21, 21, "voc", "models/espnetv2-voc/espnetv2_s_2.0_pascal_384x384.safetensors", (384, 384))
        {
            Card = new("sacmehta/EdgeNets, model/segmentation/espnetv2.py (s=2.0)", "MIT",
                "PASCAL VOC 2012 segmentation by EdgeNets (its README names the training images), at 384x384", "67.01 mIoU on VOC 2012 val at 384x384 (Mehta et al., CVPR 2019)",
                "75.22 mIoU on the 14 VOC samples of ../shared (not the val set: docs/experiments/espnetv2-voc.md)"),
        },
        new("espnetv2-s0.5-voc", "ESPNetv2 (s=0.5), PASCAL VOC 21 classes, runs at 256x256",
            () => new ESPNetv2(21, 0.5), Preprocessing.ImageNet,
            21, 21, "voc", "models/espnetv2-voc/espnetv2_s_0.5_pascal_256x256.safetensors", (256, 256))
        {
            Card = new("sacmehta/EdgeNets, model/segmentation/espnetv2.py (s=0.5)", "MIT",
                "PASCAL VOC 2012 segmentation by EdgeNets (its README names the training images), at 256x256", "39.82 mIoU on VOC 2012 val at 256x256 (EdgeNets)",
                "52.15 mIoU on the 14 VOC samples of ../shared (not the val set: docs/experiments/espnetv2-voc.md)"),
        },
        new("resnet18-imagenet", "ImageNet ResNet18 encoder (CNTK layout, blocks 2-2-2-3), features at strides 4, 8, 16, 32; no segmentation head",
            () => new ResNet([.. ResNetImageNet.Blocks]), ResNetImageNet.Preprocessing,
            0, 512, "imagenet", null)
        {
            Card = new(ResNet18Source, "MIT (.NET Foundation)",
                "ImageNet (ILSVRC 2012 classification), by CNTK, as ML.NET describes its DNN featurizers; the package ships no training record",
                "no accuracy is published with the package (it ships the network up to global pooling, without the classifier)",
                "pooled features equal ONNX Runtime's on ResNet18.onnx to 1e-4 relative at 224x224 (ResNetTests); an encoder: use it through deeplabv3-resnet18 or ResNetImageNet.Load",
                "the mean is the channel average of CNTK's 224x224 mean image (which varies by up to 12.7 around it); the CNTK ResNet18 has three blocks in layer4, so torchvision's resnet18 weights do not fit it"),
        },
        new("deeplabv3-resnet18", "DeepLabV3 (output stride 16, ASPP 64) on resnet18-imagenet, CamVid 11 classes; train it (configs/camvid-deeplabv3-resnet18-*.yaml)",
            () => DeepLabV3.ResNet18(11, 16, imagenet: false, asppChannels: 64), ResNetImageNet.Preprocessing,
            11, 11, "camvid", null)
        {
            Card = new(ResNet18Source + " as the encoder; ASPP and head as SegLab's DeepLabV3 (Chen et al., arXiv 1706.05587)", "MIT (.NET Foundation) for the encoder weights",
                "encoder: ImageNet (ILSVRC 2012) by CNTK; ASPP and head: untrained until seglab train (model.family: deeplabv3-resnet18, model.pretrained: imagenet)",
                "none for this network (DeepLabV3 reports ResNet-101 on VOC and Cityscapes)",
                "CamVid val, reduced resolution, ImageNet encoder against random: docs/experiments/pretrained.md"),
        },
    ];

    private const string ResNet18Source = "NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0, tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx (a CNTK 2.6 export), converted by graph structure (ResNetImageNet)";

    /// <summary>The entry named <paramref name="name"/>, or null (a run folder, a file, an unknown name).</summary>
    /// <param name="name">Model name.</param>
    public static ModelSpec? TryGet(string name) => All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The entry named <paramref name="name"/>, or an error listing the known names.</summary>
    /// <param name="name">Model name.</param>
    public static ModelSpec Get(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown model '{name}'. Known models: {string.Join(", ", All.Select(m => m.Name))}.");

    /// <summary>The class table the named model's outputs are scored against (from its dataset).</summary>
    /// <param name="name">Model name.</param>
    public static ClassTable Classes(string name)
    {
        var spec = Get(name);
        return spec.Dataset switch
        {
            "camvid" => ClassTable.CamVid,
            "voc" => ClassTable.Voc,
            _ => throw new ArgumentException($"Model '{name}' has no built-in class table for dataset '{spec.Dataset}'."),
        };
    }

    /// <summary>
    /// The pretrained weights of <paramref name="spec"/>: in the shared data folder, else the same file shipped in
    /// samples/models/ (the demo's CGNet), else the shared folder's error saying how to provide it.
    /// </summary>
    /// <param name="spec">A table entry.</param>
    public static string PretrainedWeights(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.WeightsFile is null) throw new ArgumentException($"Model '{spec.Name}' has no pretrained weights; pass a weights file.");
        if (SharedData.Root is { } root && File.Exists(Path.Combine(root, spec.WeightsFile))) return Path.Combine(root, spec.WeightsFile);
        return Demo.Samples.TryWeights(spec.WeightsFile) ?? SharedData.Resolve(spec.WeightsFile);
    }

    /// <summary>The pretrained weights file where one is found (shared folder, then samples/), else null.</summary>
    /// <param name="spec">A table entry.</param>
    public static string? TryPretrainedWeights(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.WeightsFile is null) return null;
        if (SharedData.Root is { } root && File.Exists(Path.Combine(root, spec.WeightsFile))) return Path.Combine(root, spec.WeightsFile);
        return Demo.Samples.TryWeights(spec.WeightsFile);
    }

    /// <summary>
    /// Builds the named model in eval mode and loads weights (strict): from <paramref name="weightsPath"/> when
    /// given, else the pretrained file in the shared data folder.
    /// </summary>
    /// <param name="name">Model name.</param>
    /// <param name="weightsPath">A safetensors file, or null for the pretrained weights.</param>
    public static SegmentationModel Load(string name, string? weightsPath = null)
    {
        var spec = Get(name);
        if (spec.NumClasses == 0)
            throw new ArgumentException($"Model '{name}' is an encoder without a segmentation head: train deeplabv3-resnet18 from it (model.family: deeplabv3-resnet18, model.pretrained: imagenet).");
        var path = weightsPath ?? PretrainedWeights(spec);
        var network = spec.Create();
        var file = SafeTensors.Load(path);
        network.LoadStateDict(file.ToStateDict(), strict: true, source: path);
        network.Eval();
        return new SegmentationModel(spec.Name, network, spec.Preprocessing, spec.NumClasses, spec.InputSize);
    }
}
