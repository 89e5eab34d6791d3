// Refinement speed for `seglab bench crf` and `seglab bench random-walk`: dense CRF mean field on a 360x480 image
// (a CamVid train image when the shared data is found, else a synthetic one) with L labels, and the random walk on a
// feature grid (stride 4: IRN's 90x120; stride 8: PSA's 45x60), per thread count. Medians of wall and CPU time (the
// process's processor time, which counts only the cycles this process got on a loaded machine) and peak memory.
using System.Diagnostics;
using SegLab.Engine;
using SegLab.Engine.Threading;
using SegLab.Weak;

namespace SegLab.Cli.Bench;

/// <summary>One refinement timing.</summary>
/// <param name="Kind">crf-psa, crf-irn, or random-walk.</param>
/// <param name="Size">Image or grid size HxW.</param>
/// <param name="Labels">Labels (CRF) or channels (random walk).</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="WallMs">Median wall time of one call.</param>
/// <param name="CpuMs">Median processor time of one call (all threads of the process).</param>
/// <param name="Parts">Medians of the parts timed alone (CRF: each kernel on its own; random walk: building the affinities).</param>
/// <param name="PeakMemoryMB">Peak working set of the process so far.</param>
/// <param name="Repeats">Timed repeats.</param>
/// <param name="Input">What was refined.</param>
internal sealed record RefineRecord(string Kind, string Size, int Labels, int Threads, double WallMs, double CpuMs, string Parts, double PeakMemoryMB, int Repeats, string Input);

/// <summary>Times the dense CRF and the random walk.</summary>
internal static class RefineBench
{
    /// <summary>The CRF with <paramref name="options"/> on an h x w image, each thread count warmed once and timed.</summary>
    public static IReadOnlyList<RefineRecord> Crf(string preset, int h, int w, int labels, int[] threads, int repeats, string? imagePath)
    {
        if (labels < 2) throw new ArgumentException($"--labels must be at least 2, got {labels}.");
        if (repeats < 1) throw new ArgumentException($"--repeats must be positive, got {repeats}.");
        var options = preset switch
        {
            "psa" => DenseCrfOptions.Psa,
            "irn" => DenseCrfOptions.Irn,
            _ => throw new ArgumentException($"--preset '{preset}': expected psa or irn."),
        };
        var (rgb, input) = Image(h, w, imagePath);
        var unary = DenseCrf.UnaryFromProbabilities(Blobs(labels, h, w, 7));
        var records = new List<RefineRecord>();
        int before = Parallelism.Threads;
        try
        {
            foreach (var t in threads)
            {
                Parallelism.SetThreads(t);
                DenseCrf.Infer(rgb, unary, options);
                var (wall, cpu) = Time(repeats, () => DenseCrf.Infer(rgb, unary, options));
                var (gauss, gaussCpu) = Time(repeats, () => DenseCrf.Infer(rgb, unary, options with { BilateralCompat = 0 }));
                var (bilateral, bilateralCpu) = Time(repeats, () => DenseCrf.Infer(rgb, unary, options with { GaussianCompat = 0 }));
                string parts = FormattableString.Invariant($"wall / CPU ms: Gaussian only {gauss:F0} / {gaussCpu:F0}, bilateral only (lattice build included) {bilateral:F0} / {bilateralCpu:F0}");
                records.Add(new RefineRecord($"crf-{preset}", $"{h}x{w}", labels, t, wall, cpu, parts, Peak(), repeats, input + $", {options.Iterations} iterations"));
            }
        }
        finally
        {
            Parallelism.SetThreads(before);
        }
        return records;
    }

    /// <summary>The random walk (cosine affinities of K features, radius 5, 2^logt steps) on an h x w grid.</summary>
    public static IReadOnlyList<RefineRecord> RandomWalk(int h, int w, int channels, int features, int logT, int[] threads, int repeats)
    {
        if (channels < 1) throw new ArgumentException($"--labels must be positive, got {channels}.");
        if (features < 1) throw new ArgumentException($"--features must be positive, got {features}.");
        if (repeats < 1) throw new ArgumentException($"--repeats must be positive, got {repeats}.");
        var f = Blobs(features, h, w, 3) - 0.5f;
        var cams = Blobs(channels, h, w, 5);
        var options = RandomWalkOptions.Psa with { LogT = logT };
        var records = new List<RefineRecord>();
        int before = Parallelism.Threads;
        try
        {
            foreach (var t in threads)
            {
                Parallelism.SetThreads(t);
                var aff = PixelAffinity.FromFeatures(f);
                SegLab.Weak.RandomWalk.Propagate(cams, aff, options);
                var (setup, setupCpu) = Time(repeats, () => PixelAffinity.FromFeatures(f));
                var (wall, cpu) = Time(repeats, () => SegLab.Weak.RandomWalk.Propagate(cams, aff, options));
                records.Add(new RefineRecord("random-walk", $"{h}x{w}", channels, t, wall, cpu, FormattableString.Invariant($"affinities wall / CPU {setup:F1} / {setupCpu:F1} ms"), Peak(), repeats, $"random maps, cosine affinities of {features} features, radius 5, {1 << logT} steps (walk time; affinities = setup)"));
            }
        }
        finally
        {
            Parallelism.SetThreads(before);
        }
        return records;
    }

    private static (Tensor Rgb, string Input) Image(int h, int w, string? path)
    {
        path ??= CamVidImage();
        if (path is not null)
        {
            var img = SegLab.Imaging.ImageIO.Load(path);
            var planar = SegLab.Data.SampleDecoding.PlanarRgb(img);
            var t = Tensor.FromArray(planar, 1, 3, img.Height, img.Width);
            if (img.Height != h || img.Width != w) t = Ops.Interpolate(t, h, w, InterpolationMode.Bilinear);
            return (Tensor.FromArray(t.ToArray(), 3, h, w), Path.GetFileName(path));
        }
        var rgb = Blobs(3, h, w, 11);
        return (rgb, "synthetic image (smooth random colours)");
    }

    private static string? CamVidImage()
    {
        var root = SharedData.Root;
        if (root is null) return null;
        foreach (var dir in new[] { Path.Combine(root, "data", "camvid", "train"), Path.Combine(root, "camvid", "train") })
            if (Directory.Exists(dir)) return Directory.EnumerateFiles(dir, "*.png").Order().FirstOrDefault();
        return null;
    }

    // Smooth random maps in [0, 1]: a few Gaussian bumps per plane.
    private static Tensor Blobs(int planes, int h, int w, int seed)
    {
        var rng = new Random(seed);
        var a = new float[planes * h * w];
        for (int c = 0; c < planes; c++)
            for (int b = 0; b < 3; b++)
            {
                double cy = rng.NextDouble() * h, cx = rng.NextDouble() * w, s = (0.1 + 0.3 * rng.NextDouble()) * Math.Max(h, w);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        a[(c * h + y) * w + x] = Math.Max(a[(c * h + y) * w + x], (float)Math.Exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * s * s)));
            }
        return Tensor.FromArray(a, planes, h, w);
    }

    /// <summary>Medians of wall and process CPU time of <paramref name="repeats"/> calls.</summary>
    internal static (double WallMs, double CpuMs) Time(int repeats, Action run)
    {
        var wall = new double[repeats];
        var cpu = new double[repeats];
        var process = Process.GetCurrentProcess();
        for (int i = 0; i < repeats; i++)
        {
            process.Refresh();
            var c0 = process.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            run();
            wall[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            process.Refresh();
            cpu[i] = (process.TotalProcessorTime - c0).TotalMilliseconds;
        }
        Array.Sort(wall);
        Array.Sort(cpu);
        return (wall[repeats / 2], cpu[repeats / 2]);
    }

    /// <summary>Peak working set of the process so far, MB.</summary>
    internal static double Peak()
    {
        var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
