// Builds the network a TrainConfig names: a fresh UNet (Ronneberger et al. 2015) or DeepLabV3-style model with
// ImageNet input normalisation, DeepLabV3 on the ImageNet ResNet18 (random or ImageNet encoder), or a model-table entry (cgnet-camvid) from its pretrained weights for fine-tuning,
// optionally overwritten by a weights file; and the encoder stages Contextrast attaches its heads to.
using SegLab.Engine;
using SegLab.Engine.Serialization;
using SegLab.Models;

namespace SegLab.Training;

/// <summary>Creates training models from <see cref="ModelConfig"/>.</summary>
public static class ModelFactory
{
    /// <summary>The model in training mode.</summary>
    /// <param name="config">Model settings.</param>
    /// <param name="classes">Class count when the config leaves it at 0.</param>
    /// <param name="seed">Initialisation seed.</param>
    public static SegmentationModel Create(ModelConfig config, int classes, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        int k = config.Classes > 0 ? config.Classes : classes;
        SegmentationModel model;
        if (config.Init is { } init)
        {
            model = SegLab.Onnx.OnnxModelCard.IsOnnx(init) ? SegLab.Onnx.OnnxModelCard.LoadModel(init) : ModelTable.Load(init);
            if (config.Classes > 0 && config.Classes != model.NumClasses)
                throw new ArgumentException($"model.classes is {config.Classes} but model.init '{init}' scores {model.NumClasses} classes.");
        }
        else
        {
            var rng = new Rng(seed);
            Engine.Nn.Module net = config.Family switch
            {
                "unet" => new UNet(k, config.Widths, rng: rng),
                "deeplabv3" => new DeepLabV3(k, config.BaseWidth, config.OutputStride, config.AsppChannels, rng),
                "deeplabv3-resnet18" => DeepLabV3.ResNet18(k, config.OutputStride, config.Pretrained == "imagenet", config.AsppChannels, rng),
                _ => throw new ArgumentException($"model.family: unknown family '{config.Family}' (unet, deeplabv3, deeplabv3-resnet18)."),
            };
            // deeplabv3-resnet18 takes the ImageNet ResNet18's input convention with or without its weights, so
            // that a pretrained and a random run differ in the weights only.
            var pre = config.Family == "deeplabv3-resnet18" ? ResNetImageNet.Preprocessing : Preprocessing.ImageNet;
            model = new SegmentationModel($"{config.Family}-{k}", net, pre, k);
        }
        if (config.Weights is { } path)
            model.Network.LoadStateDict(SafeTensors.Load(path).ToStateDict(), strict: true, source: path);
        model.Network.Train();
        return model;
    }

    /// <summary>The four encoder stages (shallow to deep) for Contextrast heads: explicit names, or the family's.</summary>
    /// <param name="model">The model.</param>
    /// <param name="explicitStages">contextrast.stages, or null.</param>
    public static string[] ContextrastStages(SegmentationModel model, string[]? explicitStages)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (explicitStages is not null) return explicitStages;
        IReadOnlyList<string> names = model.Network switch
        {
            UNet u => u.StageNames,
            DeepLabV3 => DeepLabV3.StageNames,
            CGNet => CGNet.StageNames,
            ESPNet => ESPNet.StageNames,
            ESPNetv2 => ESPNetv2.StageNames,
            _ => throw new ArgumentException($"contextrast.stages: give the stage names for {model.Network.GetType().Name}."),
        };
        return names.Skip(Math.Max(0, names.Count - 4)).ToArray();
    }
}
