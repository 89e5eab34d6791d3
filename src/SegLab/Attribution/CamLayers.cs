// CAM layers by module path, as in the model's parameter names (the prefix of `bn_prelu_3.*` for CGNet), with one
// default per model family: the last feature map before the classifier, where Grad-CAM is usually taken. An
// unknown path is an error that lists the paths this model has (to two levels, with deeper ones allowed).
using SegLab.Engine.Nn;
using SegLab.Models;
using SegLab.Onnx;

namespace SegLab.Attribution;

/// <summary>Names, defaults and capture of CAM layers.</summary>
public static class CamLayers
{
    /// <summary>The default CAM layer of <paramref name="model"/>, or null where it has none (imported graphs, user models).</summary>
    /// <param name="model">The model.</param>
    public static string? Default(SegmentationModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Network switch
        {
            CGNet => "bn_prelu_3",            // 256 channels at 1/8: the classifier's input
            ESPNet => "encoder.b3",           // 256 channels at 1/8: the encoder's output
            ESPNetv2 => "base_net.level4.6",  // the last encoder block, 1/16
            SegLab.Weak.TagClassifier => "encoder", // the feature map F that the classifier pools (its CAM layer)
            _ => null,
        };
    }

    /// <summary>The layer named by <paramref name="layer"/>, else the default, else an error asking for one.</summary>
    /// <param name="model">The model.</param>
    /// <param name="layer">A module path or null.</param>
    public static string Resolve(SegmentationModel model, string? layer)
    {
        ArgumentNullException.ThrowIfNull(model);
        string name = layer ?? Default(model)
            ?? throw new ArgumentException($"Model {model.Name} has no default CAM layer; name one with --layer ({Listing(model)}).");
        Check(model, name);
        return name;
    }

    /// <summary>Module paths a CAM method can take, to <paramref name="depth"/> levels (deeper ones are valid too).</summary>
    /// <param name="model">The model.</param>
    /// <param name="depth">Levels of the dotted path to list.</param>
    public static IReadOnlyList<string> Names(SegmentationModel model, int depth = 2)
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. model.Network.NamedModules().Select(m => m.Key).Where(k => k.Length > 0 && k.Count(ch => ch == '.') < depth)];
    }

    /// <summary>Checks that <paramref name="layer"/> is a module of the model, else lists the valid ones.</summary>
    /// <param name="model">The model.</param>
    /// <param name="layer">A module path.</param>
    public static void Check(SegmentationModel model, string layer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Length == 0 || !model.Network.NamedModules().Any(m => m.Key == layer))
            throw new ArgumentException($"Unknown layer '{layer}' of model {model.Name}. Valid layers: {Listing(model)}.");
    }

    /// <summary>Starts capturing the output of <paramref name="layer"/> (checked) for one forward pass.</summary>
    internal static FeatureCapture Start(SegmentationModel model, string layer)
    {
        Check(model, layer);
        return FeatureCapture.Start(model.Network, layer);
    }

    private static string Listing(SegmentationModel model)
    {
        var names = Names(model);
        string deeper = model.Network.NamedModules().Any(m => m.Key.Count(ch => ch == '.') >= 2) ? " (and the modules inside them, by their dotted path)" : "";
        string onnx = model.Network is OnnxGraph ? "; in an imported graph a layer is a module that holds parameters, and its output is the last feature map its nodes compute" : "";
        return string.Join(", ", names) + deeper + onnx;
    }
}
