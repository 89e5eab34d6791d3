// ONNX matrix products and reductions onto engine ops: MatMul (numpy rules, 1-D operands included), Gemm
// (alpha op(A) op(B) + beta C), Softmax (before opset 13 over the flattened trailing axes [axis, rank), since then
// over one axis) and ReduceMean (axes as attribute before opset 18, as input since).
using SegLab.Engine;

namespace SegLab.Onnx;

internal static partial class OnnxOps
{
    private static OnnxKernel MatMul(OnnxNode n) => (x, ctx) =>
    {
        var a = OnnxNode.AsFloat(n.Need(x, 0, "A"), ctx);
        var b = OnnxNode.AsFloat(n.Need(x, 1, "B"), ctx);
        bool va = a.Rank == 1, vb = b.Rank == 1;
        if (va) a = Ops.Unsqueeze(a, 0);
        if (vb) b = Ops.Unsqueeze(b, 1);
        var y = Ops.MatMul(a, b);
        if (vb) y = Ops.Squeeze(y, -1);
        if (va) y = Ops.Squeeze(y, vb ? -1 : -2);
        return One(F(y));
    };

    private static OnnxKernel Gemm(OnnxNode n)
    {
        double alpha = n.Float("alpha", 1), beta = n.Float("beta", 1);
        bool ta = n.Int("transA", 0) != 0, tb = n.Int("transB", 0) != 0;
        if (n.Opset < 7 && n.Has("broadcast")) n.Int("broadcast", 0);
        return (x, ctx) =>
        {
            var a = OnnxNode.AsFloat(n.Need(x, 0, "A"), ctx);
            var b = OnnxNode.AsFloat(n.Need(x, 1, "B"), ctx);
            if (a.Rank != 2 || b.Rank != 2) throw n.Format($"A {Shapes.Format(a.Shape)} and B {Shapes.Format(b.Shape)} must be matrices");
            var y = Ops.MatMul(ta ? Ops.Transpose(a, 0, 1) : a, tb ? Ops.Transpose(b, 0, 1) : b);
            if (alpha != 1) y = Ops.Mul(y, alpha);
            if (x.Length > 2 && x[2] is { } c && beta != 0)
            {
                var ct = OnnxNode.AsFloat(c, ctx);
                y = Ops.Add(y, beta == 1 ? ct : Ops.Mul(ct, beta));
            }
            return One(F(y));
        };
    }

    private static OnnxKernel Softmax(OnnxNode n)
    {
        long axis = n.Int("axis", n.Opset < 13 ? 1 : -1);
        return (x, ctx) =>
        {
            var t = OnnxNode.AsFloat(n.Need(x, 0, "input"), ctx);
            int ax = n.Axis(axis, t.Rank);
            if (n.Opset >= 13 || ax == t.Rank - 1) return One(F(Ops.Softmax(t, ax)));
            // Opset < 13: the input as a matrix [prod(dims[..axis]), prod(dims[axis..])], softmax along its rows.
            var dims = t.ShapeArray();
            int outer = dims[..ax].Aggregate(1, (p, q) => p * q);
            var y = Ops.Softmax(Ops.Reshape(t, outer, t.Numel / Math.Max(1, outer)), 1);
            return One(F(Ops.Reshape(y, dims)));
        };
    }

    private static OnnxKernel ReduceMean(OnnxNode n)
    {
        long[]? attrAxes = n.Opset < 18 ? n.Ints("axes") : null;
        bool keep = n.Int("keepdims", 1) != 0;
        bool noopEmpty = n.Opset >= 18 && n.Int("noop_with_empty_axes", 0) != 0;
        return (x, ctx) =>
        {
            var t = OnnxNode.AsFloat(n.Need(x, 0, "data"), ctx);
            long[]? axes = attrAxes ?? (n.Opset >= 18 && x.Length > 1 && x[1] is { } a ? a.Longs() : null);
            if (axes is null || axes.Length == 0)
            {
                if (noopEmpty) return One(F(t));
                axes = Enumerable.Range(0, t.Rank).Select(i => (long)i).ToArray();
            }
            var ax = axes.Select(a => n.Axis(a, t.Rank)).Distinct().Order().ToArray();
            return One(F(Ops.Mean(t, ax, keep)));
        };
    }
}
