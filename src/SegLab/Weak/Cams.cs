// CAMs at inference, as IRN makes them (PAPERS.md C.1), batched: for each scale s the images are resized by s
// (bilinear), run with their horizontal mirrors in the same batch, and CAM(x) + flip(CAM(flip(x))) is resized to the
// image (bilinear, align_corners=false) and summed over scales; only the tagged classes are kept and each is
// max-normalised: CAM_c / (max CAM_c + 1e-5). IRN upsamples to a common strided size and crops; resizing every scale
// straight to the image size is the same up to the interpolation grid (stated in docs/weak.md).
using SegLab.Engine;
using SegLab.Engine.Autograd;

namespace SegLab.Weak;

/// <summary>Test-time settings of CAMs.</summary>
public sealed record CamOptions
{
    /// <summary>Image scales, IRN's default {1.0, 0.5, 1.5, 2.0}.</summary>
    public double[] Scales { get; init; } = [1.0, 0.5, 1.5, 2.0];

    /// <summary>Add the CAM of the mirrored image, mirrored back.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        if (Scales.Length == 0) throw new ArgumentException("CAM: at least one scale is needed.");
        foreach (var s in Scales)
            if (!(s > 0) || s > 8) throw new ArgumentException($"CAM: scale {s} must be in (0, 8].");
    }
}

/// <summary>Class activation maps of a <see cref="TagClassifier"/>.</summary>
public static class Cams
{
    /// <summary>
    /// Max-normalised CAMs [B, C, H, W] of a batch [B, 3, H, W] in [0, 1]; classes not in an image's tags are zero.
    /// </summary>
    /// <param name="model">The classifier (used in eval mode; its mode is restored).</param>
    /// <param name="rgb">Images in [0, 1].</param>
    /// <param name="tags">Per image, the tagged classes (null: every class).</param>
    /// <param name="options">Scales and flip.</param>
    public static Tensor Compute(TagClassifier model, Tensor rgb, IReadOnlyList<int[]>? tags, CamOptions? options = null)
        => ComputeWithFeatures(model, rgb, tags, options).Cams;

    /// <summary>
    /// As <see cref="Compute"/>, and also the classifier's features [B, K, h, w] of the unmirrored images at scale 1
    /// (computed by the same forward; null when 1 is not among the scales), for refinements that need them.
    /// </summary>
    /// <param name="model">The classifier (used in eval mode; its mode is restored).</param>
    /// <param name="rgb">Images in [0, 1].</param>
    /// <param name="tags">Per image, the tagged classes (null: every class).</param>
    /// <param name="options">Scales and flip.</param>
    public static (Tensor Cams, Tensor? Features) ComputeWithFeatures(TagClassifier model, Tensor rgb, IReadOnlyList<int[]>? tags, CamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rgb);
        options ??= new CamOptions();
        options.Validate();
        if (rgb.Rank != 4 || rgb.Size(1) != 3) throw new ArgumentException($"CAM: images must be [B, 3, H, W], got {Shapes.Format(rgb.Shape)}.");
        int b = rgb.Size(0), h = rgb.Size(2), w = rgb.Size(3), c = model.Classes;
        if (tags is not null && tags.Count != b) throw new ArgumentException($"CAM: {tags.Count} tag lists for {b} images.");
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            var sum = new float[b * c * h * w];
            Tensor? features = null;
            foreach (var s in options.Scales)
            {
                int sh = Math.Max(1, (int)Math.Round(h * s)), sw = Math.Max(1, (int)Math.Round(w * s));
                var x = sh == h && sw == w ? rgb.Detach() : Ops.Interpolate(rgb.Detach(), sh, sw, InterpolationMode.Bilinear);
                var input = options.Flip ? Ops.Cat([x, FlipW(x)], 0) : x;
                var f = model.Features(input);
                if (sh == h && sw == w && features is null)
                    features = options.Flip ? Tensor.FromArray(f.ToArray().AsSpan(0, f.Numel / 2).ToArray(), b, f.Size(1), f.Size(2), f.Size(3)) : f;
                var cam = Ops.Relu(model.Project(f));
                cam = Ops.Interpolate(cam, h, w, InterpolationMode.Bilinear);
                var a = cam.ToArray();
                int plane = h * w, per = c * plane;
                for (int i = 0; i < b; i++)
                {
                    var dst = sum.AsSpan(i * per, per);
                    var own = a.AsSpan(i * per, per);
                    for (int j = 0; j < per; j++) dst[j] += own[j];
                    if (!options.Flip) continue;
                    var mirrored = a.AsSpan((b + i) * per, per);
                    for (int p = 0; p < c * h; p++)
                    {
                        var row = mirrored.Slice(p * w, w);
                        var d = dst.Slice(p * w, w);
                        for (int q = 0; q < w; q++) d[q] += row[w - 1 - q];
                    }
                }
            }
            Normalise(sum, b, c, h * w, tags);
            return (Tensor.FromArray(sum, b, c, h, w), features);
        }
        finally
        {
            if (wasTraining) model.TrainMode();
        }
    }

    /// <summary>Mirrors [B, C, H, W] along the width (no gradient).</summary>
    public static Tensor FlipW(Tensor x)
    {
        int n = x.Size(0) * x.Size(1) * x.Size(2), w = x.Size(3);
        var a = x.ToArray();
        for (int r = 0; r < n; r++) a.AsSpan(r * w, w).Reverse();
        return Tensor.FromArray(a, x.ShapeArray());
    }

    private static void Normalise(float[] cams, int b, int c, int plane, IReadOnlyList<int[]>? tags)
    {
        for (int i = 0; i < b; i++)
        {
            var keep = new bool[c];
            if (tags is null) Array.Fill(keep, true);
            else
                foreach (var t in tags[i])
                {
                    if ((uint)t >= (uint)c) throw new ArgumentException($"CAM: tag {t} is outside the classifier's {c} classes.");
                    keep[t] = true;
                }
            for (int k = 0; k < c; k++)
            {
                var p = cams.AsSpan((i * c + k) * plane, plane);
                if (!keep[k]) { p.Clear(); continue; }
                float max = 0;
                foreach (var v in p) max = Math.Max(max, v);
                float inv = 1f / (max + 1e-5f);
                for (int j = 0; j < plane; j++) p[j] *= inv;
            }
        }
    }
}
