namespace SegLab.Engine.Tests;


public class ShapeErrorTests
{
    [Fact]
    public void Broadcast_error_names_the_operation_and_both_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.Add(Tensor.Zeros(2, 3), Tensor.Zeros(4, 3)));
        Assert.Contains("add", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_channel_scaled_names_the_shapes_it_cannot_combine()
    {
        var x = Tensor.Zeros(2, 3, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => Ops.AddChannelScaled(x, Tensor.Zeros(2, 3, 4, 5), Tensor.Zeros(2, 3)));
        Assert.Contains("add_channel_scaled", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3, 4, 5]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.AddChannelScaled(x, x, Tensor.Zeros(3, 2)));
        Assert.Contains("[3, 2]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3]", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sub")]
    [InlineData("mul")]
    [InlineData("div")]
    [InlineData("pow")]
    [InlineData("minimum")]
    [InlineData("maximum")]
    public void Every_binary_op_checks_shapes(string op)
    {
        var a = Tensor.Ones(3);
        var b = Tensor.Ones(2);
        Func<Tensor> f = op switch
        {
            "sub" => () => Ops.Sub(a, b),
            "mul" => () => Ops.Mul(a, b),
            "div" => () => Ops.Div(a, b),
            "pow" => () => Ops.Pow(a, b),
            "minimum" => () => Ops.Minimum(a, b),
            _ => () => Ops.Maximum(a, b),
        };
        var e = Assert.Throws<ArgumentException>(() => f());
        Assert.Contains(op, e.Message, StringComparison.Ordinal);
        Assert.Contains("[3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Matmul_inner_dimension_error_names_both_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(2, 3), Tensor.Zeros(4, 5)));
        Assert.Contains("matmul", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 5]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(3), Tensor.Zeros(3, 1)));
    }

    [Fact]
    public void Mixed_element_types_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.Add(Tensor.Zeros(2), Tensor.Zeros(DType.Float64, 2)));
        Assert.Contains("Float64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reshape_permute_cat_and_axis_errors_are_clear()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Contains("[2, 3]", Assert.Throws<ArgumentException>(() => x.Reshape(4, 2)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => x.Reshape(-1, -1));
        Assert.Throws<ArgumentException>(() => x.Permute(0, 0));
        Assert.Throws<ArgumentException>(() => x.Permute(0));
        Assert.Contains("cat", Assert.Throws<ArgumentException>(() => Ops.Cat([x, Tensor.Zeros(3, 3)], 1)).Message, StringComparison.Ordinal);
        Assert.Contains("rank 2", Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Softmax(x, 2)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ops.Squeeze(x, 0));
        Assert.Throws<ArgumentException>(() => Ops.Clamp(x, 1, 0));
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.Throws<IndexOutOfRangeException>(() => x[2, 0]);
    }
}
