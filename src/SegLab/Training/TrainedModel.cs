// A model trained by `seglab train`, loaded from its run folder (config.yaml + model.safetensors, or best.safetensors
// while the run has not finished), so that eval, predict, attack and bench take a run folder wherever they take a
// model-table name: `seglab eval --model runs/unet ...`.
using SegLab.Data;
using SegLab.Engine.Serialization;
using SegLab.Models;
using SegLab.Onnx;

namespace SegLab.Training;

/// <summary>Loads trained models from run folders, and resolves a --model argument (table name or run folder).</summary>
public static class TrainedModel
{
    /// <summary>Whether <paramref name="path"/> is a training run folder (it holds config.yaml).</summary>
    /// <param name="path">A --model argument.</param>
    public static bool IsRunFolder(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, "config.yaml"));

    /// <summary>A model-table entry by name, the model of a training run folder, or an .onnx file with its card; in eval mode.</summary>
    /// <param name="nameOrRun">Model name (cgnet-camvid), run folder or FILE.onnx (card FILE.onnx.json beside it).</param>
    /// <param name="weightsPath">Weights instead of the default ones (the pretrained file; the run's final or best weights).</param>
    public static SegmentationModel Resolve(string nameOrRun, string? weightsPath = null)
    {
        ArgumentNullException.ThrowIfNull(nameOrRun);
        if (OnnxModelCard.IsOnnx(nameOrRun)) return OnnxModelCard.LoadModel(nameOrRun, weightsPath);
        return IsRunFolder(nameOrRun) ? Load(nameOrRun, weightsPath) : ModelTable.Load(nameOrRun, weightsPath);
    }

    /// <summary>The class table a --model argument's outputs are scored against.</summary>
    /// <param name="nameOrRun">Model name or run folder.</param>
    public static ClassTable Classes(string nameOrRun)
    {
        ArgumentNullException.ThrowIfNull(nameOrRun);
        if (OnnxModelCard.IsOnnx(nameOrRun)) return OnnxModelCard.Load(nameOrRun).Classes;
        if (!IsRunFolder(nameOrRun)) return ModelTable.Classes(nameOrRun);
        var cfg = ReadConfig(nameOrRun);
        return cfg.Model.Init is { } init ? Classes(init) : TrainClasses(nameOrRun, cfg);
    }

    /// <summary>The network of a run folder with its final weights (else its best), in eval mode.</summary>
    /// <param name="runDir">Run folder of `seglab train`.</param>
    /// <param name="weightsPath">Another weights file of the same network, or null.</param>
    public static SegmentationModel Load(string runDir, string? weightsPath = null)
    {
        ArgumentNullException.ThrowIfNull(runDir);
        var cfg = ReadConfig(runDir);
        string path = weightsPath ?? new[] { Checkpoint.FinalWeights, Checkpoint.BestWeights }.Select(f => Path.Combine(runDir, f)).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"Training run '{runDir}' has neither {Checkpoint.FinalWeights} nor {Checkpoint.BestWeights} yet (the run has not validated or finished); pass --weights with one of its step-*.safetensors.");
        int classes = cfg.Model.Classes > 0 || cfg.Model.Init is not null ? cfg.Model.Classes : TrainClasses(runDir, cfg).Count;
        var model = ModelFactory.Create(cfg.Model with { Weights = null }, classes, cfg.Seed);
        model.Network.LoadStateDict(SafeTensors.Load(path).ToStateDict(), strict: true, source: path);
        model.Network.Eval();
        return model;
    }

    // Errors in the file name it and the key (ConfigLoader).
    private static TrainConfig ReadConfig(string runDir) => ConfigLoader.Load(Path.Combine(runDir, "config.yaml"));

    // The class table of the run's training split (the class count the network was built with).
    private static ClassTable TrainClasses(string runDir, TrainConfig cfg)
    {
        try
        {
            return Datasets.Open(cfg.Data.Dir, cfg.Data.TrainSplit, cfg.Data.Layout, cfg.Data.ClassesJson).Classes;
        }
        catch (Exception e) when (e is DatasetException or IOException)
        {
            throw new ArgumentException($"Training run '{runDir}': its class count comes from data.dir '{cfg.Data.Dir}' (split {cfg.Data.TrainSplit}), which cannot be opened ({e.Message}); set model.classes in {Path.Combine(runDir, "config.yaml")}.", e);
        }
    }
}
