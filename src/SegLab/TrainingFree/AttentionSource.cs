// Where iSeg's two inputs come from (issue 20, PAPERS.md F): a source yields, per item, the self-attention or affinity
// S [N, N] (or [heads, N, N], averaged over the chosen heads), the initial class maps A0 [N, C] on an h x w token grid
// (row-major, N = h w), and, where it has them, the image and its ground truth. Sources: an exported safetensors file
// (AttentionFile), a CNN's feature affinities with CAMs or coarse logits (CnnAttentionSource); a vision transformer
// with class tokens is one more implementation of IAttentionSource (its Cat-Cross gamma is the one source setting).
using SegLab.Engine;

namespace SegLab.TrainingFree;

/// <summary>One item to refine: S, A0, the token grid and optionally the image and its labels.</summary>
/// <param name="Id">Identifier (file stem or dataset id).</param>
/// <param name="SelfAttention">S [N, N] or [heads, N, N], rows are queries.</param>
/// <param name="CrossAttention">A0 [N, C], one column per class.</param>
/// <param name="GridHeight">Token grid height h.</param>
/// <param name="GridWidth">Token grid width w (h w = N).</param>
public sealed record AttentionItem(string Id, Tensor SelfAttention, Tensor CrossAttention, int GridHeight, int GridWidth)
{
    /// <summary>Output height (the image's or the labels'; the grid's when there is neither).</summary>
    public int Height { get; init; }

    /// <summary>Output width.</summary>
    public int Width { get; init; }

    /// <summary>The image, planar RGB [3, Height, Width] in [0, 1], or null.</summary>
    public float[]? Image { get; init; }

    /// <summary>Ground-truth class ids, Height x Width row-major (the source's ignore id where unscored), or null.</summary>
    public int[]? Label { get; init; }

    /// <summary>Classes present (image-level labels, as the official WSSS code takes them from the ground truth); null: all.</summary>
    public int[]? Present { get; init; }
}

/// <summary>A sequence of items for iSeg.</summary>
public interface IAttentionSource
{
    /// <summary>A one-line description for reports.</summary>
    string Description { get; }

    /// <summary>Number of items.</summary>
    int Count { get; }

    /// <summary>Class names, one per column of A0.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The class id meaning background in the labels, or null where there is none (CamVid).</summary>
    int? BackgroundClass { get; }

    /// <summary>Label value of unscored pixels.</summary>
    int IgnoreIndex { get; }

    /// <summary>Display colours, RGB triples, one per class.</summary>
    byte[] PaletteRgb { get; }

    /// <summary>Whether <see cref="Load"/> takes a Cat-Cross gamma (a transformer with class tokens does; others not).</summary>
    bool TakesGamma { get; }

    /// <summary>The identifier of item <paramref name="index"/> without loading it (for resume).</summary>
    string Id(int index);

    /// <summary>Loads item <paramref name="index"/>; <paramref name="gamma"/> is the Cat-Cross factor (null: the source's default).</summary>
    AttentionItem Load(int index, double? gamma = null);
}

/// <summary>Checks of iSeg inputs, and the head average.</summary>
public static class AttentionInput
{
    /// <summary>
    /// S averaged over <paramref name="heads"/> (0-based; null: all) when it is [heads, N, N]; a [N, N] S is returned as
    /// it is (and <paramref name="heads"/> must be null). Errors name <paramref name="name"/> and the shape.
    /// </summary>
    public static Tensor MeanHeads(Tensor attention, IReadOnlyList<int>? heads, string name = "self_attention")
    {
        if (attention.Rank == 2)
        {
            if (heads is not null) throw new ArgumentException($"tensor '{name}' is {Shapes.Format(attention.Shape)} (one map): --heads needs [heads, N, N].");
            return attention;
        }
        if (attention.Rank != 3) throw new ArgumentException($"tensor '{name}' is {Shapes.Format(attention.Shape)}; expected [N, N] or [heads, N, N].");
        int h = attention.Size(0), n = attention.Size(1);
        if (attention.Size(2) != n) throw new ArgumentException($"tensor '{name}' is {Shapes.Format(attention.Shape)}: each head must be square [N, N].");
        var chosen = heads ?? Enumerable.Range(0, h).ToArray();
        if (chosen.Count == 0) throw new ArgumentException($"tensor '{name}': no heads chosen.");
        foreach (var k in chosen)
            if (k < 0 || k >= h) throw new ArgumentException($"tensor '{name}' is {Shapes.Format(attention.Shape)}: head {k} does not exist (heads are 0..{h - 1}).");
        var a = attention.ToArray();
        long nn = (long)n * n;
        var mean = new float[nn];
        foreach (var k in chosen)
        {
            var src = a.AsSpan((int)(k * nn), (int)nn);
            for (int i = 0; i < src.Length; i++) mean[i] += src[i];
        }
        float inv = 1f / chosen.Count;
        for (int i = 0; i < mean.Length; i++) mean[i] *= inv;
        return Tensor.FromArray(mean, n, n);
    }

    /// <summary>
    /// Throws an ArgumentException (one line naming the tensor and its shape) unless S is [N, N], A0 is [N, C], h w = N,
    /// and every entry of both is finite and non-negative (attention probabilities are).
    /// </summary>
    public static void Check(Tensor selfAttention, Tensor crossAttention, int gridH, int gridW, string origin = "")
    {
        string at = origin.Length > 0 ? origin + ": " : "";
        if (selfAttention.Rank != 2 || selfAttention.Size(0) != selfAttention.Size(1))
            throw new ArgumentException($"{at}tensor 'self_attention' is {Shapes.Format(selfAttention.Shape)}; expected a square [N, N] (or [heads, N, N]).");
        int n = selfAttention.Size(0);
        if (crossAttention.Rank != 2 || crossAttention.Size(0) != n || crossAttention.Size(1) < 1)
            throw new ArgumentException($"{at}tensor 'cross_attention' is {Shapes.Format(crossAttention.Shape)}; expected [N, C] with N = {n} (the tokens of 'self_attention' {Shapes.Format(selfAttention.Shape)}).");
        if (gridH < 1 || gridW < 1 || (long)gridH * gridW != n)
            throw new ArgumentException($"{at}tensor 'grid' is ({gridH}, {gridW}): h * w = {(long)gridH * gridW} but 'self_attention' has N = {n} tokens.");
        Entries(selfAttention, "self_attention", at);
        Entries(crossAttention, "cross_attention", at);
    }

    private static void Entries(Tensor t, string name, string at)
    {
        var a = t.ToArray();
        int cols = t.Size(1);
        for (int i = 0; i < a.Length; i++)
        {
            float v = a[i];
            if (float.IsNaN(v) || float.IsInfinity(v))
                throw new ArgumentException($"{at}tensor '{name}' {Shapes.Format(t.Shape)} has a non-finite entry {v} at [{i / cols}, {i % cols}].");
            if (v < 0)
                throw new ArgumentException($"{at}tensor '{name}' {Shapes.Format(t.Shape)} has a negative entry {v} at [{i / cols}, {i % cols}] (attention must be non-negative).");
        }
    }
}
