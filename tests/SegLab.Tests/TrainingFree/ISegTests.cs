// iSeg against the official code (wsss/iSeg.py get_att_map, re-run by tools/iseg_reference.py on seeded random S and
// A0 in the file layout) after K = 1, 3 and 10 and for the base method, and the invariants of issue 20: S = I leaves
// the maps unchanged; lambda = 0, K = 1 with no scaling is the base method (and with the code's column scaling it is
// not); maps stay non-negative with sum 1 after every iteration; a permutation of the tokens commutes with the
// refinement; bad files and tensors are one-line errors naming the tensor and its shape.
using SegLab.Engine;
using SegLab.Engine.Serialization;
using SegLab.TrainingFree;

namespace SegLab.Tests.TrainingFree;

public sealed class ISegTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-iseg-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    internal static string ReferencePath => Path.Combine(TestPaths.SourceDir(), "Fixtures", "iseg", "iseg_reference.safetensors");

    /// <summary>Largest |a - b| relative to the largest |b| of the same class plane, over all classes.</summary>
    internal static double RelativeError(float[] actual, float[] expected, int classes)
    {
        Assert.Equal(expected.Length, actual.Length);
        int plane = expected.Length / classes;
        double worst = 0;
        for (int c = 0; c < classes; c++)
        {
            double scale = 0;
            for (int i = 0; i < plane; i++) scale = Math.Max(scale, Math.Abs(expected[c * plane + i]));
            for (int i = 0; i < plane; i++) worst = Math.Max(worst, Math.Abs(actual[c * plane + i] - expected[c * plane + i]) / Math.Max(scale, 1e-30));
        }
        return worst;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public void Refinement_matches_the_official_code_after_K_iterations(int k)
    {
        var item = AttentionFile.Load(ReferencePath, [1, 2]);
        var reference = SafeTensors.Load(ReferencePath).ToTensors();
        var p = AttentionRefinement.EntSelf(item.SelfAttention, new RefinementOptions { Lambda = 0.015 });
        var maps = AttentionRefinement.Iterate(p, item.CrossAttention, k)[k];
        var planes = ISegRun.Planes(maps, item.GridHeight, item.GridWidth);
        var expected = reference[$"official_k{k}"];
        Assert.Equal(expected.ShapeArray(), planes.ShapeArray());
        double err = RelativeError(planes.ToArray(), expected.ToArray(), expected.Size(0));
        Assert.True(err < 1e-5, $"K = {k}: relative error {err:E2} against the official code");
    }

    [Fact]
    public void Base_method_matches_the_official_base_code()
    {
        var item = AttentionFile.Load(ReferencePath, [1, 2]);
        var expected = SafeTensors.Load(ReferencePath).ToTensors()["official_base"];
        var planes = ISegRun.Planes(AttentionRefinement.Base(item.SelfAttention, item.CrossAttention), item.GridHeight, item.GridWidth);
        double err = RelativeError(planes.ToArray(), expected.ToArray(), expected.Size(0));
        Assert.True(err < 1e-5, $"base: relative error {err:E2} against the official code");
    }

    private static (Tensor S, Tensor A0) Random(int n, int c, int seed)
    {
        var rng = new Random(seed);
        var s = new float[n * n];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++) sum += s[i * n + j] = (float)Math.Exp(2 * rng.NextDouble() * rng.NextDouble() * 3);
            for (int j = 0; j < n; j++) s[i * n + j] = (float)(s[i * n + j] / sum);
        }
        var a = new float[n * c];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
        return (Tensor.FromArray(s, n, n), Tensor.FromArray(a, n, c));
    }

    [Fact]
    public void Identity_attention_leaves_the_maps_unchanged()
    {
        int n = 12, c = 3;
        var (_, a0) = Random(n, c, 1);
        var eye = new float[n * n];
        for (int i = 0; i < n; i++) eye[i * n + i] = 1;
        var steps = AttentionRefinement.Iterate(AttentionRefinement.EntSelf(Tensor.FromArray(eye, n, n)), a0, 10);
        var start = AttentionRefinement.MinSumNormalise(a0).ToArray();
        foreach (var step in steps)
        {
            var v = step.ToArray();
            for (int i = 0; i < v.Length; i++) Assert.Equal(start[i], v[i], 1e-6);
        }
        // and the output maps are those of A0 itself
        var outA0 = AttentionRefinement.ToImageMaps(a0, 3, 4, 6, 8).ToArray();
        var outK = AttentionRefinement.ToImageMaps(steps[^1], 3, 4, 6, 8).ToArray();
        for (int i = 0; i < outA0.Length; i++) Assert.Equal(outA0[i], outK[i], 1e-5);
    }

    [Fact]
    public void Lambda_zero_and_one_iteration_without_scaling_is_the_base_method_and_column_scaling_is_not()
    {
        var (s, a0) = Random(20, 3, 2);
        var baseMaps = AttentionRefinement.ToImageMaps(AttentionRefinement.Base(s, a0), 4, 5, 8, 10).ToArray();
        var plain = AttentionRefinement.Refine(s, a0, new RefinementOptions { Lambda = 0, Iterations = 1, Normalisation = AttentionNormalisation.None });
        var plainMaps = AttentionRefinement.ToImageMaps(plain, 4, 5, 8, 10).ToArray();
        for (int i = 0; i < baseMaps.Length; i++) Assert.Equal(baseMaps[i], plainMaps[i], 1e-5);
        // the official code's column-max scaling re-weights the keys, so even at lambda 0 it differs from the base
        var column = AttentionRefinement.Refine(s, a0, new RefinementOptions { Lambda = 0, Iterations = 1 });
        var columnMaps = AttentionRefinement.ToImageMaps(column, 4, 5, 8, 10).ToArray();
        Assert.True(baseMaps.Zip(columnMaps).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
    }

    [Fact]
    public void Maps_are_non_negative_with_sum_one_after_every_iteration()
    {
        var (s, a0) = Random(30, 4, 3);
        var steps = AttentionRefinement.Iterate(AttentionRefinement.EntSelf(s, new RefinementOptions { Lambda = 0.2 }), a0, 10);
        Assert.Equal(11, steps.Count);
        foreach (var step in steps)
        {
            var a = step.ToArray();
            for (int col = 0; col < 4; col++)
            {
                double sum = 0, min = double.MaxValue;
                for (int i = 0; i < 30; i++) { sum += a[i * 4 + col]; min = Math.Min(min, a[i * 4 + col]); }
                Assert.Equal(1, sum, 5);
                Assert.Equal(0, min, 7);
                Assert.True(min >= 0);
            }
        }
    }

    [Fact]
    public void A_permutation_of_the_tokens_commutes_with_the_refinement()
    {
        int n = 25, c = 3;
        var (s, a0) = Random(n, c, 4);
        var perm = Enumerable.Range(0, n).OrderBy(i => (i * 7919) % 31).ToArray();
        var sa = s.ToArray();
        var aa = a0.ToArray();
        var ps = new float[n * n];
        var pa = new float[n * c];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) ps[i * n + j] = sa[perm[i] * n + perm[j]];
            for (int k = 0; k < c; k++) pa[i * c + k] = aa[perm[i] * c + k];
        }
        var r = AttentionRefinement.Refine(s, a0).ToArray();
        var rp = AttentionRefinement.Refine(Tensor.FromArray(ps, n, n), Tensor.FromArray(pa, n, c)).ToArray();
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++) Assert.Equal(r[perm[i] * c + k], rp[i * c + k], 1e-6);
        Assert.NotEqual(r[perm[1] * c], r[1 * c]); // the permutation moved something
    }

    private string Write(string name, params (string Name, Tensor T)[] tensors)
    {
        string path = Path.Combine(_tmp, name + ".safetensors");
        SafeTensors.Save(path, tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, t.T)));
        return path;
    }

    private static Tensor Grid(int h, int w) => Tensor.FromArray(new double[] { h, w }, 2);

    public static TheoryData<string, string[]> BadFiles => new()
    {
        { "not_square", ["'self_attention'", "[3, 4]"] },
        { "n_differs", ["'cross_attention'", "[5, 2]", "N = 4"] },
        { "negative", ["'self_attention'", "negative", "-0.5"] },
        { "nan", ["'cross_attention'", "non-finite", "NaN"] },
        { "missing", ["'cross_attention'", "missing"] },
        { "grid", ["'grid'", "(3, 3)", "N = 4"] },
        { "head", ["'self_attention'", "head 5", "[2, 4, 4]"] },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Bad_files_are_one_line_errors_naming_the_tensor_and_its_shape(string kind, string[] expected)
    {
        var s4 = Tensor.FromArray(Enumerable.Repeat(0.25f, 16).ToArray(), 4, 4);
        var a4 = Tensor.FromArray(Enumerable.Repeat(0.5f, 8).ToArray(), 4, 2);
        (string, Tensor)[] tensors = kind switch
        {
            "not_square" => [("self_attention", Tensor.Zeros(3, 4)), ("cross_attention", a4), ("grid", Grid(2, 2))],
            "n_differs" => [("self_attention", s4), ("cross_attention", Tensor.Zeros(5, 2)), ("grid", Grid(2, 2))],
            "negative" => [("self_attention", Tensor.FromArray([.. Enumerable.Repeat(0.25f, 15), -0.5f], 4, 4)), ("cross_attention", a4), ("grid", Grid(2, 2))],
            "nan" => [("self_attention", s4), ("cross_attention", Tensor.FromArray([float.NaN, .. Enumerable.Repeat(0.5f, 7)], 4, 2)), ("grid", Grid(2, 2))],
            "missing" => [("self_attention", s4), ("grid", Grid(2, 2))],
            "grid" => [("self_attention", s4), ("cross_attention", a4), ("grid", Grid(3, 3))],
            "head" => [("self_attention", Tensor.FromArray(Enumerable.Repeat(0.25f, 32).ToArray(), 2, 4, 4)), ("cross_attention", a4), ("grid", Grid(2, 2))],
            _ => throw new ArgumentException(kind),
        };
        string path = Write(kind, tensors);
        // grid must be int64: write it as such by rewriting the file with an I64 grid
        path = WithInt64Grid(path);
        var e = Assert.Throws<ArgumentException>(() => AttentionFile.Load(path, kind == "head" ? [5] : null));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(kind + ".safetensors", e.Message);
        foreach (var part in expected) Assert.Contains(part, e.Message);
    }

    [Fact]
    public void A_float_grid_is_an_error_naming_its_type()
    {
        string path = Write("floatgrid", ("self_attention", Tensor.FromArray(Enumerable.Repeat(0.25f, 16).ToArray(), 4, 4)), ("cross_attention", Tensor.Zeros(4, 2)), ("grid", Grid(2, 2)));
        var e = Assert.Throws<ArgumentException>(() => AttentionFile.Load(path));
        Assert.Contains("'grid'", e.Message);
        Assert.Contains("int64", e.Message);
    }

    /// <summary>The engine writes float tensors only; this rewrites the file with `grid` as int64 (safetensors by hand).</summary>
    private static string WithInt64Grid(string path)
    {
        var file = SafeTensors.Load(path);
        var parts = new List<(string Name, string DType, int[] Shape, byte[] Bytes)>();
        foreach (var e in file.Entries)
        {
            if (e.Name == "grid")
            {
                var v = e.ToTensor(DType.Float64).ToArrayF64();
                parts.Add(("grid", "I64", [2], [.. BitConverter.GetBytes((long)v[0]), .. BitConverter.GetBytes((long)v[1])]));
            }
            else parts.Add((e.Name, e.DType.HeaderName(), e.ShapeArray(), e.Bytes.ToArray()));
        }
        long offset = 0;
        var header = new Dictionary<string, object>();
        foreach (var p in parts)
        {
            header[p.Name] = new { dtype = p.DType, shape = p.Shape, data_offsets = new[] { offset, offset + p.Bytes.Length } };
            offset += p.Bytes.Length;
        }
        var json = System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(header));
        string outPath = path.Replace(".safetensors", ".i64.safetensors", StringComparison.Ordinal);
        string finalPath = path;
        using (var fs = File.Create(outPath))
        {
            fs.Write(BitConverter.GetBytes((ulong)json.Length));
            fs.Write(json);
            foreach (var p in parts) fs.Write(p.Bytes);
        }
        File.Move(outPath, finalPath, overwrite: true);
        return finalPath;
    }
}

public sealed class CnnSourceTests
{
    [Fact]
    public void Softmax_affinity_rows_sum_to_one_and_sharpen_as_the_temperature_falls()
    {
        var rng = new Random(5);
        var f = Tensor.FromArray([.. Enumerable.Range(0, 8 * 12).Select(_ => (float)rng.NextDouble())], 8, 3, 4);
        var warm = FeatureAffinity.CosineSoftmax(f, 1).ToArray();
        var cold = FeatureAffinity.CosineSoftmax(f, 0.02).ToArray();
        int n = 12;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(1, warm.Skip(i * n).Take(n).Sum(), 1e-5);
            Assert.Equal(1, cold.Skip(i * n).Take(n).Sum(), 1e-5);
            Assert.True(cold[i * n + i] > warm[i * n + i], $"row {i}: the diagonal share should grow as T falls");
        }
    }

    [Fact]
    public void Area_resize_averages_the_pixels_of_each_cell()
    {
        // [1, 2, 4] -> [1, 1, 2]: each output cell is the mean of two input pixels
        var m = CnnAttentionSource.AreaResize(Tensor.FromArray([1f, 3f, 5f, 7f, 2f, 4f, 6f, 8f], 1, 2, 4), 1, 2).ToArray();
        Assert.Equal([2.5f, 6.5f], m);
    }

    [Fact]
    public void Class_counts_leave_out_ignored_pixels_and_count_unassigned_ones_as_misses()
    {
        // classes 0..1, ignore 255; prediction 255 (unassigned) is a miss of its ground-truth class
        var c = ClassCounts.Of([0, 1, 255, 1], [0, 0, 1, 255], 2, 255);
        Assert.Equal([1L, 0L], c.Tp);
        Assert.Equal([0L, 1L], c.Fp);
        Assert.Equal([1L, 1L], c.Fn);
        Assert.Equal((50.0 + 0.0) / 2, c.MeanIoU(), 9);
    }
}
