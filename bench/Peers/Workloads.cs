// The rows of the side-by-side table: which model, which workload, at which batch and size, on which engines; and the
// inputs every engine gets (made here, from seeds, so each child process builds the same tensors).
using SegLab.Engine;
using SegLab.Models;
using SegLab.Training;

namespace SegLab.Peers;

/// <summary>
/// One row: a model and workload at a batch and size, measured on each of its engines; the check's limit on the input
/// gradient's difference (of its largest magnitude) is <see cref="Harness.GradTolerance"/> unless the row says why not.
/// </summary>
internal sealed record Row(string Model, string Workload, int Batch, int Height, int Width, string[] Engines, double GradTolerance = Harness.GradTolerance)
{
    public string Key => $"{Model}/{Workload}";
    public string Size => $"{Height}x{Width}";
}

internal static class Workloads
{
    public const string Forward = "forward";
    public const string InputGrad = "input-grad";
    public const string TrainStep = "train-step";

    public const string SegLab = "seglab";
    public const string SegLabOnnx = "seglab-onnx";
    public const string OnnxRuntime = "onnxruntime";
    public const string LibTorch = "libtorch";

    public const int Classes = 11;

    /// <summary>Every row, in the order they run in a round.</summary>
    public static IReadOnlyList<Row> All { get; } =
    [
        new("cgnet", Forward, 1, 360, 480, [SegLab, SegLabOnnx, OnnxRuntime, LibTorch]),
        new("cgnet", InputGrad, 1, 360, 480, [SegLab, LibTorch]),
        new("espnet", Forward, 1, 360, 480, [SegLab, SegLabOnnx, OnnxRuntime, LibTorch]),
        new("espnet", InputGrad, 1, 360, 480, [SegLab, LibTorch]),
        new("espnetv2-s0.5", Forward, 1, 256, 256, [SegLab, SegLabOnnx, OnnxRuntime, LibTorch]),
        new("espnetv2-s0.5", InputGrad, 1, 256, 256, [SegLab, LibTorch]),
        // The CNTK ResNet18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 (the encoder of deeplabv3-resnet18): SegLab's
        // import against ONNX Runtime on the package's own file; there is no PyTorch twin of that graph in tools/.
        new("resnet18-onnx", Forward, 1, 224, 224, [SegLabOnnx, OnnxRuntime]),
        new("cgnet", TrainStep, 2, 360, 480, [SegLab, LibTorch]),
        new("unet", TrainStep, 8, 128, 128, [SegLab, LibTorch]),
        new("deeplabv3", TrainStep, 8, 128, 128, [SegLab, LibTorch]),
        // deeplabv3-resnet18 (output stride 16, ASPP 64) with the ImageNet encoder and SegLab's fresh ASPP and head
        // (seed 1), against the twin of tools/deeplabv3_resnet18.py: 256x256 for forward and input gradient (divisible
        // by the output stride; about 11 GFLOPs a forward, 2.6x less than 360x480 would cost), and the training step
        // at the batch and size of the deeplabv3 row above (the model's configs train on 8 crops of 128x160).
        new(DeepLabV3ResNet18, Forward, 1, 256, 256, [SegLab, SegLabOnnx, OnnxRuntime, LibTorch]),
        // Input-gradient limit 5e-2: on this row's input one layer1 ReLU input is 3.0e-7 in float64 and SegLab's
        // float32, -8.9e-8 in PyTorch's float32 (1.13 and libtorch 2.10 alike), so PyTorch drops that unit's gradient
        // and its input gradient near the top border is 2.1e-2 of the largest magnitude off float64's, SegLab's 4e-7
        // (docs/benchmarks.md, issue 22's peers; logits agree to 6e-7, correlation of the gradients 0.999997).
        new(DeepLabV3ResNet18, InputGrad, 1, 256, 256, [SegLab, LibTorch], GradTolerance: 5e-2),
        new(DeepLabV3ResNet18, TrainStep, 8, 128, 128, [SegLab, LibTorch]),
    ];

    public const string DeepLabV3ResNet18 = "deeplabv3-resnet18";

    /// <summary>The models whose weights <c>Peers weights</c> writes for tools/export_peers.py (SegLab's fresh weights of seed 1).</summary>
    public static IReadOnlyList<string> SegLabWeightModels { get; } = ["unet", "deeplabv3", DeepLabV3ResNet18];

    public static Row Find(string model, string workload) =>
        All.FirstOrDefault(r => r.Model == model && r.Workload == workload)
        ?? throw new ArgumentException($"peers: no row {model}/{workload}; rows: {string.Join(", ", All.Select(r => r.Key))}.");

    /// <summary>SegLab's model name in its model table, for the pretrained models; null for the fresh UNet and DeepLabV3.</summary>
    public static string? TableName(string model) => model switch
    {
        "cgnet" => "cgnet-camvid",
        "espnet" => "espnet-camvid",
        "espnetv2-s0.5" => "espnetv2-s0.5-voc",
        _ => null,
    };

    /// <summary>
    /// SegLab's network for the model: the pretrained ports with their shared weights, the UNet (16-32-64-128) and
    /// DeepLabV3 (base width 16, ASPP 64) of <c>seglab bench train</c> with seed 1, as TrainStepBench builds them, or
    /// deeplabv3-resnet18 as <c>seglab train</c> builds it from configs/camvid-deeplabv3-resnet18-pretrained.yaml
    /// (output stride 16, ASPP 64, the ImageNet encoder of the restored NuGet package; ASPP and head of seed 1).
    /// </summary>
    /// <param name="model">The row's model.</param>
    /// <param name="modelsDir">
    /// The peers' models folder: deeplabv3-resnet18 then loads the weights that <c>Peers weights</c> wrote there
    /// (seglab-weights/, the same tensors) from safetensors, as <c>seglab eval</c> loads a trained checkpoint, so that
    /// the child's peak memory is not that of reading ResNet18.onnx for the ImageNet encoder; null builds it from the package.
    /// </param>
    public static SegmentationModel SegLabModel(string model, string? modelsDir = null)
    {
        if (TableName(model) is { } name) return ModelTable.Load(name);
        string? saved = modelsDir is null ? null : Path.Combine(modelsDir, "seglab-weights", DeepLabV3ResNet18 + ".safetensors");
        var mc = model switch
        {
            "unet" => new ModelConfig { Family = "unet", Widths = [16, 32, 64, 128] },
            "deeplabv3" => new ModelConfig { Family = "deeplabv3", BaseWidth = 16 },
            DeepLabV3ResNet18 when File.Exists(saved) => new ModelConfig { Family = DeepLabV3ResNet18, OutputStride = 16, AsppChannels = 64, Weights = saved },
            DeepLabV3ResNet18 => new ModelConfig { Family = DeepLabV3ResNet18, Pretrained = "imagenet", OutputStride = 16, AsppChannels = 64 },
            _ => throw new ArgumentException($"peers: unknown model '{model}'."),
        };
        return ModelFactory.Create(mc, Classes, seed: 1);
    }

    /// <summary>
    /// The network input of the row (already preprocessed for the pretrained models: a seeded random RGB image in
    /// [0, 1) through the model's preprocessing) and the labels (the striped pattern of seglab bench train).
    /// </summary>
    public static (float[] Input, int[] Shape, int[] Labels) Inputs(Row row)
    {
        int[] shape = [row.Batch, 3, row.Height, row.Width];
        Tensor x;
        if (TableName(row.Model) is { } name)
        {
            var spec = ModelTable.Get(name);
            x = spec.Preprocessing.Apply(Tensor.Uniform(shape, 0, 1, 1));
        }
        else if (row.Model == DeepLabV3ResNet18) x = ResNetImageNet.Preprocessing.Apply(Tensor.Uniform(shape, 0, 1, 1)); // BGR, 0..255 minus the mean
        else x = Tensor.Uniform(new Rng(3), shape);
        var labels = new int[row.Batch * row.Height * row.Width];
        for (int i = 0; i < labels.Length; i++) labels[i] = (i / row.Width / 16 + i % row.Width / 16) % Classes;
        return (x.ToArray(), shape, labels);
    }

    /// <summary>The ONNX file of a model: the package's ResNet18.onnx, or the export of tools/export_peers.py.</summary>
    public static string OnnxPath(string model, string modelsDir) => model == "resnet18-onnx"
        ? NuGetPackages.ResNet18Onnx ?? throw new FileNotFoundException("peers: ResNet18.onnx of Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 is not in the NuGet cache (restore SegLab.Tests once).")
        : Path.Combine(modelsDir, model + ".onnx");

    /// <summary>Peak resident memory of this process (VmHWM of /proc/self/status), in MB.</summary>
    public static double PeakMemoryMB() => Status("VmHWM:");

    /// <summary>Resident memory of this process now (VmRSS), in MB.</summary>
    public static double ResidentMemoryMB() => Status("VmRSS:");

    private static double Status(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        throw new InvalidOperationException($"peers: /proc/self/status has no {key} line.");
    }
}
