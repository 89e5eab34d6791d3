// Training mini-batches as a pure function of (seed, epoch, batch index): a per-epoch shuffle and per-sample
// augmentation (random scale, crop with ignore padding, horizontal flip, brightness/contrast jitter) whose random
// numbers come from a generator seeded by (seed, epoch, sample), so a resumed run can start mid-epoch and see
// exactly the batches an uninterrupted run sees. Stands in for the data issue's DataLoader until it lands.
using SegLab.Data;
using SegLab.Engine;

namespace SegLab.Training;

/// <summary>One training mini-batch.</summary>
/// <param name="Images">RGB in [0, 1], [N, 3, H, W].</param>
/// <param name="Labels">Class ids [N * H * W] (ignore index where void or padded).</param>
/// <param name="Ids">Sample ids.</param>
/// <param name="Height">Crop height.</param>
/// <param name="Width">Crop width.</param>
public sealed record TrainBatch(Tensor Images, int[] Labels, string[] Ids, int Height, int Width);

/// <summary>A reproducible stream of training batches.</summary>
public interface IBatchSource
{
    /// <summary>Batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>Batch <paramref name="index"/> of epoch <paramref name="epoch"/> (a pure function of both and the seed).</summary>
    /// <param name="epoch">0-based epoch.</param>
    /// <param name="index">0-based batch within the epoch.</param>
    TrainBatch Get(int epoch, int index);
}

/// <summary>Random-crop batches drawn from a dataset (the last incomplete batch of an epoch is dropped).</summary>
public sealed class CropBatchSource : IBatchSource
{
    private readonly ISegmentationDataset _data;
    private readonly DataConfig _cfg;
    private readonly int _seed;
    private readonly int _ignore;
    private int _permEpoch = -1;
    private int[] _perm = [];

    /// <summary>Creates the source.</summary>
    /// <param name="data">Labelled training samples.</param>
    /// <param name="config">Crop, scale, flip, jitter and batch size.</param>
    /// <param name="seed">Run seed.</param>
    /// <param name="ignoreIndex">Label written into padding.</param>
    public CropBatchSource(ISegmentationDataset data, DataConfig config, int seed, int ignoreIndex)
    {
        _data = data ?? throw new ArgumentNullException(nameof(data));
        _cfg = config ?? throw new ArgumentNullException(nameof(config));
        if (data.Count < config.Batch)
            throw new ArgumentException($"data.batch: {config.Batch} is more than the {data.Count} samples of '{data.Root}' split '{data.Split}'.");
        _seed = seed;
        _ignore = ignoreIndex;
    }

    /// <inheritdoc/>
    public int BatchesPerEpoch => _data.Count / _cfg.Batch;

    /// <inheritdoc/>
    public TrainBatch Get(int epoch, int index)
    {
        if (epoch != _permEpoch) (_perm, _permEpoch) = (Permutation(_data.Count, new Rng(Mix(_seed, epoch, -1))), epoch);
        int b = _cfg.Batch, h = _cfg.Crop[0], w = _cfg.Crop[1];
        var images = new float[b * 3 * h * w];
        var labels = new int[b * h * w];
        var ids = new string[b];
        for (int i = 0; i < b; i++)
        {
            int k = _perm[index * b + i];
            var s = _data.Load(k);
            if (s.Label is null) throw new InvalidOperationException($"Training sample '{s.Id}' ({s.ImagePath}) has no label file.");
            ids[i] = s.Id;
            Augment(s, new Rng(Mix(_seed, epoch, k)), images.AsSpan(i * 3 * h * w, 3 * h * w), labels.AsSpan(i * h * w, h * w));
        }
        return new TrainBatch(Tensor.FromArray(images, b, 3, h, w), labels, ids, h, w);
    }

    private void Augment(SegmentationSample s, Rng rng, Span<float> image, Span<int> label)
    {
        int ch = _cfg.Crop[0], cw = _cfg.Crop[1];
        double scale = _cfg.Scale[0] + (_cfg.Scale[1] - _cfg.Scale[0]) * rng.NextDouble();
        int sh = Math.Max(1, (int)Math.Round(s.Height * scale)), sw = Math.Max(1, (int)Math.Round(s.Width * scale));
        float[] img = sh == s.Height && sw == s.Width ? s.Image
            : Ops.Interpolate(Tensor.FromArray(s.Image, 1, 3, s.Height, s.Width), sh, sw, InterpolationMode.Bilinear).ToArray();
        int[] lab = Resize.NearestLabels(s.Label!, s.Height, s.Width, sh, sw);
        int y0 = sh > ch ? rng.NextInt(sh - ch + 1) : 0, x0 = sw > cw ? rng.NextInt(sw - cw + 1) : 0;
        bool flip = _cfg.Flip && rng.NextDouble() < 0.5;
        double j = _cfg.Jitter;
        float bright = (float)(1 + j * (2 * rng.NextDouble() - 1)), contrast = (float)(1 + j * (2 * rng.NextDouble() - 1));
        label.Fill(_ignore);
        image.Clear();
        for (int y = 0; y < Math.Min(ch, sh - y0); y++)
        {
            for (int x = 0; x < Math.Min(cw, sw - x0); x++)
            {
                int dx = flip ? cw - 1 - x : x;
                int src = (y + y0) * sw + x + x0;
                label[y * cw + dx] = lab[src];
                for (int c = 0; c < 3; c++)
                {
                    float v = img[c * sh * sw + src];
                    if (j > 0) v = Math.Clamp((v * bright - 0.5f) * contrast + 0.5f, 0f, 1f);
                    image[c * ch * cw + y * cw + dx] = v;
                }
            }
        }
    }

    private static int[] Permutation(int n, Rng rng)
    {
        var p = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int k = rng.NextInt(i + 1);
            (p[i], p[k]) = (p[k], p[i]);
        }
        return p;
    }

    private static long Mix(int seed, int epoch, int sample) =>
        unchecked((long)((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(epoch + 1) * 0x632BE59BD9B4E019UL ^ (ulong)(sample + 2) * 0x85EBCA77C2B2AE63UL));
}

/// <summary>Nearest-neighbour resizing of label maps (PyTorch's "nearest": source index floor(dst * in / out)).</summary>
public static class Resize
{
    /// <summary>Resizes a [h * w] label map to [outH * outW].</summary>
    /// <param name="labels">Source labels.</param>
    /// <param name="h">Source height.</param>
    /// <param name="w">Source width.</param>
    /// <param name="outH">Target height.</param>
    /// <param name="outW">Target width.</param>
    public static int[] NearestLabels(ReadOnlySpan<int> labels, int h, int w, int outH, int outW)
    {
        if (labels.Length != h * w) throw new ArgumentException($"NearestLabels: {labels.Length} labels for {h}x{w}.");
        if (outH == h && outW == w) return labels.ToArray();
        var result = new int[outH * outW];
        for (int y = 0; y < outH; y++)
        {
            int sy = Math.Min(h - 1, (int)((long)y * h / outH));
            for (int x = 0; x < outW; x++) result[y * outW + x] = labels[sy * w + Math.Min(w - 1, (int)((long)x * w / outW))];
        }
        return result;
    }
}
