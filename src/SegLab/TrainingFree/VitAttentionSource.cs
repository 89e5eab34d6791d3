// Attention source (a) of iSeg (issue 20, PAPERS.md F): a class-token ViT that SegLab trained on image-level tags
// (`seglab weak train-vit`). The items are the dataset's crops at the ViT's input size (a non-overlapping grid, as the
// ViT was trained on), S is its patch-to-patch attention and A0 its class-to-patch attention (ClassTokenVit.Attention:
// heads and the last blocks averaged), with Cat-Cross gamma on the class tokens. The image-level labels of a crop are
// the classes of its ground truth, as for the CNN source and the official WSSS code.
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Weak;

namespace SegLab.TrainingFree;

/// <summary>iSeg items from a trained <see cref="ClassTokenVit"/> over a dataset's crops.</summary>
public sealed class VitAttentionSource : IAttentionSource
{
    private readonly ClassTokenVit _model;
    private readonly ISegmentationDataset _data;
    private readonly List<TaggedCrop> _crops;
    private readonly CropImages _images;
    private readonly int _lastLayers;

    /// <summary>The default Cat-Cross factor (the paper's 1.6), used where no gamma is given.</summary>
    public const double DefaultGamma = 1.6;

    /// <param name="model">The trained ViT (eval mode).</param>
    /// <param name="modelClasses">The classes it was trained on; must equal the dataset's.</param>
    /// <param name="data">Images with ground truth.</param>
    /// <param name="lastLayers">Blocks whose attention is averaged (from the last).</param>
    /// <param name="runDir">The run folder, for messages and the description.</param>
    public VitAttentionSource(ClassTokenVit model, string[] modelClasses, ISegmentationDataset data, int lastLayers, string runDir)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (!modelClasses.SequenceEqual(data.Classes.Names))
            throw new ArgumentException($"--vit {runDir}: the ViT was trained on classes [{string.Join(", ", modelClasses)}] but {data.Root} has [{string.Join(", ", data.Classes.Names)}].");
        if (lastLayers < 1 || lastLayers > model.Options.Depth)
            throw new ArgumentException($"--vit-layers must be between 1 and the ViT's depth {model.Options.Depth}, got {lastLayers}.");
        _model = model;
        _data = data;
        _lastLayers = lastLayers;
        var o = model.Options;
        _crops = ImageTags.Of(data, new TagOptions(o.Height, o.Width, o.Height, o.Width, 1));
        if (_crops.Count == 0) throw new ArgumentException($"--source vit: no {o.Height}x{o.Width} crop fits the images of {data.Root} ({data.Split}).");
        _images = new CropImages(data);
        Description = $"{data.Name} {data.Split} ({data.Count} images, {_crops.Count} crops of {o.Height}x{o.Width}); class-token ViT {runDir} "
            + $"(dim {o.Dim}, depth {o.Depth}, heads {o.Heads}, patch {o.Patch}); S and A0: attention averaged over heads and the last {lastLayers} block(s)";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public int Count => _crops.Count;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames => _data.Classes.Names;

    /// <inheritdoc/>
    public int? BackgroundClass { get; } = null;

    /// <inheritdoc/>
    public int IgnoreIndex => _data.Classes.IgnoreIndex;

    /// <inheritdoc/>
    public byte[] PaletteRgb => _data.Classes.PaletteRgb();

    /// <inheritdoc/>
    public bool TakesGamma => true;

    /// <inheritdoc/>
    public string Id(int index) => $"{_crops[index].ImageId}_y{_crops[index].Y}_x{_crops[index].X}";

    /// <inheritdoc/>
    public AttentionItem Load(int index, double? gamma = null)
    {
        var crop = _crops[index];
        var x = _images.Batch([crop], _ => false);
        VitAttention att;
        using (GradMode.NoGrad()) att = _model.Attention(x, gamma ?? DefaultGamma, _lastLayers);
        var s = _data.Load(crop.Index);
        int[]? gt = null;
        if (s.Label is { } label)
        {
            gt = new int[crop.Height * crop.Width];
            for (int y = 0; y < crop.Height; y++) Array.Copy(label, (crop.Y + y) * s.Width + crop.X, gt, y * crop.Width, crop.Width);
        }
        return new AttentionItem(Id(index), att.SelfAttention, att.CrossAttention, att.GridH, att.GridW)
        {
            Height = crop.Height, Width = crop.Width, Image = x.ToArray(), Label = gt, Present = crop.Tags,
        };
    }
}
