// Attention source (b) of iSeg (issue 20, PAPERS.md F): a dataset's images through a CNN. S is the cosine affinity of
// a feature map's positions, max(0, cos)^power (FeatureAffinity.Cosine); A0 is a class map on the same grid: CAMs
// (stored by `seglab weak cam`, or computed from a tag classifier), or a segmentation model's own softmax
// probabilities, area-averaged down to the feature grid (the "coarse low-resolution maps" of the VOC check).
// The image-level labels (Present) are the classes of the ground truth, as the official WSSS code takes them.
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Autograd;

namespace SegLab.TrainingFree;

/// <summary>Maps [C, H, W] at the image size (or any size) that a CNN source turns into A0.</summary>
/// <param name="Describe">One line for reports.</param>
/// <param name="Maps">Class maps of a sample (its image and present classes given): [C, h, w] at any resolution.</param>
public sealed record InitialMaps(string Describe, Func<SegmentationSample, int[], Tensor> Maps);

/// <summary>Feature maps [1, K, h, w] of an RGB image [1, 3, H, W] in [0, 1].</summary>
/// <param name="Describe">One line for reports.</param>
/// <param name="Features">The feature extractor.</param>
public sealed record FeatureMaps(string Describe, Func<Tensor, Tensor> Features);

/// <summary>Items from a dataset: feature affinities as S, class maps as A0.</summary>
/// <param name="data">Images with labels.</param>
/// <param name="features">The CNN features for S.</param>
/// <param name="initial">The maps for A0.</param>
/// <param name="affinityPower">Exponent of the clamped cosine (1: none).</param>
/// <param name="temperature">When set, S is a softmax over keys of cos / temperature instead (the power is then unused).</param>
public sealed class CnnAttentionSource(ISegmentationDataset data, FeatureMaps features, InitialMaps initial, double affinityPower = 1, double? temperature = null) : IAttentionSource
{
    /// <inheritdoc/>
    public string Description { get; } = $"{data.Name} {data.Split} ({data.Count} images); S: {features.Describe}, "
        + (temperature is { } t ? $"softmax over keys of cos / {t.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : $"max(0, cos)^{affinityPower.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
        + $"; A0: {initial.Describe}";

    /// <inheritdoc/>
    public int Count => data.Count;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames => data.Classes.Names;

    /// <inheritdoc/>
    public int? BackgroundClass { get; } = Array.FindIndex(data.Classes.Names, n => n.Equals("background", StringComparison.OrdinalIgnoreCase)) is int b && b >= 0 ? b : null;

    /// <inheritdoc/>
    public int IgnoreIndex => data.Classes.IgnoreIndex;

    /// <inheritdoc/>
    public byte[] PaletteRgb => data.Classes.PaletteRgb();

    /// <inheritdoc/>
    public bool TakesGamma => false;

    /// <inheritdoc/>
    public string Id(int index) => data.Id(index);

    /// <inheritdoc/>
    public AttentionItem Load(int index, double? gamma = null)
    {
        if (gamma is not null) throw new ArgumentException("gamma (Cat-Cross) applies to a source with class tokens, not to CNN affinities.");
        var s = data.Load(index);
        var present = Present(s.Label, data.Classes.Count, data.Classes.IgnoreIndex);
        Tensor f;
        using (GradMode.NoGrad()) f = features.Features(s.ImageTensor());
        if (f.Rank != 4 || f.Size(0) != 1) throw new InvalidOperationException($"features of {s.Id}: expected [1, K, h, w], got {Shapes.Format(f.Shape)}.");
        int gh = f.Size(2), gw = f.Size(3);
        var affinity = temperature is { } tau ? FeatureAffinity.CosineSoftmax(f, tau) : FeatureAffinity.Cosine(f, affinityPower);
        Tensor maps;
        using (GradMode.NoGrad()) maps = initial.Maps(s, present);
        if (maps.Rank != 3 || maps.Size(0) != data.Classes.Count)
            throw new InvalidOperationException($"initial maps of {s.Id}: expected [{data.Classes.Count}, h, w], got {Shapes.Format(maps.Shape)}.");
        var a0 = FeatureAffinity.Tokens(AreaResize(maps, gh, gw));
        return new AttentionItem(s.Id, affinity, a0, gh, gw) { Height = s.Height, Width = s.Width, Image = s.Image, Label = s.Label, Present = present };
    }

    /// <summary>Classes with at least one pixel in <paramref name="label"/> (all when null).</summary>
    public static int[] Present(int[]? label, int classes, int ignore)
    {
        if (label is null) return [.. Enumerable.Range(0, classes)];
        var seen = new bool[classes];
        foreach (var v in label)
            if (v != ignore && (uint)v < (uint)classes) seen[v] = true;
        return [.. Enumerable.Range(0, classes).Where(c => seen[c])];
    }

    /// <summary>
    /// Resizes [C, H, W] to [C, h, w]: each target cell the mean of the source pixels whose centres fall in it when
    /// shrinking (box filter), bilinear when growing.
    /// </summary>
    public static Tensor AreaResize(Tensor maps, int height, int width)
    {
        int c = maps.Size(0), sh = maps.Size(1), sw = maps.Size(2);
        if (sh < height || sw < width) return Weak.ClassMapLabels.Resize(maps, height, width);
        if (sh == height && sw == width) return maps.Detach();
        var a = maps.ToArray();
        var o = new float[c * height * width];
        var cnt = new int[height * width];
        for (int y = 0; y < sh; y++)
        {
            int ty = Math.Min(height - 1, (int)((y + 0.5) * height / sh));
            for (int x = 0; x < sw; x++)
            {
                int t = ty * width + Math.Min(width - 1, (int)((x + 0.5) * width / sw));
                cnt[t]++;
                for (int k = 0; k < c; k++) o[k * height * width + t] += a[(k * sh + y) * sw + x];
            }
        }
        for (int k = 0; k < c; k++)
            for (int t = 0; t < height * width; t++) o[k * height * width + t] /= Math.Max(1, cnt[t]);
        return Tensor.FromArray(o, c, height, width);
    }

    /// <summary>Softmax over the channel axis of logits [1, C, H, W] (the first <paramref name="classes"/> channels) as [C, H, W].</summary>
    public static Tensor Softmax(Tensor logits, int classes)
    {
        int ch = logits.Size(1), h = logits.Size(2), w = logits.Size(3), hw = h * w;
        if (classes > ch) throw new ArgumentException($"softmax: {classes} classes asked of {ch} channels.");
        var a = logits.ToArray();
        var o = new float[classes * hw];
        for (int i = 0; i < hw; i++)
        {
            float max = float.NegativeInfinity;
            for (int k = 0; k < classes; k++) max = Math.Max(max, a[k * hw + i]);
            double sum = 0;
            for (int k = 0; k < classes; k++) sum += o[k * hw + i] = MathF.Exp(a[k * hw + i] - max);
            float inv = (float)(1 / sum);
            for (int k = 0; k < classes; k++) o[k * hw + i] *= inv;
        }
        return Tensor.FromArray(o, classes, h, w);
    }
}
