// ONNX elementwise operations onto engine ops (autograd included): activations, broadcasting arithmetic, Clip,
// Cast, Identity, Dropout (inference: the identity), Constant and Shape. Integer values (shape arithmetic) are
// computed exactly in float64, with ONNX's truncating integer division; they carry no gradient.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Onnx.Proto;

namespace SegLab.Onnx;

internal static partial class OnnxOps
{
    private static OnnxValue F(Tensor t) => new(t, false);

    private static OnnxValue I(Tensor t) => new(t, true);

    private static OnnxValue[] One(OnnxValue v) => [v];

    private static OnnxKernel Unary(OnnxNode n, Func<Tensor, Tensor> f) => (x, ctx) => One(F(f(OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx))));

    private static OnnxKernel Relu(OnnxNode n) => Unary(n, Ops.Relu);

    private static OnnxKernel Sigmoid(OnnxNode n) => Unary(n, Ops.Sigmoid);

    private static OnnxKernel Tanh(OnnxNode n) => Unary(n, Ops.Tanh);

    private static OnnxKernel HardSwish(OnnxNode n) => Unary(n, Ops.HardSwish);

    private static OnnxKernel LeakyRelu(OnnxNode n)
    {
        double alpha = n.Float("alpha", 0.01f);
        return Unary(n, x => Ops.LeakyRelu(x, alpha));
    }

    private static OnnxKernel HardSigmoid(OnnxNode n)
    {
        double alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
        // max(0, min(1, alpha x + beta)); the engine's kernel is the alpha = 1/6, beta = 1/2 case.
        if (Math.Abs(alpha - 1.0 / 6) < 1e-7 && beta == 0.5) return Unary(n, Ops.HardSigmoid);
        return Unary(n, x => Ops.Clamp(Ops.Add(Ops.Mul(x, alpha), beta), 0, 1));
    }

    private static OnnxKernel PRelu(OnnxNode n) => (x, ctx) =>
    {
        var data = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
        var slope = OnnxNode.AsFloat(n.Need(x, 1, "slope"), ctx);
        int c = data.Rank >= 2 ? data.Size(1) : 1;
        // One slope, or one per channel laid out as [C], [C, 1, 1], [1, C, 1, 1]: the engine's kernel.
        bool perChannel = slope.Numel == c && data.Rank >= 2 && (slope.Rank == 1 && data.Rank == 2 || slope.Rank >= 1 && slope.Rank <= data.Rank
            && slope.Size(slope.Rank - (data.Rank - 1)) == c && slope.Numel == c);
        if (slope.Numel == 1 || perChannel) return One(F(Ops.Prelu(data, Ops.Reshape(slope, slope.Numel))));
        // Any other broadcastable slope: relu(x) - slope * relu(-x).
        return One(F(Ops.Sub(Ops.Relu(data), Ops.Mul(slope, Ops.Relu(Ops.Neg(data))))));
    };

    private static OnnxKernel Clip(OnnxNode n)
    {
        if (n.Opset < 11)
        {
            double lo = n.Float("min", float.NegativeInfinity), hi = n.Float("max", float.PositiveInfinity);
            return Unary(n, x => Ops.Clamp(x, lo, hi));
        }
        return (x, ctx) =>
        {
            double lo = x.Length > 1 && x[1] is { } a ? a.Doubles()[0] : double.NegativeInfinity;
            double hi = x.Length > 2 && x[2] is { } b ? b.Doubles()[0] : double.PositiveInfinity;
            var v = n.Need(x, 0, "input");
            if (v.IsInteger) return One(HostMap(v, d => Math.Min(Math.Max(d, lo), hi)));
            return One(F(Ops.Clamp(OnnxNode.AsFloat(v, ctx), lo, hi)));
        };
    }

    private static OnnxKernel Binary(OnnxNode n, Func<Tensor, Tensor, Tensor> f, bool truncate = false) => (x, ctx) =>
    {
        var a = n.Need(x, 0, "A");
        var b = n.Need(x, 1, "B");
        if (a.IsInteger && b.IsInteger)
        {
            using var _ = GradMode.NoGrad();
            var r = f(a.Data.To(DType.Float64), b.Data.To(DType.Float64));
            return One(truncate ? HostMap(I(r), Math.Truncate) : I(r));
        }
        return One(F(f(OnnxNode.AsFloat(a, ctx), OnnxNode.AsFloat(b, ctx))));
    };

    private static OnnxKernel Add(OnnxNode n) => Binary(n, Ops.Add);

    private static OnnxKernel Sub(OnnxNode n) => Binary(n, Ops.Sub);

    private static OnnxKernel Mul(OnnxNode n) => Binary(n, Ops.Mul);

    private static OnnxKernel Div(OnnxNode n) => Binary(n, Ops.Div, truncate: true);

    /// <summary>An integer value mapped elementwise on the host (no gradient).</summary>
    private static OnnxValue HostMap(OnnxValue v, Func<double, double> f) =>
        I(Tensor.FromArray(Array.ConvertAll(v.Data.ToArrayF64(), x => f(x)), v.Data.ShapeArray()));

    private static OnnxKernel Identity(OnnxNode n) => (x, _) => One(n.Need(x, 0, "input"));

    // Dropout runs as in inference (ONNX's default, training_mode false); its mask output is refused at load.
    private static OnnxKernel Dropout(OnnxNode n)
    {
        n.Float("ratio", 0.5f);
        n.Int("seed", 0);
        n.Int("is_test", 0);
        return (x, _) => One(n.Need(x, 0, "data"));
    }

    private static OnnxKernel Cast(OnnxNode n)
    {
        var to = (TensorProto.Types.DataType)n.Int("to");
        n.Int("saturate", 1);
        bool toFloat = to is TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16;
        bool toBool = to == TensorProto.Types.DataType.Bool;
        if (to is TensorProto.Types.DataType.String or TensorProto.Types.DataType.Complex64 or TensorProto.Types.DataType.Complex128 or TensorProto.Types.DataType.Undefined)
            throw n.Unsupported($"cast to {to} (SegLab casts between numeric types and bool)");
        return (x, ctx) =>
        {
            var v = n.Need(x, 0, "input");
            if (toFloat) return One(F(OnnxNode.AsFloat(v, ctx)));
            // To an integer type: truncation toward zero (bool: non-zero), exact in float64, no gradient.
            var src = v.IsInteger ? v : I(v.Data.To(DType.Float64));
            return One(HostMap(src, toBool ? d => d != 0 ? 1 : 0 : Math.Truncate));
        };
    }

    private static OnnxKernel Constant(OnnxNode n, OnnxTensorReader reader)
    {
        OnnxValue value;
        if (n.Raw("value") is { } t) value = FromConstant(reader.Read(t.T, $"node '{n.Name}' attribute 'value'"));
        else if (n.Has("value_float")) value = F(Tensor.FromArray(new[] { n.Float("value_float", 0) }));
        else if (n.Floats("value_floats") is { } fs) value = F(Tensor.FromArray(fs, fs.Length));
        else if (n.Has("value_int")) value = I(Tensor.FromArray(new[] { (double)n.Int("value_int") }));
        else if (n.Ints("value_ints") is { } vs) value = I(Tensor.FromArray(Array.ConvertAll(vs, v => (double)v), vs.Length));
        else throw n.Unsupported("only tensor, float(s) and int(s) constants are supported (not sparse or string ones)");
        return (_, ctx) => One(value.IsInteger ? value : F(OnnxNode.AsFloat(value, ctx)));
    }

    internal static OnnxValue FromConstant(OnnxConstant c) => new(c.Value, c.IsInteger);

    // Shape (start and end since opset 15): the input's dimensions as int64, known whenever the input is.
    private static OnnxKernel Shape(OnnxNode n)
    {
        long start = n.Int("start", 0), end = n.Int("end", long.MaxValue);
        return (x, _) =>
        {
            var dims = n.Need(x, 0, "data").Data.ShapeArray();
            int r = dims.Length;
            int s = (int)Math.Clamp(start < 0 ? start + r : start, 0, r), e = (int)Math.Clamp(end < 0 ? end + r : end, 0, r);
            var sel = dims[s..Math.Max(s, e)];
            return One(I(Tensor.FromArray(Array.ConvertAll(sel, d => (double)d), sel.Length)));
        };
    }
}
