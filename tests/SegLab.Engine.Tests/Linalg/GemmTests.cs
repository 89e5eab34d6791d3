using SegLab.Engine.Linalg;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Tests.Linalg;

[Collection("EngineThreads")]
public class GemmTests
{
    private static readonly ManagedGemm s_managedAvx2 = new(wide: false);
    private static readonly ManagedGemm? s_managedAvx512 = ManagedGemmKernels.Wide512Supported ? new(wide: true) : null;

    /// <summary>
    /// The providers that can run here: the managed 6x16 kernel always, its 8x32 AVX-512 kernel where the processor
    /// has AVX-512, OpenBLAS only where libopenblas.so.0 loads.
    /// </summary>
    private static IEnumerable<string> Available()
    {
        yield return "managed";
        if (s_managedAvx512 is not null) yield return "managed-avx512";
        if (Gemm.OpenBlas is not null) yield return "openblas";
    }

    public static TheoryData<string> Providers() => new(Available());

    private static IGemmProvider Get(string name) => name switch
    {
        "managed" => s_managedAvx2,
        "managed-avx512" => s_managedAvx512 ?? throw new InvalidOperationException("the AVX-512 kernel was listed but is not supported"),
        "openblas" => Gemm.OpenBlas ?? throw new InvalidOperationException("OpenBLAS was listed but does not load"),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    private static readonly int[][] s_sizes =
    [
        [1, 1, 1], [7, 7, 7], [33, 33, 33], [129, 129, 129], [1, 129, 7], [129, 1, 7], [65, 3, 200], [200, 65, 3],
        [6, 16, 1], [6, 16, 400], [130, 260, 530], [7, 4100, 40], [20, 1500, 300],
        [300, 500, 600], [600, 200, 300], // split over threads: by columns (n >= m) and by rows (OpenBLAS's bands)
        [13, 147, 531], [32, 9, 1029], [4, 200, 512], // A B^T with few rows and a long k: the managed dot products
    ];

    public static TheoryData<string, int, int, int, bool, bool> Cases()
    {
        var d = new TheoryData<string, int, int, int, bool, bool>();
        foreach (var p in Available())
            foreach (var s in s_sizes)
                foreach (var ta in new[] { false, true })
                    foreach (var tb in new[] { false, true })
                        d.Add(p, s[0], s[1], s[2], ta, tb);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sgemm_matches_a_double_reference(string provider, int m, int n, int k, bool ta, bool tb)
    {
        var rng = new Rng(m * 1000003 + n * 1009 + k + (ta ? 7 : 0) + (tb ? 13 : 0));
        // Leading dimensions larger than the minimum; the padding must be neither read into C nor written.
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
        var a = Rand(rng, (ta ? k : m) * lda);
        var b = Rand(rng, (tb ? n : k) * ldb);
        var c0 = Rand(rng, m * ldc);
        var (exact, mag) = Reference(ta, tb, m, n, k, a, lda, b, ldb);
        var cNan = Enumerable.Repeat(float.NaN, m * ldc).ToArray();
        int saved = Parallelism.Threads;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.SetThreads(threads);
                foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f), (-2f, 0.5f), (1.5f, 0f) })
                {
                    // beta 0 must ignore C's old contents even when they are NaN
                    var start = beta == 0 && alpha != 1 ? cNan : c0;
                    var c = (float[])start.Clone();
                    Get(provider).Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                    string what = $"{provider} {m}x{n}x{k} ta={ta} tb={tb} alpha={alpha} beta={beta} threads={threads}";
                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            double old = beta == 0 ? 0 : start[i * ldc + j];
                            double expected = alpha * exact[i * n + j] + beta * old;
                            // float32 products and sums: relative error about 1e-7 per operation, growing like sqrt(k)
                            double tol = 2e-6 * (Math.Abs(alpha) * mag[i * n + j] + Math.Abs(beta * old)) * Math.Sqrt(k) + 1e-6;
                            float got = c[i * ldc + j];
                            if (!(Math.Abs(got - expected) <= tol))
                                Assert.Fail($"{what} at ({i},{j}): {got} vs {expected} (tolerance {tol:G3})");
                        }
                        for (int j = n; j < ldc; j++)
                            Assert.Equal(start[i * ldc + j], c[i * ldc + j]);
                    }
                }
            }
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Beta_zero_ignores_nan_in_c(string provider)
    {
        foreach (var (m, n, k) in new[] { (5, 6, 7), (40, 50, 30), (300, 200, 300) })
        {
            var rng = new Rng(5);
            var a = Rand(rng, m * k);
            var b = Rand(rng, k * n);
            var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
            Get(provider).Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
            Assert.All(c, v => Assert.True(float.IsFinite(v)));
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Nan_in_a_or_b_propagates(string provider)
    {
        foreach (var (m, n, k) in new[] { (5, 6, 7), (100, 100, 100) })
        {
            var a = new float[m * k];
            var b = Enumerable.Repeat(1f, k * n).ToArray();
            b[3 * n + 2] = float.NaN; // row 3 of B meets column 3 of A, which is all zeros
            var c = new float[m * n];
            Get(provider).Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
            for (int i = 0; i < m; i++)
            {
                Assert.True(float.IsNaN(c[i * n + 2]), $"{provider} {m}x{n}x{k}: 0 * NaN must be NaN at ({i},2)");
                Assert.Equal(0f, c[i * n + 1]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Zero_k_scales_c_by_beta(string provider)
    {
        var c = new float[] { 1, 2, 3, 4 };
        Get(provider).Sgemm(false, false, 2, 2, 0, 1, [], 1, [], 2, 0.5f, c, 2);
        Assert.Equal(new float[] { 0.5f, 1, 1.5f, 2 }, c);
        var d = new float[] { float.NaN, 2, 3, float.NaN };
        Get(provider).Sgemm(false, false, 2, 2, 0, 1, [], 1, [], 2, 0f, d, 2);
        Assert.Equal(new float[4], d);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Empty_products_leave_c_alone(string provider)
    {
        var c = new float[] { 1, 2, 3 };
        Get(provider).Sgemm(false, false, 0, 3, 4, 1, [], 4, new float[12], 3, 0, c, 3);
        Get(provider).Sgemm(false, false, 1, 0, 4, 1, new float[4], 4, [], 1, 0, c, 3);
        Assert.Equal(new float[] { 1, 2, 3 }, c);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Describe_names_the_configuration_and_threads(string provider)
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(2);
            var p = Get(provider);
            Assert.Equal(provider.Split('-')[0], p.Name);
            string text = p.Describe();
            if (p is OpenBlasGemm ob)
            {
                Assert.Contains("OpenBLAS", text, StringComparison.Ordinal);
                Assert.Contains("up to 2 bands", text, StringComparison.Ordinal);
                Assert.Equal(1, ob.NativeThreads); // the engine's workers split products; OpenBLAS itself never threads
                Parallelism.SetThreads(1);
                Assert.Equal(1, ob.NativeThreads);
            }
            else
            {
                Assert.Contains("2 thread(s)", text, StringComparison.Ordinal);
                Assert.Contains(provider == "managed" ? "6x16 AVX2" : "8x32 AVX-512", text, StringComparison.Ordinal);
                Assert.Contains("KC", text, StringComparison.Ordinal);
            }
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Theory]
    [InlineData(300, 700, 600, false, true)]
    [InlineData(20, 6000, 600, false, false)] // one A block: column slices appear only with several threads
    [InlineData(1000, 160, 530, true, false)]
    [InlineData(16, 150, 1000, false, true)] // dot products, column blocks over the threads
    public void Managed_result_does_not_depend_on_the_thread_count(int m, int n, int k, bool ta, bool tb)
    {
        var rng = new Rng(9);
        var a = Rand(rng, m * k);
        var b = Rand(rng, k * n);
        int lda = ta ? m : k, ldb = tb ? k : n;
        int saved = Parallelism.Threads;
        try
        {
            foreach (var provider in Available().Where(p => p.StartsWith("managed", StringComparison.Ordinal)))
            {
                var results = new List<float[]>();
                foreach (int t in new[] { 1, 2, 3, 5 })
                {
                    Parallelism.SetThreads(t);
                    var c = new float[m * n];
                    Get(provider).Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
                    results.Add(c);
                }
                foreach (var r in results.Skip(1)) Assert.Equal(results[0], r);
            }
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Theory]
    [InlineData(130, 260, 530, false)] // several KC panels, an edge MC block and edge slivers
    [InlineData(130, 260, 530, true)]
    [InlineData(300, 70, 600, false)] // several MC blocks
    [InlineData(16, 64, 1152, true)] // DeepLabV3's 8x8 planes: a short A, few columns, deep k
    [InlineData(7, 4100, 40, false)] // several NC blocks of B
    public void Packed_a_gives_the_same_bits_as_the_plain_product(int m, int n, int k, bool ta)
    {
        var rng = new Rng(m + 31 * n + 7 * k);
        int lda = (ta ? m : k) + 3, ldc = n + 1;
        var a = Rand(rng, (ta ? k : m) * lda);
        int saved = Parallelism.Threads;
        try
        {
            foreach (var provider in Available().Where(p => p.StartsWith("managed", StringComparison.Ordinal)))
            {
                var gemm = (ManagedGemm)Get(provider);
                Assert.True(gemm.TakesPackedPath(ta, false, m, n, k), $"{provider} {m}x{n}x{k} should take the packed path");
                using var packed = gemm.Pack(ta, m, k, a, lda);
                foreach (bool tb in new[] { false, true })
                {
                    int ldb = (tb ? k : n) + 2;
                    var b = Rand(rng, (tb ? n : k) * ldb);
                    if (!gemm.TakesPackedPath(false, tb, m, n, k)) continue;
                    foreach (var (alpha, beta) in new[] { (1f, 0f), (-0.5f, 1.25f) })
                        foreach (int threads in new[] { 1, 2 })
                        {
                            Parallelism.SetThreads(threads);
                            var c0 = Rand(rng, m * ldc);
                            var plain = (float[])c0.Clone();
                            var fromPacked = (float[])c0.Clone();
                            gemm.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, plain, ldc);
                            gemm.SgemmPacked(packed, tb, n, alpha, b, ldb, beta, fromPacked, ldc);
                            Assert.Equal(plain, fromPacked);
                        }
                }
            }
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    [Fact]
    public void Packed_a_is_refused_where_it_does_not_fit()
    {
        var a = new float[64 * 64];
        using var packed = s_managedAvx2.Pack(false, 64, 64, a, 64);
        // B too short for k x n, another provider's packing, a product that takes the direct loops
        var e = Assert.Throws<ArgumentException>(() => s_managedAvx2.SgemmPacked(packed, false, 64, 1, new float[64 * 63], 64, 0, new float[64 * 64], 64));
        Assert.Contains("B", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ManagedGemm(wide: false).SgemmPacked(packed, false, 64, 1, new float[64 * 64], 64, 0, new float[64 * 64], 64));
        Assert.Throws<ArgumentException>(() => s_managedAvx2.SgemmPacked(packed, false, 2, 1, new float[64 * 2], 2, 0, new float[64 * 2], 2));
        Assert.Throws<ArgumentException>(() => s_managedAvx2.Pack(false, 64, 64, new float[64 * 63], 64));
    }

    [Fact]
    public void Bad_arguments_are_refused_with_a_message()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Managed.Sgemm(false, false, 4, 4, 4, 1, new float[15], 4, new float[16], 4, 0, new float[16], 4));
        Assert.Contains("A", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Gemm.Managed.Sgemm(false, false, 4, 4, 4, 1, new float[16], 3, new float[16], 4, 0, new float[16], 4));
        Assert.Throws<ArgumentException>(() => Gemm.Managed.Sgemm(false, false, -1, 4, 4, 1, new float[16], 4, new float[16], 4, 0, new float[16], 4));
        Assert.Throws<ArgumentException>(() => Gemm.Managed.Sgemm(false, false, 4, 4, 4, 1, new float[16], 4, new float[16], 4, 0, new float[15], 4));
    }

    [Fact]
    public void Provider_selection_follows_the_setting()
    {
        Assert.Same(Gemm.Managed, Gemm.Select("managed"));
        Assert.Same(Gemm.Managed, Gemm.Select(" Managed "));
        // auto: OpenBLAS, unless only the managed provider has AVX-512 kernels here
        IGemmProvider expected = Gemm.OpenBlas is { } ob && !(Gemm.Managed.Wide && !ob.UsesAvx512Kernels) ? ob : Gemm.Managed;
        Assert.Same(expected, Gemm.Select("auto"));
        Assert.Same(expected, Gemm.Select(null));
        Assert.Same(expected, Gemm.Select(""));
        Assert.Equal(ManagedGemmKernels.Wide512Supported, Gemm.Managed.Wide);
        if (Gemm.OpenBlas is { } blas)
        {
            Assert.False(string.IsNullOrWhiteSpace(blas.CoreName));
            Assert.Contains(blas.CoreName, blas.Describe(), StringComparison.OrdinalIgnoreCase);
        }
        var e = Assert.Throws<InvalidOperationException>(() => Gemm.Select("mkl"));
        Assert.Contains("SEGLAB_BLAS", e.Message, StringComparison.Ordinal);
        Assert.Contains("'mkl'", e.Message, StringComparison.Ordinal);
        Assert.Contains("auto, managed, openblas", e.Message, StringComparison.Ordinal);
        if (Gemm.OpenBlas is null)
            Assert.Contains("libopenblas0-pthread", Assert.Throws<InvalidOperationException>(() => Gemm.Select("openblas")).Message, StringComparison.Ordinal);
        else
            Assert.Same(Gemm.OpenBlas, Gemm.Select("openblas"));
    }

    [Fact]
    public void TryCreate_agrees_with_the_cached_provider()
    {
        var fresh = OpenBlasGemm.TryCreate();
        Assert.Equal(Gemm.OpenBlas is null, fresh is null);
        var again = OpenBlasGemm.TryCreate(out string? why);
        Assert.Equal(again is null, why is not null);
    }

    [Fact]
    public void Sgemm_goes_through_the_chosen_provider()
    {
        var saved = Gemm.Provider;
        try
        {
            var spy = new SpyProvider();
            Gemm.Provider = spy;
            Gemm.Sgemm(false, false, 1, 1, 1, 1, [2f], 1, [3f], 1, 0, new float[1], 1);
            Assert.Equal(1, spy.Calls);
            Assert.Throws<ArgumentNullException>(() => Gemm.Provider = null!);
            Assert.Same(spy, Gemm.Provider);
        }
        finally
        {
            Gemm.Provider = saved;
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Dgemm_matches_a_naive_product(bool ta, bool tb)
    {
        var rng = new Rng(3);
        int m = 5, n = 7, k = 9, lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
        var a = Enumerable.Range(0, (ta ? k : m) * lda).Select(_ => rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, (tb ? n : k) * ldb).Select(_ => rng.NextDouble()).ToArray();
        var c0 = Enumerable.Range(0, m * ldc).Select(_ => rng.NextDouble()).ToArray();
        foreach (var (alpha, beta) in new[] { (2.0, 0.0), (0.5, 1.0), (-1.0, 0.25) })
        {
            var c = (double[])c0.Clone();
            if (beta == 0) Array.Fill(c, double.NaN);
            Gemm.Dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    double expected = alpha * s + (beta == 0 ? 0 : beta * c0[i * ldc + j]);
                    Assert.Equal(expected, c[i * ldc + j], 12);
                }
        }
    }

    [Fact]
    public void Bench_reports_every_provider_size_and_thread_count()
    {
        int saved = Parallelism.Threads;
        var lines = new List<string>();
        var records = GemmBench.Run([16, 64], [1, 2], new SyncProgress(lines));
        Assert.Equal(saved, Parallelism.Threads);
        // the bench times the provider each name selects: managed (its widest kernel) and OpenBLAS where it loads
        var expected = Available().Where(p => p != "managed-avx512").SelectMany(p => new[] { 1, 2 }.SelectMany(t => new[] { 16, 64 }.Select(s => (p, s, t)))).Order();
        Assert.Equal(expected, records.Select(r => (r.Provider, r.Size, r.Threads)).Order());
        Assert.All(records, r => Assert.True(r.Gflops > 0 && r.MedianMs > 0 && r.Repeats >= GemmBench.MinRepeats, r.ToString()));
        Assert.Equal(4, lines.Count);
        Assert.Throws<ArgumentException>(() => GemmBench.Run([0], [1]));
        Assert.Throws<ArgumentException>(() => GemmBench.Run([8], [0]));
    }

    /// <summary>The exact product in float64 and the sum of |terms| (the scale of its rounding error), m x n.</summary>
    private static (double[] Exact, double[] Magnitude) Reference(bool ta, bool tb, int m, int n, int k, float[] a, int lda, float[] b, int ldb)
    {
        var exact = new double[m * n];
        var mag = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, g = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = ta ? a[p * lda + i] : a[i * lda + p];
                    double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                    s += x * y;
                    g += Math.Abs(x * y);
                }
                exact[i * n + j] = s;
                mag[i * n + j] = g;
            }
        return (exact, mag);
    }

    private static float[] Rand(Rng rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    private sealed class SpyProvider : IGemmProvider
    {
        public int Calls { get; private set; }

        public string Name => "spy";

        public string Describe() => "spy";

        public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) => Calls++;
    }

    private sealed class SyncProgress(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}
