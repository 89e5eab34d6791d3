using SegLab.Engine.Threading;

namespace SegLab.Engine.Tests;

// Elementwise ops on large operands run in chunks on several threads: every chunk is the same loop, so the results
// equal the one-thread results bit for bit, for each operand form (same shape, scalar on either side, broadcast).
[Collection("EngineThreads")]
public class ElementwiseThreadsTests
{
    private static float[] With(int threads, Func<Tensor> f)
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.SetThreads(threads);
            return f().ToArray();
        }
        finally
        {
            Parallelism.SetThreads(saved);
        }
    }

    public static TheoryData<string> Cases => ["add", "mul_scalar_b", "sub_scalar_a", "div_broadcast", "exp", "sigmoid", "odd_length"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Two_threads_give_the_one_thread_result(string op)
    {
        var rng = new Rng(9);
        var a = Tensor.Uniform(rng, [3, 64, 45, 61], -2, 2); // 527 thousand elements: 17 chunks, the last one short
        var b = Tensor.Uniform(rng, [3, 64, 45, 61], 0.5, 2);
        var s = Tensor.Scalar(1.5f);
        var col = Tensor.Uniform(rng, [1, 64, 1, 1], 0.5, 2);
        var odd = Tensor.Uniform(rng, [100_003], -1, 1);
        Func<Tensor> f = op switch
        {
            "add" => () => Ops.Add(a, b),
            "mul_scalar_b" => () => Ops.Mul(a, s),
            "sub_scalar_a" => () => Ops.Sub(s, a),
            "div_broadcast" => () => Ops.Div(a, col),
            "exp" => () => Ops.Exp(a),
            "sigmoid" => () => Ops.Sigmoid(a),
            "odd_length" => () => Ops.Mul(odd, odd),
            _ => throw new ArgumentException(op),
        };
        var one = With(1, f);
        var two = With(2, f);
        Assert.Equal(one, two);
        Assert.DoesNotContain(one, float.IsNaN);
        if (op == "add") Assert.Equal(a.Span[123_456] + b.Span[123_456], one[123_456]);
        if (op == "odd_length") Assert.Equal(odd.Span[100_002] * odd.Span[100_002], one[100_002]);
    }
}
