// Donor scenes of mixed_rand and mixed_same (PAPERS.md B.3: the object pasted onto another image's background).
// The pool is the whole split (not the --limit/--shard selection, so shards pick the same donors as one run), images
// of the object's size only, never the object's own image. mixed_rand: any of them. mixed_same: one whose ground
// truth has the object's class "nearby": at least NearbyPixels pixels of the class inside the object's box grown by
// NearbyMargin pixels on each side. The choice is seeded by the object's id, so it is the same in every run.
using SegLab.Data;

namespace SegLab.Attribution.Context;

/// <summary>The label maps of a split, for choosing donor scenes.</summary>
public sealed class ContextScenes
{
    /// <summary>Margin, in pixels, around the object's box where mixed_same looks for its class.</summary>
    public const int NearbyMargin = 32;

    /// <summary>Least pixels of the class in that window for a scene to count as having the class nearby.</summary>
    public const int NearbyPixels = 50;

    private readonly ISegmentationDataset _dataset;
    private readonly (string Id, int Width, int Height, int[] Label)[] _scenes;

    /// <summary>Reads every label map of <paramref name="dataset"/> (images are loaded when chosen).</summary>
    /// <param name="dataset">The whole split.</param>
    public ContextScenes(ISegmentationDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        _dataset = dataset;
        _scenes = new (string, int, int, int[])[dataset.Count];
        for (int i = 0; i < dataset.Count; i++)
        {
            var s = dataset.Load(i);
            _scenes[i] = (s.Id, s.Width, s.Height, s.Label ?? throw new InvalidDataException($"context: image {s.Id} has no label; objects and donor scenes need ground truth."));
        }
    }

    /// <summary>Scenes in the pool.</summary>
    public int Count => _scenes.Length;

    /// <summary>Id and size of scene <paramref name="index"/>.</summary>
    public (string Id, int Width, int Height) Scene(int index) => (_scenes[index].Id, _scenes[index].Width, _scenes[index].Height);

    /// <summary>The label map of scene <paramref name="index"/>.</summary>
    public int[] Label(int index) => _scenes[index].Label;

    /// <summary>The donor scene index for <paramref name="variant"/> (mixed_rand or mixed_same), or null where none fits.</summary>
    /// <param name="instance">The object.</param>
    /// <param name="variant">mixed_rand or mixed_same.</param>
    /// <param name="seed">Base seed.</param>
    public int? Donor(ContextInstance instance, string variant, long seed)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var candidates = new List<int>();
        for (int i = 0; i < _scenes.Length; i++)
        {
            var s = _scenes[i];
            if (s.Id == instance.ImageId || s.Width != instance.Width || s.Height != instance.Height) continue;
            if (variant == "mixed_same" && !HasNearby(s.Label, instance)) continue;
            candidates.Add(i);
        }
        if (candidates.Count == 0) return null;
        ulong h = ContextVariants.Mix(seed, "donor", variant, instance.Id);
        return candidates[(int)(h % (ulong)candidates.Count)];
    }

    /// <summary>The image of scene <paramref name="index"/>, planar RGB [3, H, W].</summary>
    public float[] Image(int index) => _dataset.Load(index).Image;

    /// <summary>Id of scene <paramref name="index"/>.</summary>
    public string Id(int index) => _scenes[index].Id;

    /// <summary>Whether <paramref name="label"/> has at least <see cref="NearbyPixels"/> pixels of the object's class within its grown box.</summary>
    public static bool HasNearby(ReadOnlySpan<int> label, ContextInstance instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var (x0, y0, x1, y1) = Window(instance, NearbyMargin);
        int count = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                if (label[(y * instance.Width) + x] == instance.Class && ++count >= NearbyPixels) return true;
        return false;
    }

    /// <summary>The object's box grown by <paramref name="margin"/> pixels, clipped to the image (end exclusive).</summary>
    public static (int X0, int Y0, int X1, int Y1) Window(ContextInstance instance, int margin)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var b = instance.Box;
        return (Math.Max(0, b.X0 - margin), Math.Max(0, b.Y0 - margin), Math.Min(instance.Width, b.X1 + margin), Math.Min(instance.Height, b.Y1 + margin));
    }
}
