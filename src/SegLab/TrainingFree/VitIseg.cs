// iSeg on the class-token ViT (source a of issue 20): for each tagged crop, S and A0 from ClassTokenVit.Attention at
// each Cat-Cross gamma, then masks from A0 alone, from the base method (S A0 once, no entropy reduction) and from full
// iSeg (Ent-Self + K iterations, PAPERS.md D.3-D.4) for each (lambda, K) asked. Labels: per pixel the argmax over the
// crop's ground-truth tags (the WSSS protocol's image-level labels; CamVid has no background class), scored as the
// pooled mIoU over the crops (PseudoMaskScorer's argmax scores, as `seglab weak cam`).
using System.Text.Json;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.IO;
using SegLab.Weak;

namespace SegLab.TrainingFree;

/// <summary>Settings of a ViT iSeg evaluation.</summary>
public sealed record VitIsegOptions
{
    /// <summary>Cat-Cross factors to compare.</summary>
    public double[] Gammas { get; init; } = [1.0, 1.6];

    /// <summary>Blocks averaged for S and A0, from the last.</summary>
    public int LastLayers { get; init; } = 2;

    /// <summary>Entropy step sizes lambda of full iSeg.</summary>
    public double[] Lambdas { get; init; } = [0.015];

    /// <summary>Iteration counts K of full iSeg.</summary>
    public int[] Iterations { get; init; } = [10];

    /// <summary>A class counts as present in a crop (its label may be predicted) from this many pixels on.</summary>
    public int TagMinPixels { get; init; } = 1;

    /// <summary>Score at most this many crops (in dataset order), or all when null.</summary>
    public int? MaxCrops { get; init; }

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        if (Gammas.Length == 0 || Gammas.Any(g => !(g > 0) || double.IsInfinity(g))) throw new ArgumentException($"vit iseg: gammas must be positive numbers, got [{string.Join(", ", Gammas)}].");
        if (Lambdas.Length == 0 || Lambdas.Any(l => !(l >= 0) || double.IsInfinity(l))) throw new ArgumentException($"vit iseg: lambdas must be finite and >= 0, got [{string.Join(", ", Lambdas)}].");
        if (Iterations.Length == 0 || Iterations.Any(k => k < 1)) throw new ArgumentException($"vit iseg: iterations must be >= 1, got [{string.Join(", ", Iterations)}].");
        if (LastLayers < 1) throw new ArgumentException($"vit iseg: last layers must be >= 1, got {LastLayers}.");
        if (TagMinPixels < 1) throw new ArgumentException($"vit iseg: tag min pixels must be >= 1, got {TagMinPixels}.");
        if (MaxCrops is < 1) throw new ArgumentException($"vit iseg: max crops must be >= 1, got {MaxCrops}.");
    }
}

/// <summary>One variant's scores.</summary>
/// <param name="Variant">"a0" (cross-attention alone), "base" (S A0 once) or "iseg".</param>
/// <param name="Gamma">Cat-Cross factor.</param>
/// <param name="Lambda">Entropy step (iseg only, else 0).</param>
/// <param name="Iterations">K (iseg), 1 (base) or 0 (a0).</param>
/// <param name="MIoU">Pooled mIoU (%) of the argmax masks over the crops.</param>
/// <param name="PerClassIoU">Per-class IoU (%).</param>
public sealed record VitIsegRow(string Variant, double Gamma, double Lambda, int Iterations, double MIoU, double[] PerClassIoU);

/// <summary>What vit-iseg.json holds.</summary>
/// <param name="Crops">Crops scored.</param>
/// <param name="Classes">Class names.</param>
/// <param name="LastLayers">Blocks averaged.</param>
/// <param name="Rows">One row per variant.</param>
/// <param name="SecondsPerCrop">Attention extraction and all refinements, per crop.</param>
public sealed record VitIsegResult(int Crops, string[] Classes, int LastLayers, VitIsegRow[] Rows, double SecondsPerCrop)
{
    /// <summary>File name.</summary>
    public const string FileName = "vit-iseg.json";
}

/// <summary>Scores iSeg masks from a trained <see cref="ClassTokenVit"/> on a dataset's crops.</summary>
public static class VitIseg
{
    /// <summary>Runs every variant on the crops of <paramref name="data"/> of the model's input size; writes <paramref name="outDir"/>/vit-iseg.json when given.</summary>
    public static VitIsegResult Run(ClassTokenVit model, string[] modelClasses, ISegmentationDataset data, VitIsegOptions options, string? outDir = null, IProgress<int>? progress = null)
    {
        options.Validate();
        int c = data.Classes.Count;
        if (!modelClasses.SequenceEqual(data.Classes.Names))
            throw new ArgumentException($"vit iseg: the model was trained on classes [{string.Join(", ", modelClasses)}] but {data.Root} has [{string.Join(", ", data.Classes.Names)}].");
        var vo = model.Options;
        var tagOptions = new TagOptions(vo.Height, vo.Width, vo.Height, vo.Width, options.TagMinPixels);
        var crops = ImageTags.Of(data, tagOptions);
        if (options.MaxCrops is int m) crops = [.. crops.Take(m)];
        var variants = new List<(string Name, double Gamma, double Lambda, int K)>();
        foreach (var g in options.Gammas)
        {
            variants.Add(("a0", g, 0, 0));
            variants.Add(("base", g, 0, 1));
            foreach (var l in options.Lambdas)
                foreach (var k in options.Iterations) variants.Add(("iseg", g, l, k));
        }
        var scorers = variants.Select(_ => new PseudoMaskScorer(c, data.Classes.IgnoreIndex, BackgroundRule.Constant(0))).ToArray();
        var images = new CropImages(data);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int done = 0, lastIndex = -1;
        int[]? label = null;
        int width = 0;
        foreach (var crop in crops)
        {
            if (crop.Index != lastIndex)
            {
                var s = data.Load(crop.Index);
                label = s.Label ?? throw new DatasetException($"vit iseg: sample {s.Id} ({s.ImagePath}) has no label map.");
                width = s.Width;
                lastIndex = crop.Index;
            }
            var gt = new int[crop.Height * crop.Width];
            for (int y = 0; y < crop.Height; y++) Array.Copy(label!, (crop.Y + y) * width + crop.X, gt, y * crop.Width, crop.Width);
            var x = images.Batch([crop], _ => false);
            string id = $"{crop.ImageId}@{crop.Y},{crop.X}";
            VitAttention? att = null;
            double attGamma = double.NaN;
            for (int v = 0; v < variants.Count; v++)
            {
                var (name, g, l, k) = variants[v];
                if (att is null || attGamma != g) { att = model.Attention(x, g, options.LastLayers); attGamma = g; }
                var refined = name switch
                {
                    "a0" => att.CrossAttention,
                    "base" => AttentionRefinement.Refine(att.SelfAttention, att.CrossAttention, new RefinementOptions { EntSelf = false }),
                    _ => AttentionRefinement.Refine(att.SelfAttention, att.CrossAttention, new RefinementOptions { Lambda = l, Iterations = k }),
                };
                var maps = AttentionRefinement.ToImageMaps(refined, att.GridH, att.GridW, crop.Height, crop.Width);
                scorers[v].Add(id, maps, crop.Tags, gt);
            }
            done++;
            progress?.Report(done);
        }
        var rows = variants.Select((v, i) =>
        {
            var sc = scorers[i].Scores();
            return new VitIsegRow(v.Name, v.Gamma, v.Lambda, v.K, sc.ArgmaxMIoU, sc.PerClassArgmaxIoU);
        }).ToArray();
        var result = new VitIsegResult(done, data.Classes.Names, options.LastLayers, rows, clock.Elapsed.TotalSeconds / Math.Max(1, done));
        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir);
            AtomicFile.Write(Path.Combine(outDir, VitIsegResult.FileName), JsonSerializer.SerializeToUtf8Bytes(result, TagTrainer.Json));
        }
        return result;
    }
}
