// Pointwise activations with autograd: relu, sigmoid, tanh.
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Autograd;
using SegLab.Engine.Kernels;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>max(x, 0); the gradient at 0 is 0 (PyTorch's rule); under <see cref="BackwardRules.Guided"/> only positive gradients pass.</summary>
    public static Tensor Relu(Tensor x)
    {
        var y = ElementwiseKernels.Unary<ReluOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "relu", [x], g => [ElementwiseKernels.Binary<ReluGradOp>("relu", BackwardRules.Rectifier(g), y)]) : y;
    }

    /// <summary>1 / (1 + e^-x).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = ElementwiseKernels.Unary<SigmoidOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "sigmoid", [x], g => [ElementwiseKernels.Binary<SigmoidGradOp>("sigmoid", g, y)]) : y;
    }

    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x)
    {
        var y = ElementwiseKernels.Unary<TanhOp>(x);
        return GradMode.Needs(x) ? Tape.Record(y, "tanh", [x], g => [ElementwiseKernels.Binary<TanhGradOp>("tanh", g, y)]) : y;
    }

    private struct ReluOp : IUnaryOp<ReluOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero ? x : T.Zero;
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(x, T.Zero, d);
    }

    /// <summary>g where the ReLU output is positive.</summary>
    private struct ReluGradOp : IBinaryOp<ReluGradOp>, IPointwiseVec<ReluGradOp>
    {
        public static T Apply<T>(T g, T y) where T : unmanaged, IFloatingPointIeee754<T> => S(g, y);
        // Vectors: the scalar form's branch is taken at random (about half the outputs are zero) and mispredicted.
        public static void Vec<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => PwBinary<ReluGradOp, T>(g, y, d);
        public static T S<T>(T g, T y) where T : unmanaged, IFloatingPointIeee754<T> => y > T.Zero ? g : T.Zero;
        public static Vector<T> V<T>(Vector<T> g, Vector<T> y) where T : unmanaged, IFloatingPointIeee754<T>
            => Vector.ConditionalSelect(Vector.GreaterThan(y, Vector<T>.Zero), g, Vector<T>.Zero);
    }

    private struct SigmoidOp : IUnaryOp<SigmoidOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sigmoid(x, d);
    }

    /// <summary>g * y * (1 - y).</summary>
    private struct SigmoidGradOp : IBinaryOp<SigmoidGradOp>
    {
        public static T Apply<T>(T g, T y) where T : unmanaged, IFloatingPointIeee754<T> => g * y * (T.One - y);
    }

    private struct TanhOp : IUnaryOp<TanhOp>
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Tanh(x);
        public static void Vec<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Tanh(x, d);
    }

    /// <summary>g * (1 - y^2).</summary>
    private struct TanhGradOp : IBinaryOp<TanhGradOp>
    {
        public static T Apply<T>(T g, T y) where T : unmanaged, IFloatingPointIeee754<T> => g * (T.One - y * y);
    }
}
