using SegLab.Engine.Linalg;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Tests.Linalg;

[Collection("EngineThreads")]
public class GemmTests
{
    /// <summary>Every provider that can run here: managed always, OpenBLAS where libopenblas.so.0 loads.</summary>
    public static TheoryData<string> Providers()
    {
        var d = new TheoryData<string> { "managed" };
        if (Gemm.OpenBlas is not null) d.Add("openblas");
        return d;
    }

    private static IGemmProvider Get(string name) => name == "managed" ? Gemm.Managed : Gemm.OpenBlas!;

    public static TheoryData<string, int, int, int, bool, bool> Cases()
    {
        var d = new TheoryData<string, int, int, int, bool, bool>();
        int[][] sizes = [[1, 1, 1], [7, 7, 7], [33, 33, 33], [129, 129, 129], [1, 129, 7], [65, 3, 200], [200, 65, 3], [130, 260, 530], [6, 16, 1]];
        foreach (var p in new[] { "managed", "openblas" })
            foreach (var s in sizes)
                foreach (var ta in new[] { false, true })
                    foreach (var tb in new[] { false, true })
                        d.Add(p, s[0], s[1], s[2], ta, tb);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sgemm_matches_a_double_reference(string provider, int m, int n, int k, bool ta, bool tb)
    {
        if (provider == "openblas" && Gemm.OpenBlas is null) return; // provider absent: the managed rows still run
        var rng = new Rng(m * 1000003 + n * 1009 + k + (ta ? 7 : 0) + (tb ? 13 : 0));
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
        var a = Rand(rng, (ta ? k : m) * lda);
        var b = Rand(rng, (tb ? n : k) * ldb);
        var c0 = Rand(rng, m * ldc);
        foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f), (-2f, 0.5f) })
        {
            var c = (float[])c0.Clone();
            Get(provider).Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double x = ta ? a[p * lda + i] : a[i * lda + p];
                        double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                        s += x * y;
                        mag += Math.Abs(x * y);
                    }
                    double expected = alpha * s + beta * c0[i * ldc + j];
                    double tol = 1e-6 * (Math.Abs(alpha) * mag + Math.Abs(beta * c0[i * ldc + j])) * Math.Sqrt(k) + 1e-6;
                    Assert.True(Math.Abs(c[i * ldc + j] - expected) <= tol, $"{provider} {m}x{n}x{k} ta={ta} tb={tb} alpha={alpha} beta={beta} at ({i},{j}): {c[i * ldc + j]} vs {expected}");
                }
            // padding between rows of C is untouched
            for (int i = 0; i < m; i++)
                for (int j = n; j < ldc; j++)
                    Assert.Equal(c0[i * ldc + j], c[i * ldc + j]);
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Beta_zero_ignores_nan_in_c(string provider)
    {
        int m = 40, n = 50, k = 30;
        var rng = new Rng(5);
        var a = Rand(rng, m * k);
        var b = Rand(rng, k * n);
        var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
        Get(provider).Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
        Assert.All(c, v => Assert.False(float.IsNaN(v)));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Zero_k_scales_c_by_beta(string provider)
    {
        var c = new float[] { 1, 2, 3, 4 };
        Get(provider).Sgemm(false, false, 2, 2, 0, 1, [], 1, [], 2, 0.5f, c, 2);
        Assert.Equal(new float[] { 0.5f, 1, 1.5f, 2 }, c);
    }

    [Fact]
    public void Managed_result_does_not_depend_on_the_thread_count()
    {
        int m = 300, n = 700, k = 600;
        var rng = new Rng(9);
        var a = Rand(rng, m * k);
        var b = Rand(rng, k * n);
        var c1 = new float[m * n];
        var c2 = new float[m * n];
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(1);
            Gemm.Managed.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c1, n);
            Parallelism.SetThreads(2);
            Gemm.Managed.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c2, n);
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
        Assert.Equal(c1, c2);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_a_message()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Managed.Sgemm(false, false, 4, 4, 4, 1, new float[15], 4, new float[16], 4, 0, new float[16], 4));
        Assert.Contains("A", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Gemm.Managed.Sgemm(false, false, 4, 4, 4, 1, new float[16], 3, new float[16], 4, 0, new float[16], 4));
        Assert.Throws<ArgumentException>(() => Gemm.Managed.Sgemm(false, false, -1, 4, 4, 1, new float[16], 4, new float[16], 4, 0, new float[16], 4));
    }

    [Fact]
    public void Provider_selection_follows_the_setting()
    {
        Assert.Same(Gemm.Managed, Gemm.Select("managed"));
        Assert.Same((IGemmProvider?)Gemm.OpenBlas ?? Gemm.Managed, Gemm.Select("auto"));
        Assert.Same((IGemmProvider?)Gemm.OpenBlas ?? Gemm.Managed, Gemm.Select(null));
        var e = Assert.Throws<InvalidOperationException>(() => Gemm.Select("mkl"));
        Assert.Contains("SEGLAB_BLAS", e.Message, StringComparison.Ordinal);
        if (Gemm.OpenBlas is null)
            Assert.Contains("libopenblas0-pthread", Assert.Throws<InvalidOperationException>(() => Gemm.Select("openblas")).Message, StringComparison.Ordinal);
        else
            Assert.Same(Gemm.OpenBlas, Gemm.Select("openblas"));
    }

    [Fact]
    public void Dgemm_matches_a_naive_product()
    {
        var rng = new Rng(3);
        int m = 5, n = 7, k = 9;
        var a = Enumerable.Range(0, k * m).Select(_ => rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, n * k).Select(_ => rng.NextDouble()).ToArray();
        var c = new double[m * n];
        Gemm.Dgemm(true, true, m, n, k, 2, a, m, b, k, 0, c, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[p * m + i] * b[j * k + p];
                Assert.Equal(2 * s, c[i * n + j], 12);
            }
    }

    [Fact]
    public void Bench_reports_every_provider_size_and_thread_count()
    {
        var records = GemmBench.Run([64], [1, 2]);
        int providers = Gemm.OpenBlas is null ? 1 : 2;
        Assert.Equal(providers * 2, records.Count);
        Assert.All(records, r => Assert.True(r.Gflops > 0 && r.MedianMs > 0));
    }

    private static float[] Rand(Rng rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
