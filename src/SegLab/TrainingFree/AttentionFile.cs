// Attention source (c) of iSeg (issue 20): attention tensors exported by another tool (for example Stable Diffusion's,
// as the paper takes them) in one safetensors file per image. Layout (docs/iseg.md):
//   self_attention  float32 [N, N] (rows are queries, each row a softmax over keys) or [heads, N, N]
//   cross_attention float32 [N, C] (A0: one column per class)
//   grid            int64 [2] = (h, w), h * w = N, tokens row-major
// optional: image float32 [3, H, W] in [0, 1]; labels int64 [H, W] (255 = not scored); metadata "classes" (comma-separated
// names) and "background" (the class id meaning background). A folder of such files is a source of many items.
using SegLab.Engine;
using SegLab.Engine.Serialization;

namespace SegLab.TrainingFree;

/// <summary>Reads and checks exported attention files.</summary>
public static class AttentionFile
{
    /// <summary>Names of the required tensors.</summary>
    public const string SelfAttention = "self_attention", CrossAttention = "cross_attention", Grid = "grid";

    /// <summary>Names of the optional tensors.</summary>
    public const string ImageTensor = "image", LabelsTensor = "labels";

    /// <summary>Label value of unscored pixels in <c>labels</c>.</summary>
    public const int IgnoreIndex = 255;

    /// <summary>
    /// Loads one file; S is averaged over <paramref name="heads"/> (0-based; null: all) when it has a head axis.
    /// Throws an ArgumentException (one line naming the file, the tensor and its shape) for a missing or bad tensor.
    /// </summary>
    public static AttentionItem Load(string path, IReadOnlyList<int>? heads = null)
    {
        var file = SafeTensors.Load(path);
        string name = Path.GetFileName(path);
        var s = AttentionInput.MeanHeads(Float(file, path, SelfAttention), heads, $"{SelfAttention}' of '{name}");
        var a0 = Float(file, path, CrossAttention);
        var grid = Required(file, path, Grid);
        if (!grid.DType.IsInteger() || grid.Rank != 1 || grid.Shape[0] != 2)
            throw new ArgumentException($"{name}: tensor '{Grid}' is {grid.DType.HeaderName()} {Shapes.Format(grid.Shape)}; expected int64 [2] = (h, w).");
        var hw = grid.ToInt64();
        if (hw[0] < 1 || hw[1] < 1 || hw[0] > 1 << 16 || hw[1] > 1 << 16)
            throw new ArgumentException($"{name}: tensor '{Grid}' is ({hw[0]}, {hw[1]}); both must be positive.");
        int gh = (int)hw[0], gw = (int)hw[1];
        AttentionInput.Check(s, a0, gh, gw, name);
        int height = gh, width = gw;
        float[]? image = null;
        int[]? labels = null;
        if (file.TryGet(ImageTensor, out var img))
        {
            if (img.Rank != 3 || img.Shape[0] != 3) throw new ArgumentException($"{name}: tensor '{ImageTensor}' is {Shapes.Format(img.Shape)}; expected float32 [3, H, W] in [0, 1].");
            height = img.Shape[1];
            width = img.Shape[2];
            image = img.ToTensor().ToArray();
        }
        if (file.TryGet(LabelsTensor, out var lab))
        {
            if (!lab.DType.IsInteger() || lab.Rank != 2) throw new ArgumentException($"{name}: tensor '{LabelsTensor}' is {lab.DType.HeaderName()} {Shapes.Format(lab.Shape)}; expected int64 [H, W].");
            if (image is not null && (lab.Shape[0] != height || lab.Shape[1] != width))
                throw new ArgumentException($"{name}: tensor '{LabelsTensor}' is {Shapes.Format(lab.Shape)} but '{ImageTensor}' is {height}x{width}.");
            height = lab.Shape[0];
            width = lab.Shape[1];
            int c = a0.Size(1);
            labels = Array.ConvertAll(lab.ToInt64(), v => v == IgnoreIndex ? IgnoreIndex : v >= 0 && v < c ? (int)v
                : throw new ArgumentException($"{name}: tensor '{LabelsTensor}' holds {v}; expected a class 0..{c - 1} or {IgnoreIndex} (not scored)."));
        }
        return new AttentionItem(Path.GetFileNameWithoutExtension(path), s, a0, gh, gw) { Height = height, Width = width, Image = image, Label = labels };
    }

    /// <summary>Class names from the file's "classes" metadata, else class0, class1, ...</summary>
    public static string[] ClassNames(string path, int classes)
    {
        var file = SafeTensors.Load(path);
        if (file.Metadata.TryGetValue("classes", out var text))
        {
            var names = text.Split(',', StringSplitOptions.TrimEntries);
            if (names.Length == classes) return names;
            throw new ArgumentException($"{Path.GetFileName(path)}: metadata 'classes' names {names.Length} classes but 'cross_attention' has {classes} columns.");
        }
        return [.. Enumerable.Range(0, classes).Select(i => $"class{i}")];
    }

    private static SafeTensorEntry Required(SafeTensorFile file, string path, string tensor)
    {
        if (file.TryGet(tensor, out var e)) return e;
        var present = string.Join(", ", file.Entries.Select(x => $"{x.Name} {Shapes.Format(x.Shape)}"));
        throw new ArgumentException($"{Path.GetFileName(path)}: tensor '{tensor}' is missing (the file holds: {(present.Length > 0 ? present : "nothing")}).");
    }

    private static Tensor Float(SafeTensorFile file, string path, string tensor)
    {
        var e = Required(file, path, tensor);
        if (e.DType != SafeTensorDType.F32)
            throw new ArgumentException($"{Path.GetFileName(path)}: tensor '{tensor}' is {e.DType.HeaderName()} {Shapes.Format(e.Shape)}; expected float32.");
        return e.ToTensor();
    }
}

/// <summary>Exported attention files: one file, or every *.safetensors file of a folder (sorted by name).</summary>
public sealed class FileAttentionSource : IAttentionSource
{
    private readonly string[] _files;
    private readonly IReadOnlyList<int>? _heads;

    /// <summary>Opens <paramref name="path"/> (a file or a folder); the first file gives the class names.</summary>
    /// <param name="path">A .safetensors file or a folder of them.</param>
    /// <param name="heads">Heads to average (0-based; null: all).</param>
    public FileAttentionSource(string path, IReadOnlyList<int>? heads = null)
    {
        if (Directory.Exists(path)) _files = [.. Directory.GetFiles(path, "*.safetensors").Order(StringComparer.Ordinal)];
        else if (File.Exists(path)) _files = [path];
        else throw new FileNotFoundException($"attention file or folder '{path}' does not exist.", path);
        if (_files.Length == 0) throw new FileNotFoundException($"attention folder '{path}' holds no .safetensors file.", path);
        _heads = heads;
        var first = SafeTensors.Load(_files[0]);
        if (!first.TryGet(AttentionFile.CrossAttention, out var a0) || a0.Rank != 2)
            throw new ArgumentException($"{Path.GetFileName(_files[0])}: tensor '{AttentionFile.CrossAttention}' is {(a0 is null ? "missing" : Shapes.Format(a0.Shape))}; expected float32 [N, C].");
        ClassNames = AttentionFile.ClassNames(_files[0], a0.Shape[1]);
        if (first.Metadata.TryGetValue("background", out var bg))
            BackgroundClass = int.TryParse(bg, out int b) && b >= 0 && b < ClassNames.Count ? b
                : throw new ArgumentException($"{Path.GetFileName(_files[0])}: metadata 'background' is '{bg}'; expected a class id 0..{ClassNames.Count - 1}.");
        PaletteRgb = Palette(ClassNames.Count);
        Description = _files.Length == 1 ? $"attention file {path}" : $"{_files.Length} attention files in {path}";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public int Count => _files.Length;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc/>
    public int? BackgroundClass { get; }

    /// <inheritdoc/>
    public int IgnoreIndex => AttentionFile.IgnoreIndex;

    /// <inheritdoc/>
    public byte[] PaletteRgb { get; }

    /// <inheritdoc/>
    public bool TakesGamma => false;

    /// <inheritdoc/>
    public string Id(int index) => Path.GetFileNameWithoutExtension(_files[index]);

    /// <inheritdoc/>
    public AttentionItem Load(int index, double? gamma = null)
    {
        if (gamma is not null) throw new ArgumentException("gamma (Cat-Cross) applies to a source with class tokens, not to exported attention files.");
        var item = AttentionFile.Load(_files[index], _heads);
        if (item.CrossAttention.Size(1) != ClassNames.Count)
            throw new ArgumentException($"{Path.GetFileName(_files[index])}: tensor 'cross_attention' is {Shapes.Format(item.CrossAttention.Shape)} but {Path.GetFileName(_files[0])} has {ClassNames.Count} classes.");
        return item;
    }

    /// <summary>A fixed, distinguishable palette of <paramref name="classes"/> colours (golden-angle hues).</summary>
    public static byte[] Palette(int classes)
    {
        var p = new byte[3 * classes];
        for (int c = 0; c < classes; c++)
        {
            double h = (c * 137.508) % 360 / 60, x = 1 - Math.Abs(h % 2 - 1);
            var (r, g, b) = (int)h switch { 0 => (1.0, x, 0.0), 1 => (x, 1.0, 0.0), 2 => (0.0, 1.0, x), 3 => (0.0, x, 1.0), 4 => (x, 0.0, 1.0), _ => (1.0, 0.0, x) };
            p[3 * c] = (byte)(40 + 200 * r); p[3 * c + 1] = (byte)(40 + 200 * g); p[3 * c + 2] = (byte)(40 + 200 * b);
        }
        return p;
    }
}
