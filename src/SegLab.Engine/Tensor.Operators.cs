// Operator overloads and fluent methods: thin forwards to Ops, so model code reads like PyTorch.
namespace SegLab.Engine;

public sealed partial class Tensor
{
    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);

    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, double s) => Ops.Add(a, s);

    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(double s, Tensor a) => Ops.Add(a, s);

    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);

    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, double s) => Ops.Add(a, -s);

    /// <summary>Constant minus tensor.</summary>
    public static Tensor operator -(double s, Tensor a) => Ops.Sub(Ops.Constant(s, a), a);

    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => Ops.Neg(a);

    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);

    /// <summary>Scales by a constant.</summary>
    public static Tensor operator *(Tensor a, double s) => Ops.Mul(a, s);

    /// <summary>Scales by a constant.</summary>
    public static Tensor operator *(double s, Tensor a) => Ops.Mul(a, s);

    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);

    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, double s) => Ops.Mul(a, 1.0 / s);

    /// <summary>Constant divided by tensor.</summary>
    public static Tensor operator /(double s, Tensor a) => Ops.Div(Ops.Constant(s, a), a);

    /// <summary>Elementwise sum; named alternate of the + operator.</summary>
    public static Tensor Add(Tensor left, Tensor right) => Ops.Add(left, right);

    /// <summary>Elementwise difference; named alternate of the - operator.</summary>
    public static Tensor Subtract(Tensor left, Tensor right) => Ops.Sub(left, right);

    /// <summary>Elementwise product; named alternate of the * operator.</summary>
    public static Tensor Multiply(Tensor left, Tensor right) => Ops.Mul(left, right);

    /// <summary>Elementwise quotient; named alternate of the / operator.</summary>
    public static Tensor Divide(Tensor left, Tensor right) => Ops.Div(left, right);

    /// <summary>Negation; named alternate of the unary - operator.</summary>
    public static Tensor Negate(Tensor item) => Ops.Neg(item);

    /// <summary>See <see cref="Ops.MatMul"/>.</summary>
    public Tensor MatMul(Tensor other) => Ops.MatMul(this, other);

    /// <summary>See <see cref="Ops.Reshape"/>.</summary>
    public Tensor Reshape(params int[] shape) => Ops.Reshape(this, shape);

    /// <summary>See <see cref="Ops.Permute"/>.</summary>
    public Tensor Permute(params int[] perm) => Ops.Permute(this, perm);

    /// <summary>See <see cref="Ops.Transpose"/>.</summary>
    public Tensor Transpose(int axis0, int axis1) => Ops.Transpose(this, axis0, axis1);

    /// <summary>See <see cref="Ops.Sum(Tensor)"/>.</summary>
    public Tensor Sum() => Ops.Sum(this);

    /// <summary>See <see cref="Ops.Sum(Tensor, int[], bool)"/>.</summary>
    public Tensor Sum(int[] axes, bool keepDim = false) => Ops.Sum(this, axes, keepDim);

    /// <summary>See <see cref="Ops.Mean(Tensor)"/>.</summary>
    public Tensor Mean() => Ops.Mean(this);

    /// <summary>See <see cref="Ops.Mean(Tensor, int[], bool)"/>.</summary>
    public Tensor Mean(int[] axes, bool keepDim = false) => Ops.Mean(this, axes, keepDim);

    /// <summary>See <see cref="Ops.Exp"/>.</summary>
    public Tensor Exp() => Ops.Exp(this);

    /// <summary>See <see cref="Ops.Log"/>.</summary>
    public Tensor Log() => Ops.Log(this);

    /// <summary>See <see cref="Ops.Relu"/>.</summary>
    public Tensor Relu() => Ops.Relu(this);

    /// <summary>See <see cref="Ops.Sigmoid"/>.</summary>
    public Tensor Sigmoid() => Ops.Sigmoid(this);

    /// <summary>See <see cref="Ops.Tanh"/>.</summary>
    public Tensor Tanh() => Ops.Tanh(this);

    /// <summary>See <see cref="Ops.Softmax"/>.</summary>
    public Tensor Softmax(int axis) => Ops.Softmax(this, axis);

    /// <summary>See <see cref="Ops.LogSoftmax"/>.</summary>
    public Tensor LogSoftmax(int axis) => Ops.LogSoftmax(this, axis);

    /// <summary>See <see cref="Ops.To"/>.</summary>
    public Tensor To(DType dtype) => Ops.To(this, dtype);

    /// <summary>A new leaf that requires a gradient, sharing this tensor's storage.</summary>
    public Tensor RequireGrad()
    {
        var t = Detach();
        t.RequiresGrad = true;
        return t;
    }
}
