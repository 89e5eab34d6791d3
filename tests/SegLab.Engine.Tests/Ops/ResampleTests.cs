// Resample2d (table-driven two-tap resampling): PyTorch's bilinear rule written as tables gives Interpolate's
// output, a nearest table copies the rows and columns it names, and tables that read outside the input are refused.
namespace SegLab.Engine.Tests;

public class ResampleTests
{
    // PyTorch's align_corners=False rule as a table: src = max((o + 0.5) in/out - 0.5, 0).
    private static ResampleAxis HalfPixel(int inLen, int outLen)
    {
        var i0 = new int[outLen];
        var i1 = new int[outLen];
        var t = new double[outLen];
        for (int o = 0; o < outLen; o++)
        {
            double src = Math.Max((o + 0.5) * inLen / outLen - 0.5, 0);
            i0[o] = Math.Min((int)src, inLen - 1);
            i1[o] = Math.Min(i0[o] + 1, inLen - 1);
            t[o] = i1[o] == i0[o] ? 0 : src - i0[o];
        }
        return new ResampleAxis(i0, i1, t);
    }

    [Fact]
    public void Bilinear_tables_give_interpolate_output()
    {
        var x = Tensor.Uniform([2, 3, 7, 9], -1, 1, seed: 4);
        var want = Ops.Interpolate(x, 15, 20, InterpolationMode.Bilinear).ToArray();
        var got = Ops.Resample2d(x, HalfPixel(7, 15), HalfPixel(9, 20)).ToArray();
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6, $"element {i}: {got[i]} vs {want[i]}");
    }

    [Fact]
    public void Nearest_table_copies_the_named_rows_and_columns()
    {
        var x = Tensor.Uniform([1, 1, 3, 4], -1, 1, seed: 2);
        var y = Ops.Resample2d(x, ResampleAxis.Nearest([2, 0]), ResampleAxis.Nearest([3, 3, 1]));
        Assert.Equal([1, 1, 2, 3], y.ShapeArray());
        Assert.Equal(x[0, 0, 2, 3], y[0, 0, 0, 0]);
        Assert.Equal(x[0, 0, 2, 3], y[0, 0, 0, 1]);
        Assert.Equal(x[0, 0, 0, 1], y[0, 0, 1, 2]);
    }

    [Fact]
    public void Tables_outside_the_input_are_refused()
    {
        var x = Tensor.Zeros(1, 1, 3, 4);
        var e = Assert.Throws<ArgumentException>(() => Ops.Resample2d(x, ResampleAxis.Nearest([3]), ResampleAxis.Nearest([0])));
        Assert.Contains("row entry 0 reads (3, 3)", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ops.Resample2d(x, new ResampleAxis([0], [1], [1.5]), ResampleAxis.Nearest([0])));
        Assert.Throws<ArgumentException>(() => Ops.Resample2d(Tensor.Zeros(3, 4), ResampleAxis.Nearest([0]), ResampleAxis.Nearest([0])));
    }
}
