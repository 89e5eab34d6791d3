namespace SegLab.Engine.Tests;


public class TensorTests
{
    [Fact]
    public void Factories_fill_as_asked()
    {
        Assert.All(Tensor.Zeros(2, 3).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(Tensor.Ones(4).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Tensor.Full(2.5f, 2, 2).ToArray(), v => Assert.Equal(2.5f, v));
        Assert.Equal(new float[] { 0, 1, 2, 3 }, Tensor.Arange(4).ToArray());
        Assert.Equal(new float[] { 1, 1.5f, 2, 2.5f }, Tensor.Arange(1, 3, 0.5).ToArray());
        Assert.Equal(DType.Float64, Tensor.Zeros(DType.Float64, 3).DType);
        Assert.Equal(0, Tensor.Scalar(3).Rank);
        Assert.Equal(3.0, Tensor.Scalar(3).Item());
    }

    [Fact]
    public void Seeded_samples_repeat_and_have_the_right_moments()
    {
        var a = Tensor.Normal([100_000], 1, 2, 42);
        var b = Tensor.Normal([100_000], 1, 2, 42);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), Tensor.Normal([100_000], 1, 2, 43).ToArray());
        double mean = a.ToArray().Average(v => (double)v);
        double std = Math.Sqrt(a.ToArray().Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, 0.97, 1.03);
        Assert.InRange(std, 1.97, 2.03);
        var u = Tensor.Uniform([100_000], -1, 3, 7).ToArray();
        Assert.InRange(u.Min(), -1f, -0.99f);
        Assert.InRange(u.Max(), 2.99f, 3f);
        Assert.InRange(u.Average(v => (double)v), 0.98, 1.02);
    }

    [Fact]
    public void Rng_state_round_trips()
    {
        var r = new Rng(9);
        r.NextUInt64();
        var state = r.GetState();
        var x = r.NextDouble();
        var r2 = new Rng(0);
        r2.SetState(state);
        Assert.Equal(x, r2.NextDouble());
    }

    [Fact]
    public void Reshape_is_a_view_and_indexing_is_row_major()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal(5.0, x[1, 2]);
        Assert.Equal(3.0, x[-1, 0]);
        var v = x.Reshape(3, 2);
        v[0, 1] = 42;
        Assert.Equal(42.0, x[0, 1]);
        Assert.Equal(new[] { 6 }, Ops.Flatten(x).ShapeArray());
        Assert.Equal(new[] { 2, 1, 3 }, Ops.Unsqueeze(x, 1).ShapeArray());
    }

    [Fact]
    public void Permute_matches_a_naive_transpose()
    {
        var x = Tensor.Uniform([2, 3, 4, 5], 0, 1, 1);
        var y = x.Permute(0, 2, 3, 1);
        Assert.Equal(new[] { 2, 4, 5, 3 }, y.ShapeArray());
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
                for (int h = 0; h < 4; h++)
                    for (int w = 0; w < 5; w++)
                        Assert.Equal(x[n, c, h, w], y[n, h, w, c]);
    }

    [Fact]
    public void Slice_select_cat_and_stack_move_the_right_elements()
    {
        var x = Tensor.Arange(12).Reshape(3, 4);
        Assert.Equal(new float[] { 1, 2, 5, 6, 9, 10 }, Ops.Slice(x, 1, 1, 3).ToArray());
        Assert.Equal(new float[] { 0, 2, 4, 6, 8, 10 }, Ops.Slice(x, 1, 0, 4, 2).ToArray());
        Assert.Equal(new float[] { 8, 9, 10, 11 }, Ops.Select(x, 0, -1).ToArray());
        Assert.Equal(new float[] { 3, 7, 11 }, Ops.Select(x, 1, 3).ToArray());
        var c = Ops.Cat([Ops.Slice(x, 1, 0, 1), Ops.Slice(x, 1, 1, 4)], 1);
        Assert.Equal(x.ToArray(), c.ToArray());
        var s = Ops.Stack([Tensor.Ones(2), Tensor.Zeros(2)], 1);
        Assert.Equal(new[] { 2, 2 }, s.ShapeArray());
        Assert.Equal(new float[] { 1, 0, 1, 0 }, s.ToArray());
    }

    [Fact]
    public void Reductions_and_argmax_agree_with_linq()
    {
        var x = Tensor.Uniform([3, 5, 2], -1, 1, 11);
        var a = x.ToArray();
        Assert.Equal(a.Sum(), (float)x.Sum().Item(), 4);
        var m = Ops.Max(x, 1);
        var idx = Ops.Argmax(x, 1);
        for (int o = 0; o < 3; o++)
            for (int i = 0; i < 2; i++)
            {
                var col = Enumerable.Range(0, 5).Select(j => a[(o * 5 + j) * 2 + i]).ToArray();
                Assert.Equal(col.Max(), (float)m[o, i]);
                Assert.Equal(Array.IndexOf(col, col.Max()), (int)idx[o, i]);
                Assert.Equal(col.Sum(), (float)Ops.Sum(x, [1])[o, i], 4);
            }
        Assert.Equal(a.Max(), (float)Ops.Max(x).Item());
        Assert.Equal(Array.IndexOf(a, a.Max()), Ops.Argmax(x));
        Assert.Equal(a.Average(v => (double)v), x.Mean().Item(), 5);
    }

    [Fact]
    public void Softmax_rows_sum_to_one_and_log_softmax_is_its_log()
    {
        var x = Tensor.Uniform([2, 5, 3, 3], -30, 30, 4);
        var p = Ops.Softmax(x, 1);
        var sums = Ops.Sum(p, [1]).ToArray();
        Assert.All(sums, s => Assert.Equal(1f, s, 5));
        var lp = Ops.LogSoftmax(x, 1).ToArray();
        var pa = p.ToArray();
        for (int i = 0; i < pa.Length; i++)
            if (pa[i] > 1e-30) Assert.Equal(Math.Log(pa[i]), lp[i], 3);
        Assert.All(lp, v => Assert.False(float.IsNaN(v) || float.IsInfinity(v)));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 7, 7)]
    [InlineData(33, 1, 129)]
    [InlineData(129, 33, 7)]
    [InlineData(5, 130, 66)]
    public void Matmul_matches_a_naive_product(int m, int k, int n)
    {
        var a = Tensor.Uniform([m, k], -1, 1, m * 1000 + k);
        var b = Tensor.Uniform([k, n], -1, 1, n * 1000 + k);
        var y = a.MatMul(b);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i, p] * b[p, j];
                Assert.True(Math.Abs(s - y[i, j]) <= 1e-5 * Math.Sqrt(k) + 1e-5 * Math.Abs(s), $"({i},{j}): {s} vs {y[i, j]}");
            }
    }

    [Fact]
    public void Batched_matmul_broadcasts_batch_axes()
    {
        var a = Tensor.Uniform([2, 1, 3, 4], -1, 1, 1);
        var b = Tensor.Uniform([3, 4, 5], -1, 1, 2);
        var y = a.MatMul(b);
        Assert.Equal(new[] { 2, 3, 3, 5 }, y.ShapeArray());
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                var expected = Ops.Select(a, 0, i).Reshape(3, 4).MatMul(Ops.Select(b, 0, j));
                var got = Ops.Select(Ops.Select(y, 0, i), 0, j);
                Assert.Equal(expected.ToArray(), got.ToArray());
            }
    }

    [Fact]
    public void Where_and_comparisons()
    {
        var c = Tensor.FromArray(new float[] { 1, 0, 2 }, 3);
        var y = Ops.Where(c, Tensor.Full(5f, 3), Tensor.Scalar(-1));
        Assert.Equal(new float[] { 5, -1, 5 }, y.ToArray());
        Assert.Equal(new float[] { 1, 0, 1 }, Ops.Greater(c, Tensor.Scalar(0.5f)).ToArray());
        Assert.Equal(new float[] { 0, 1, 0 }, Ops.Equal(c, Tensor.Scalar(0)).ToArray());
    }

    [Fact]
    public void ToString_shows_shape_type_and_values()
    {
        var s = Tensor.Arange(3).ToString();
        Assert.Contains("[3]", s, StringComparison.Ordinal);
        Assert.Contains("Float32", s, StringComparison.Ordinal);
        Assert.Contains("0, 1, 2", s, StringComparison.Ordinal);
    }
}
