// Where a convolution's time goes (issue 22): the whole Ops.Conv2d against its parts on the same shape, interleaved
// in one process: the im2col of every band, the GEMM of every band with the weights packed once, and one GEMM over
// the whole plane, with GFLOP/s of the convolution's 2*K*C*kh*kw*Ho*Wo.
//   dotnet run -c Release --project bench/SegLab.Bench -- conv-parts [--threads 1] [--repeats 21] C,H,W,K,kh,stride,pad ...
using System.Diagnostics;
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;
using SegLab.Engine.Linalg;
using SegLab.Engine.Threading;
using Tensor = SegLab.Engine.Tensor;

namespace SegLab.Bench;

// Wall time at more than one thread; this thread's CPU time at one (on the shared VM a 7 ms product is preempted
// while a 1 ms one is not, so wall medians of different sizes do not compare there).
internal sealed class CpuWatch(int threads)
{
    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern unsafe int clock_gettime(int clock, long* ts);

    private long _start = Now(threads);

    private static long Now(int threads)
    {
        if (threads > 1) return Stopwatch.GetTimestamp() * (1_000_000_000L / Stopwatch.Frequency);
        unsafe
        {
            long* ts = stackalloc long[2];
            _ = clock_gettime(3, ts); // CLOCK_THREAD_CPUTIME_ID: seconds, nanoseconds
            return ts[0] * 1_000_000_000L + ts[1];
        }
    }

    public void Restart() => _start = Now(threads);

    public (double TotalMilliseconds, int _) Elapsed => ((Now(threads) - _start) / 1e6, 0);
}

internal static class ConvParts
{
    public static int Run(string[] args)
    {
        int threads = 1, repeats = 21;
        int[] panelLimits = [0];
        var shapes = new List<int[]>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--threads") threads = int.Parse(args[++i]);
            else if (args[i] == "--repeats") repeats = int.Parse(args[++i]);
            else if (args[i] == "--kc") panelLimits = [.. args[++i].Split(',').Select(int.Parse)];
            else shapes.Add([.. args[i].Split(',').Select(int.Parse)]);
        }
        Parallelism.SetThreads(threads);
        Console.WriteLine($"{threads} thread(s), {repeats} interleaved repeats, medians of {(threads == 1 ? "thread CPU" : "wall")} time; GEMM provider {Gemm.Provider.Name}: {Gemm.Provider.Describe()}");
        Console.WriteLine("| C,H,W,K,k,s,p | MFLOP | conv ms | GFLOP/s | band rows x cols | im2col ms | band GEMMs ms | GFLOP/s | whole-plane GEMM ms | GFLOP/s |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var s in shapes.Where(s => s.Length == 3))
        {
            // M,N,K: the plain product alone (packing A and B inside), for the peak at that shape.
            int m = s[0], n = s[1], kk = s[2];
            var rng = new Rng(4);
            float[] a = [.. Enumerable.Range(0, m * kk).Select(_ => (float)rng.NextDouble())];
            float[] b = [.. Enumerable.Range(0, kk * n).Select(_ => (float)rng.NextDouble())];
            var c = new float[m * n];
            var t = new[] { new List<double>(), new List<double>() };
            var mg = Gemm.Managed;
            using var packed = mg.TakesPackedPath(false, false, m, n, kk) ? mg.Pack(false, m, kk, a, kk) : null;
            for (int r = 0; r < repeats + 2; r++)
            {
                var sw = new CpuWatch(threads);
                Gemm.Sgemm(false, false, m, n, kk, 1f, a, kk, b, n, 0f, c, n);
                double plain = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                if (packed is not null) mg.SgemmPacked(packed, false, n, 1f, b, n, 0f, c, n);
                if (r >= 2) { t[0].Add(plain); t[1].Add(sw.Elapsed.TotalMilliseconds); }
            }
            double f = 2.0 * m * n * kk / 1e6;
            Console.WriteLine($"| gemm {m}x{n}x{kk} (provider; managed with A packed beforehand) | {f:F1} | | | | | {Median(t[1]):F3} | {f / Median(t[1]):F1} | {Median(t[0]):F3} | {f / Median(t[0]):F1} |");
        }
        foreach (var s in shapes.Where(s => s.Length is 7 or 8))
        {
            int c = s[0], h = s[1], w = s[2], k = s[3], kk = s[4], st = s[5], p = s[6];
            int ho = (h + 2 * p - kk) / st + 1, wo = (w + 2 * p - kk) / st + 1;
            var g = new ConvGeometry(c, h, w, kk, kk, st, st, p, p, 1, 1, ho, wo);
            // An eighth number forces that many output rows per band (on this thread, for the whole Conv2d too).
            if (s.Length == 8 && s[7] > 0)
            {
                Ops.ConvBandElements = 1;
                Ops.ConvMinBandColumns = s[7] * wo;
            }
            else
            {
                Ops.ConvBandElements = 1 << 17;
                Ops.ConvMinBandColumns = (1 << 17) / 512;
            }
            var rng = new Rng(3);
            var x = Tensor.Uniform(rng, [1, c, h, w], -1, 1);
            var wt = Tensor.Uniform(rng, [k, c, kk, kk], -1, 1);
            float[] xa = x.ToArray(), wa = wt.ToArray();
            int rowsPerBand = Ops.BandRowsFor(g);
            int bands = (ho + rowsPerBand - 1) / rowsPerBand;
            var cols = new float[g.Rows * ho * wo];
            var y = new float[k * ho * wo];
            double flops = 2.0 * k * g.Rows * ho * wo;
            var t = new List<double>[4];
            for (int i = 0; i < 4; i++) t[i] = [];
            for (int r = 0; r < repeats + 2; r++)
            {
                var sw = new CpuWatch(threads);
                using (GradMode.NoGrad())
                using (TensorScope.Begin())
                    Ops.Conv2d(x, wt, null, st, st, p, p, 1, 1, 1);
                double conv = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                for (int b = 0; b < bands; b++)
                {
                    int oh0 = b * rowsPerBand, rows = Math.Min(rowsPerBand, ho - oh0);
                    Im2Col.Unfold<float>(xa, g, oh0, rows, cols.AsSpan(oh0 * wo * g.Rows, g.Rows * rows * wo));
                }
                double unfold = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                using (var packed = new ConvWeights<float>(false, k, g.Rows, wa, g.Rows, rowsPerBand * wo, bands + 1))
                    for (int b = 0; b < bands; b++)
                    {
                        int oh0 = b * rowsPerBand, rows = Math.Min(rowsPerBand, ho - oh0);
                        packed.Multiply(wa, g.Rows, rows * wo, cols.AsSpan(oh0 * wo * g.Rows, g.Rows * rows * wo), rows * wo, 0f, y.AsSpan(oh0 * wo), ho * wo);
                    }
                double bandGemm = sw.Elapsed.TotalMilliseconds;
                Im2Col.Unfold<float>(xa, g, 0, ho, cols);
                sw.Restart();
                Gemm.Sgemm(false, false, k, ho * wo, g.Rows, 1f, wa, g.Rows, cols, ho * wo, 0f, y, ho * wo);
                double whole = sw.Elapsed.TotalMilliseconds;
                if (r >= 2) { t[0].Add(conv); t[1].Add(unfold); t[2].Add(bandGemm); t[3].Add(whole); }
            }
            double m0 = Median(t[0]), m1 = Median(t[1]), m2 = Median(t[2]), m3 = Median(t[3]);
            Console.WriteLine($"| {string.Join(",", s)} | {flops / 1e6:F1} | {m0:F3} | {flops / m0 / 1e6:F1} | {rowsPerBand} x {rowsPerBand * wo} ({bands}) | {m1:F3} | {m2:F3} | {flops / m2 / 1e6:F1} | {m3:F3} | {flops / m3 / 1e6:F1} |");
        }
        return 0;
    }

    private static double Median(List<double> v) => OnnxBenchArgs.Median(v);
}
