// Tests of the dense CRF against a direct O(N^2) mean field on tiny images (float64, exact kernels, the same model:
// symmetric normalisation, self term, Potts weights): the exact Gaussian blur alone, and the permutohedral
// bilateral approximation within the tolerance docs/weak.md states; tags, unaries and errors.
using SegLab.Engine;
using SegLab.Weak;
using Xunit.Abstractions;

namespace SegLab.Tests.Weak;

public sealed class DenseCrfTests
{
    private readonly ITestOutputHelper _out;

    public DenseCrfTests(ITestOutputHelper output) => _out = output;

    // A 3-region image (two colours split by a diagonal, one bright square) and a random 3-label unary.
    private static (float[] Rgb, float[] Unary) Scene(int h, int w, int l, int seed)
    {
        var rng = new Random(seed);
        var rgb = new float[3 * h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = y * w + x;
                bool square = y > h / 4 && y < h / 2 && x > w / 2 && x < 3 * w / 4;
                float[] c = square ? [0.9f, 0.9f, 0.2f] : x > y ? [0.2f, 0.3f, 0.8f] : [0.6f, 0.2f, 0.1f];
                for (int k = 0; k < 3; k++) rgb[k * h * w + p] = Math.Clamp(c[k] + (float)(rng.NextDouble() - 0.5) * 0.1f, 0, 1);
            }
        var u = new float[l * h * w];
        for (int i = 0; i < u.Length; i++) u[i] = (float)(rng.NextDouble() * 2);
        return (rgb, u);
    }

    // Direct mean field: K_ij exact (self included), Kn = D^-1/2 K D^-1/2, Q <- softmax(-U + sum w Kn Q).
    private static double[] Reference(float[] rgb, float[] unary, int l, int h, int w, DenseCrfOptions o)
    {
        int n = h * w;
        var kernels = new List<(double W, double[] K)>();
        if (o.GaussianCompat > 0) kernels.Add((o.GaussianCompat, Kernel(rgb, h, w, o.GaussianSxy, null)));
        if (o.BilateralCompat > 0) kernels.Add((o.BilateralCompat, Kernel(rgb, h, w, o.BilateralSxy, o.BilateralSrgb)));
        var q = Softmax(unary.Select(v => -(double)v).ToArray(), l, n);
        for (int it = 0; it < o.Iterations; it++)
        {
            var s = unary.Select(v => -(double)v).ToArray();
            foreach (var (wt, k) in kernels)
                for (int c = 0; c < l; c++)
                    for (int i = 0; i < n; i++)
                    {
                        double m = 0;
                        for (int j = 0; j < n; j++) m += k[i * n + j] * q[c * n + j];
                        s[c * n + i] += wt * m;
                    }
            q = Softmax(s, l, n);
        }
        return q;
    }

    private static double[] Kernel(float[] rgb, int h, int w, double sxy, double? srgb)
    {
        int n = h * w;
        var k = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double dy = i / w - j / w, dx = i % w - j % w, e = (dx * dx + dy * dy) / (2 * sxy * sxy);
                if (srgb is { } sr)
                    for (int c = 0; c < 3; c++)
                    {
                        double d = 255.0 * (rgb[c * n + i] - rgb[c * n + j]);
                        e += d * d / (2 * sr * sr);
                    }
                k[i * n + j] = Math.Exp(-e);
            }
        var norm = new double[n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) norm[i] += k[i * n + j];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) k[i * n + j] /= Math.Sqrt(norm[i] * norm[j]);
        return k;
    }

    private static double[] Softmax(double[] s, int l, int n)
    {
        var q = new double[s.Length];
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int c = 0; c < l; c++) max = Math.Max(max, s[c * n + i]);
            for (int c = 0; c < l; c++) sum += q[c * n + i] = Math.Exp(s[c * n + i] - max);
            for (int c = 0; c < l; c++) q[c * n + i] /= sum;
        }
        return q;
    }

    private static (double MaxDiff, double LabelAgreement) Compare(float[] q, double[] reference, int l, int n)
    {
        double diff = 0;
        int same = 0;
        for (int i = 0; i < q.Length; i++) diff = Math.Max(diff, Math.Abs(q[i] - reference[i]));
        for (int i = 0; i < n; i++)
        {
            int a = 0, b = 0;
            for (int c = 1; c < l; c++)
            {
                if (q[c * n + i] > q[a * n + i]) a = c;
                if (reference[c * n + i] > reference[b * n + i]) b = c;
            }
            if (a == b) same++;
        }
        return (diff, (double)same / n);
    }

    [Theory]
    [InlineData(6.0, 1e-4)]  // truncation negligible: the blur is the exact Gaussian
    [InlineData(3.0, 1e-3)]  // the default truncation at 3 sxy (measured 1.2e-4)
    public void Zero_bilateral_weight_is_gaussian_mean_field(double truncate, double tolerance)
    {
        int h = 9, w = 11, l = 3;
        var (rgb, u) = Scene(h, w, l, 1);
        var o = new DenseCrfOptions { GaussianSxy = 1.5, GaussianCompat = 3, BilateralCompat = 0, Truncate = truncate, Iterations = 5 };
        var q = DenseCrf.Infer(Tensor.FromArray(rgb, 3, h, w), Tensor.FromArray(u, l, h, w), o).ToArray();
        var (diff, _) = Compare(q, Reference(rgb, u, l, h, w, o), l, h * w);
        _out.WriteLine($"truncate {truncate}: max |Q - Q_ref| = {diff:E2}");
        Assert.True(diff < tolerance, $"max difference {diff}");
        // and the pairwise term does something: Q is not the unary's softmax
        var q0 = DenseCrf.Infer(Tensor.FromArray(rgb, 3, h, w), Tensor.FromArray(u, l, h, w), o with { Iterations = 0 }).ToArray();
        Assert.True(q.Zip(q0).Max(p => Math.Abs(p.First - p.Second)) > 0.1);
    }

    [Fact]
    public void Permutohedral_bilateral_mean_field_is_close_to_the_exact_one()
    {
        int h = 14, w = 18, l = 3;
        var (rgb, u) = Scene(h, w, l, 2);
        var o = new DenseCrfOptions { GaussianCompat = 3, GaussianSxy = 1, BilateralSxy = 6, BilateralSrgb = 20, BilateralCompat = 5, Iterations = 5, Truncate = 6 };
        var q = DenseCrf.Infer(Tensor.FromArray(rgb, 3, h, w), Tensor.FromArray(u, l, h, w), o).ToArray();
        var (diff, agree) = Compare(q, Reference(rgb, u, l, h, w, o), l, h * w);
        _out.WriteLine($"bilateral: max |Q - Q_ref| = {diff:E2}, label agreement {agree:P1}");
        Assert.True(diff < 0.15, $"max difference {diff}");
        Assert.True(agree >= 0.97, $"label agreement {agree}");
    }

    [Fact]
    public void Lattice_filter_approximates_the_gaussian_sum_within_a_few_percent_after_normalisation()
    {
        var rng = new Random(3);
        int n = 300, d = 5;
        var f = new float[n * d];
        for (int i = 0; i < f.Length; i++) f[i] = (float)(rng.NextDouble() * 3);
        var lattice = new PermutohedralLattice(f, n, d);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)rng.NextDouble();
        var ones = Enumerable.Repeat(1f, n).ToArray();
        float[] fv = new float[n], f1 = new float[n], b1 = new float[(lattice.Vertices + 1)], b2 = new float[(lattice.Vertices + 1)];
        lattice.Filter(v, fv, 0, 1, b1, b2, new float[n]);
        lattice.Filter(ones, f1, 0, 1, b1, b2, new float[n]);
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            double num = 0, den = 0;
            for (int j = 0; j < n; j++)
            {
                double e = 0;
                for (int k = 0; k < d; k++) e += (f[i * d + k] - f[j * d + k]) * (f[i * d + k] - f[j * d + k]);
                num += Math.Exp(-e / 2) * v[j];
                den += Math.Exp(-e / 2);
            }
            worst = Math.Max(worst, Math.Abs(fv[i] / f1[i] - num / den));
        }
        _out.WriteLine($"lattice: max |normalised filter - exact weighted mean| = {worst:E2}");
        Assert.True(worst < 0.05, $"worst {worst}");
    }

    [Fact]
    public void Untagged_classes_stay_zero_and_never_win()
    {
        int h = 10, w = 12;
        var (rgb, _) = Scene(h, w, 1, 4);
        var rng = new Random(5);
        var cams = new float[4 * h * w];
        for (int i = 0; i < cams.Length; i++) cams[i] = (float)rng.NextDouble();
        cams.AsSpan(1 * h * w, h * w).Fill(1); // class 1: certain everywhere, but not tagged
        var r = DenseCrf.RefineCams(Tensor.FromArray(rgb, 3, h, w), Tensor.FromArray(cams, 4, h, w), [0, 2], BackgroundRule.Power(4), 255, DenseCrfOptions.Psa);
        var p = r.Probabilities.ToArray();
        Assert.All(p.AsSpan(h * w, h * w).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(p.AsSpan(3 * h * w, h * w).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(r.Labels, l => Assert.Contains(l, new byte[] { 0, 2, 255 }));
        var labels = r.Labels.Select(l => l == 255 ? (byte)255 : l).ToArray();
        var r2 = DenseCrf.RefineLabels(Tensor.FromArray(rgb, 3, h, w), labels, 4, [0, 2], 255, DenseCrfOptions.Irn);
        Assert.All(r2.Labels, l => Assert.Contains(l, new byte[] { 0, 2, 255 }));
        labels[7] = 1;
        Assert.Contains("label 1 at pixel 7", Assert.Throws<ArgumentException>(() => DenseCrf.RefineLabels(Tensor.FromArray(rgb, 3, h, w), labels, 4, [0, 2], 255)).Message);
    }

    [Fact]
    public void Unaries_follow_pydensecrf()
    {
        var u = DenseCrf.UnaryFromLabels([0, 2], 1, 2, 3).ToArray(); // [3 labels][2 pixels]
        float sure = (float)-Math.Log(0.7), other = (float)-Math.Log(0.3 / 2);
        Assert.Equal(new[] { sure, other, other, other, other, sure }, u);
        var p = DenseCrf.UnaryFromProbabilities(Tensor.FromArray([0.5f, 0f], 1, 1, 2)).ToArray();
        Assert.Equal(-Math.Log(0.5), p[0], 5);
        Assert.Equal(-Math.Log(1e-5), p[1], 3);
    }

    [Fact]
    public void Without_pairwise_weights_q_is_the_unarys_softmax()
    {
        var (rgb, u) = Scene(5, 6, 2, 6);
        var q = DenseCrf.Infer(Tensor.FromArray(rgb, 3, 5, 6), Tensor.FromArray(u, 2, 5, 6), new DenseCrfOptions { GaussianCompat = 0, BilateralCompat = 0 }).ToArray();
        for (int i = 0; i < 30; i++) Assert.Equal(1 / (1 + Math.Exp(u[i] - u[30 + i])), q[i], 5);
    }

    [Fact]
    public void Shape_mismatches_and_bad_settings_name_the_problem()
    {
        var rgb = Tensor.Zeros(3, 4, 5);
        Assert.Contains("[L, 4, 5]", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, Tensor.Zeros(2, 4, 6))).Message);
        Assert.Contains("[3, H, W]", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(Tensor.Zeros(1, 4, 5), Tensor.Zeros(2, 4, 5))).Message);
        Assert.Contains("19 labels for a 4x5", Assert.Throws<ArgumentException>(() => DenseCrf.UnaryFromLabels(new int[19], 4, 5, 2)).Message);
        Assert.Contains("gt_prob", Assert.Throws<ArgumentException>(() => DenseCrf.UnaryFromLabels(new int[20], 4, 5, 2, 1.0)).Message);
        Assert.Contains("outside [0, 2)", Assert.Throws<ArgumentException>(() => DenseCrf.UnaryFromLabels(Enumerable.Repeat(2, 20).ToArray(), 4, 5, 2)).Message);
        Assert.Contains("bilateral srgb", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, Tensor.Zeros(2, 4, 5), new DenseCrfOptions { BilateralSrgb = 0 })).Message);
        Assert.Contains("background label 2 is also a tagged class", Assert.Throws<ArgumentException>(() => DenseCrf.RefineLabels(rgb, new byte[20], 3, [0, 2], 2)).Message);
        Assert.Contains("tagged class 7", Assert.Throws<ArgumentException>(() => DenseCrf.RefineCams(rgb, Tensor.Zeros(3, 4, 5), [7], BackgroundRule.Constant(), 255)).Message);
    }
}
