// The image variants of the context study (PAPERS.md B.3, F), built from one image and one object mask:
// original; only_fg (the object on black); no_fg (the object, grown by 2 px, removed and filled by diffusion from its
// border); mixed_rand / mixed_same (the object's pixels pasted at the same place onto another image's scene, a random
// one or one with the class nearby: see ContextScenes); no-information contexts (bg_mean: ImageNet's mean colour
// (123, 116, 103) as the code's meanNorm_noise; bg_gaussian: N(0.5, 0.2^2) per value, clipped; bg_uniform: U[0, 1]);
// and the corruptions at severities 1-5 applied to the context only (ctx:NAME:S = corrupt (1 - M) + orig M) or to the
// object only (obj:NAME:S = corrupt M + orig (1 - M)), the ImageNet-CS formulas of B.3. Deterministic given a seed.
using System.Globalization;

namespace SegLab.Attribution.Context;

/// <summary>What a variant does to the object's context (the terms of PAPERS.md B.3).</summary>
public enum VariantKind
{
    /// <summary>The image as it is.</summary>
    Original,

    /// <summary>Context change: the scene swapped for another (mixed_rand, mixed_same).</summary>
    Change,

    /// <summary>Context without information: black, mean colour or noise (only_fg, bg_*).</summary>
    NoInformation,

    /// <summary>The object removed, its context kept (no_fg).</summary>
    Removal,

    /// <summary>Context perturbation: a corruption on the context only.</summary>
    ContextPerturbation,

    /// <summary>A corruption on the object only.</summary>
    ObjectPerturbation,
}

/// <summary>One variant: its name, kind and, for perturbations, the corruption and severity.</summary>
/// <param name="Name">Name in results and on the command line.</param>
/// <param name="Kind">Kind.</param>
/// <param name="Corruption">Corruption name (perturbations only).</param>
/// <param name="Severity">Severity 1-5 (perturbations only; 0 otherwise).</param>
public sealed record VariantSpec(string Name, VariantKind Kind, string? Corruption = null, int Severity = 0);

/// <summary>A corruption source: ImageNet-C style corruptions of a planar RGB image in [0, 1].</summary>
public interface IImageCorruptions
{
    /// <summary>Known corruption names.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>The corrupted image, planar RGB [3, H, W] in [0, 1].</summary>
    /// <param name="name">Corruption.</param>
    /// <param name="severity">1 to 5.</param>
    /// <param name="chw01">The image.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="seed">Seed of random corruptions.</param>
    float[] Apply(string name, int severity, ReadOnlySpan<float> chw01, int height, int width, ulong seed);
}

/// <summary>The variant table and the builder of variant images.</summary>
public static class ContextVariants
{
    /// <summary>The variants that need no corruption, in report order.</summary>
    public static IReadOnlyList<VariantSpec> Basic { get; } =
    [
        new("original", VariantKind.Original),
        new("only_fg", VariantKind.NoInformation),
        new("no_fg", VariantKind.Removal),
        new("mixed_rand", VariantKind.Change),
        new("mixed_same", VariantKind.Change),
        new("bg_mean", VariantKind.NoInformation),
        new("bg_gaussian", VariantKind.NoInformation),
        new("bg_uniform", VariantKind.NoInformation),
    ];

    /// <summary>Pixels the removal region of no_fg grows beyond the object mask (label borders are rough).</summary>
    public const int RemovalGrowth = 2;

    /// <summary>ImageNet's mean colour as bytes, the code's meanNorm_noise (B.3).</summary>
    public static readonly float[] MeanColour = [123 / 255f, 116 / 255f, 103 / 255f];

    /// <summary>Every variant name for the corruptions and severities given ("all" on the command line).</summary>
    /// <param name="corruptions">Corruption names.</param>
    /// <param name="severities">Severities.</param>
    public static List<VariantSpec> All(IEnumerable<string> corruptions, IReadOnlyList<int> severities)
    {
        var list = new List<VariantSpec>(Basic);
        var names = corruptions.ToList();
        foreach (string region in new[] { "ctx", "obj" })
            foreach (string c in names)
                foreach (int s in severities)
                    list.Add(Perturbation(region, c, s));
        return list;
    }

    /// <summary>A perturbation variant: region ctx or obj, a corruption and a severity.</summary>
    public static VariantSpec Perturbation(string region, string corruption, int severity) =>
        new($"{region}:{corruption}:{severity.ToString(CultureInfo.InvariantCulture)}",
            region == "ctx" ? VariantKind.ContextPerturbation : VariantKind.ObjectPerturbation, corruption, severity);

    /// <summary>Parses a comma-separated list (names, "all", "basic", "ctx", "obj", or ctx:NAME:S / obj:NAME:S), naming the valid ones on error.</summary>
    /// <param name="text">The list.</param>
    /// <param name="corruptions">Corruption names available.</param>
    /// <param name="severities">Severities used by all/ctx/obj.</param>
    public static List<VariantSpec> Parse(string text, IReadOnlyList<string> corruptions, IReadOnlyList<int> severities)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<VariantSpec>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string t = raw.ToLowerInvariant();
            if (t == "all") result.AddRange(All(corruptions, severities));
            else if (t == "basic") result.AddRange(Basic);
            else if (t is "ctx" or "obj") result.AddRange(corruptions.SelectMany(c => severities.Select(s => Perturbation(t, c, s))));
            else if (Basic.FirstOrDefault(v => v.Name == t) is { } b) result.Add(b);
            else if (t.Split(':') is [var region and ("ctx" or "obj"), var c, var sv] && corruptions.Contains(c)
                && int.TryParse(sv, NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) && s is >= 1 and <= 5)
                result.Add(Perturbation(region, c, s));
            else
                throw new ArgumentException($"--variants: unknown variant '{raw}'. Valid: all, basic, ctx, obj, {string.Join(", ", Basic.Select(v => v.Name))}, "
                    + $"ctx:NAME:S or obj:NAME:S with S in 1-5 and NAME one of {(corruptions.Count == 0 ? "(no corruptions available)" : string.Join(", ", corruptions))}.");
        }
        if (result.Count == 0) throw new ArgumentException("--variants: give at least one variant.");
        if (!result.Any(v => v.Kind == VariantKind.Original)) result.Insert(0, Basic[0]);   // every comparison needs the original
        return [.. result.DistinctBy(v => v.Name)];
    }

    /// <summary>The variant image, planar RGB [3, H, W] in [0, 1] (a new array).</summary>
    /// <param name="variant">The variant.</param>
    /// <param name="image">The original image [3, H, W].</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="mask">The object mask H*W.</param>
    /// <param name="donor">The scene of mixed_* (same size), else null.</param>
    /// <param name="seed">Seed of noise and corruptions.</param>
    /// <param name="corruptions">Corruption source (perturbations only).</param>
    public static float[] Build(VariantSpec variant, ReadOnlySpan<float> image, int height, int width, ReadOnlySpan<bool> mask,
        float[]? donor, ulong seed, IImageCorruptions? corruptions)
    {
        ArgumentNullException.ThrowIfNull(variant);
        int n = height * width;
        if (image.Length != 3 * n) throw new ArgumentException($"variant {variant.Name}: the image has {image.Length} values, expected 3x{width}x{height}.");
        if (mask.Length != n) throw new ArgumentException($"variant {variant.Name}: the mask has {mask.Length} pixels, expected {width}x{height}.");
        var outImg = image.ToArray();
        switch (variant.Name)
        {
            case "original":
                return outImg;
            case "only_fg":
                FillContext(outImg, mask, n, (_, _) => 0f);
                return outImg;
            case "no_fg":
                Inpaint(outImg, Grow(mask, height, width, RemovalGrowth), height, width);
                return outImg;
            case "mixed_rand" or "mixed_same":
                if (donor is null || donor.Length != 3 * n) throw new ArgumentException($"variant {variant.Name}: needs a donor scene of {width}x{height}.");
                FillContext(outImg, mask, n, (c, i) => donor[(c * n) + i]);
                return outImg;
            case "bg_mean":
                FillContext(outImg, mask, n, (c, _) => MeanColour[c]);
                return outImg;
            case "bg_gaussian":
            {
                var rng = new Random(Seed32(seed));
                FillContext(outImg, mask, n, (_, _) => (float)Math.Clamp(0.5 + (0.2 * Gaussian(rng)), 0, 1));
                return outImg;
            }
            case "bg_uniform":
            {
                var rng = new Random(Seed32(seed));
                FillContext(outImg, mask, n, (_, _) => (float)rng.NextDouble());
                return outImg;
            }
        }
        if (variant.Corruption is null || corruptions is null)
            throw new ArgumentException($"variant {variant.Name}: unknown, or a perturbation without a corruption source.");
        var corrupted = corruptions.Apply(variant.Corruption, variant.Severity, image, height, width, seed);
        if (corrupted.Length != 3 * n) throw new InvalidOperationException($"corruption {variant.Corruption} returned {corrupted.Length} values, expected {3 * n}.");
        bool onObject = variant.Kind == VariantKind.ObjectPerturbation;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < n; i++)
                if (mask[i] == onObject) outImg[(c * n) + i] = corrupted[(c * n) + i];
        return outImg;
    }

    /// <summary>The mask grown by <paramref name="r"/> pixels (square neighbourhood).</summary>
    public static bool[] Grow(ReadOnlySpan<bool> mask, int height, int width, int r)
    {
        var grown = new bool[mask.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                if (!mask[(y * width) + x]) continue;
                for (int yy = Math.Max(0, y - r); yy <= Math.Min(height - 1, y + r); yy++)
                    for (int xx = Math.Max(0, x - r); xx <= Math.Min(width - 1, x + r); xx++)
                        grown[(yy * width) + xx] = true;
            }
        return grown;
    }

    /// <summary>A 32-bit seed from a 64-bit one.</summary>
    public static int Seed32(ulong seed) => (int)(uint)(seed ^ (seed >> 32));

    /// <summary>A stable 64-bit seed from a base seed and words (FNV-1a; string hashes differ between processes).</summary>
    public static ulong Mix(long seed, params string[] words)
    {
        ulong h = 14695981039346656037UL ^ (ulong)seed;
        foreach (string w in words)
        {
            foreach (char ch in w)
            {
                h ^= ch;
                h *= 1099511628211UL;
            }
            h ^= 0xff;
            h *= 1099511628211UL;
        }
        return h;
    }

    private static void FillContext(float[] img, ReadOnlySpan<bool> mask, int n, Func<int, int, float> value)
    {
        for (int i = 0; i < n; i++)
        {
            if (mask[i]) continue;
            for (int c = 0; c < 3; c++) img[(c * n) + i] = value(c, i);
        }
    }

    private static double Gaussian(Random rng)
    {
        double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    // Fill by diffusion: layers peeled from the region's border, each unknown pixel the mean of its known 8-neighbours,
    // then 50 Jacobi sweeps of the 4-neighbour mean inside the region with the outside fixed (a harmonic fill).
    private static void Inpaint(float[] img, bool[] region, int height, int width)
    {
        int n = height * width;
        var known = region.Select(b => !b).ToArray();
        if (!known.Contains(true)) return;
        var todo = Enumerable.Range(0, n).Where(i => region[i]).ToList();
        while (todo.Count > 0)
        {
            var layer = new List<(int I, float R, float G, float B)>();
            foreach (int i in todo)
            {
                int y = i / width, x = i % width, cnt = 0;
                float r = 0, g = 0, b = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int yy = y + dy, xx = x + dx;
                        if ((dy == 0 && dx == 0) || yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
                        int q = (yy * width) + xx;
                        if (!known[q]) continue;
                        cnt++;
                        r += img[q];
                        g += img[n + q];
                        b += img[(2 * n) + q];
                    }
                if (cnt > 0) layer.Add((i, r / cnt, g / cnt, b / cnt));
            }
            foreach (var (i, r, g, b) in layer)
            {
                img[i] = r;
                img[n + i] = g;
                img[(2 * n) + i] = b;
                known[i] = true;
            }
            todo = [.. todo.Where(i => !known[i])];
        }
        var inside = Enumerable.Range(0, n).Where(i => region[i]).ToArray();
        for (int sweep = 0; sweep < 50; sweep++)
            for (int c = 0; c < 3; c++)
            {
                int off = c * n;
                foreach (int i in inside)
                {
                    int y = i / width, x = i % width, cnt = 0;
                    float s = 0;
                    if (x > 0) { s += img[off + i - 1]; cnt++; }
                    if (x < width - 1) { s += img[off + i + 1]; cnt++; }
                    if (y > 0) { s += img[off + i - width]; cnt++; }
                    if (y < height - 1) { s += img[off + i + width]; cnt++; }
                    img[off + i] = s / cnt;
                }
            }
    }
}
