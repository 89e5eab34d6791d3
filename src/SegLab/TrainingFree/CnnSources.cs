// The named parts of iSeg's CNN source (issue 20): which feature map makes S and which maps make A0, by the names the
// CLI takes. Features: resnet18-imagenet[:layerN] (the model table's ImageNet ResNet18 at output stride 16, a stage
// output, default layer4) or classifier:RUN (the encoder of a `seglab weak train-classifier` run). A0: cams:DIR (the
// CAMs stored by `seglab weak cam`), classifier:RUN (CAMs computed at scale 1 with flip), model:NAME (a segmentation
// model's softmax probabilities, the model table's or a run folder's).
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Serialization;
using SegLab.Models;
using SegLab.Weak;

namespace SegLab.TrainingFree;

/// <summary>Named feature maps and initial maps for <see cref="CnnAttentionSource"/>.</summary>
public static class CnnSources
{
    /// <summary>The default feature map.</summary>
    public const string DefaultFeatures = "resnet18-imagenet:layer4";

    /// <summary>The feature extractor named by <paramref name="spec"/>.</summary>
    public static FeatureMaps Features(string spec)
    {
        var (kind, arg) = Split(spec);
        if (kind == "resnet18-imagenet")
        {
            string layer = arg ?? "layer4";
            int stage = ResNet.StageNames.ToList().IndexOf(layer);
            if (stage < 0) throw new ArgumentException($"features '{spec}': layer '{layer}' is not one of {string.Join(", ", ResNet.StageNames)}.");
            var net = ResNetImageNet.Load(16);
            return new FeatureMaps($"resnet18-imagenet {layer} (ImageNet weights, output stride 16, stride {net.StageStrides[stage]})",
                rgb => net.Features(ResNetImageNet.Preprocessing.Apply(rgb))[stage]);
        }
        if (kind == "classifier" && arg is not null)
        {
            var model = TagTrainer.Load(arg);
            return new FeatureMaps($"the encoder of tag classifier {arg} ({model.EncoderName})", rgb => model.Features(rgb));
        }
        throw new ArgumentException($"features '{spec}': expected resnet18-imagenet[:layer1..layer4] or classifier:RUN.");
    }

    /// <summary>The initial maps named by <paramref name="spec"/> for a dataset of <paramref name="classes"/>.</summary>
    public static InitialMaps Initial(string spec, ClassTable classes)
    {
        var (kind, arg) = Split(spec);
        if (arg is null) throw new ArgumentException($"A0 '{spec}': expected cams:DIR, classifier:RUN or model:NAME.");
        switch (kind)
        {
            case "cams":
                if (!Directory.Exists(arg)) throw new DirectoryNotFoundException($"A0 '{spec}': CAM folder '{arg}' does not exist.");
                return new InitialMaps($"CAMs stored in {arg}", (s, _) => StoredCam(Path.Combine(arg, s.Id + ".safetensors"), classes.Count));
            case "classifier":
            {
                var model = TagTrainer.Load(arg);
                var names = TagTrainer.Classes(arg);
                if (!names.SequenceEqual(classes.Names))
                    throw new ArgumentException($"A0 '{spec}': the classifier's classes [{string.Join(", ", names)}] are not the dataset's [{string.Join(", ", classes.Names)}].");
                var cam = new CamOptions { Scales = [1.0], Flip = true };
                return new InitialMaps($"CAMs of tag classifier {arg} (scale 1, flip; the ground truth's classes as tags)", (s, present) =>
                {
                    var m = Cams.Compute(model, s.ImageTensor(), [present], cam);
                    return Tensor.FromArray(m.ToArray(), m.Size(1), m.Size(2), m.Size(3));
                });
            }
            case "model":
            {
                var model = Training.TrainedModel.Resolve(arg);
                if (model.NumClasses != classes.Count)
                    throw new ArgumentException($"A0 '{spec}': {model.Name} predicts {model.NumClasses} classes, the dataset has {classes.Count}.");
                return new InitialMaps($"softmax probabilities of {model.Name}, area-averaged to the feature grid", (s, _) =>
                    CnnAttentionSource.Softmax(model.Forward(s.ImageTensor()), classes.Count));
            }
            default:
                throw new ArgumentException($"A0 '{spec}': expected cams:DIR, classifier:RUN or model:NAME.");
        }
    }

    /// <summary>A CAM stored by `seglab weak cam` (tensor "cam" [C, h, w]), checked against the class count.</summary>
    public static Tensor StoredCam(string path, int classes)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CAM file '{path}' does not exist (run seglab weak cam over the same images first).", path);
        var file = SafeTensors.Load(path);
        if (!file.TryGet("cam", out var e)) throw new InvalidDataException($"CAM file '{path}' has no tensor 'cam'.");
        if (e.Rank != 3 || e.Shape[0] != classes) throw new InvalidDataException($"CAM file '{path}': tensor 'cam' is {Shapes.Format(e.Shape)}; expected [{classes}, h, w].");
        return e.ToTensor();
    }

    private static (string Kind, string? Arg) Split(string spec)
    {
        int i = spec.IndexOf(':', StringComparison.Ordinal);
        return i < 0 ? (spec.Trim().ToLowerInvariant(), null) : (spec[..i].Trim().ToLowerInvariant(), spec[(i + 1)..]);
    }
}
