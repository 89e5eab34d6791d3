// ONNX shape and layout operations onto engine ops: Concat, Split, Slice, Reshape, Flatten, Transpose, Squeeze,
// Unsqueeze, Gather and Pad, for float values (differentiable) and integer ones (shape subgraphs, exact float64).
// Where ONNX moved an attribute to an input (Split 13, Slice 10, Squeeze/Unsqueeze 13, Pad 11), both forms are read
// by opset. Gather and negative-step Slice copy runs of consecutive indices with one slice each, then concatenate.
using SegLab.Engine;

namespace SegLab.Onnx;

internal static partial class OnnxOps
{
    private static OnnxValue Like(OnnxValue like, Tensor t) => new(t, like.IsInteger);

    private static OnnxKernel Concat(OnnxNode n)
    {
        long axis = n.Int("axis");
        return (x, ctx) =>
        {
            var parts = x.Where(v => v is not null).Select(v => v!).ToList();
            if (parts.Count == 0) throw n.Format("no inputs");
            bool integer = parts.All(p => p.IsInteger);
            var tensors = parts.Select(p => integer ? p.Data : OnnxNode.AsFloat(p, ctx)).Where(t => t.Numel > 0 || parts.Count == 1).ToList();
            int ax = n.Axis(axis, parts[0].Data.Rank);
            var y = tensors.Count == 1 ? tensors[0] : Ops.Cat(tensors, ax);
            return One(new OnnxValue(y, integer));
        };
    }

    private static OnnxKernel Split(OnnxNode n)
    {
        long axis = n.Int("axis", 0);
        long[]? attrSplit = n.Opset < 13 ? n.Ints("split") : null;
        long numOutputs = n.Opset >= 18 ? n.Int("num_outputs", 0) : 0;
        int outputs = n.Proto.Output.Count;
        return (x, _) =>
        {
            var v = n.Need(x, 0, "input");
            int ax = n.Axis(axis, v.Data.Rank), d = v.Data.Size(ax);
            long[] sizes = attrSplit ?? (x.Length > 1 && x[1] is { } s ? s.Longs() : EqualSplit(n, d, numOutputs > 0 ? (int)numOutputs : outputs));
            if (sizes.Length != outputs || sizes.Sum() != d || sizes.Any(z => z < 0))
                throw n.Format($"split sizes [{string.Join(", ", sizes)}] do not divide axis {ax} of size {d} into {outputs} outputs");
            var result = new OnnxValue[outputs];
            int start = 0;
            for (int i = 0; i < outputs; i++)
            {
                result[i] = Like(v, Ops.Slice(v.Data, ax, start, start + (int)sizes[i]));
                start += (int)sizes[i];
            }
            return result;
        };
    }

    // Equal parts; since opset 18 the last may be smaller (ceil(d / parts) each before it), before that they must divide d.
    private static long[] EqualSplit(OnnxNode n, int d, int parts)
    {
        int size = (d + parts - 1) / parts;
        if (n.Opset < 18 && d % parts != 0) throw n.Format($"axis of size {d} does not split evenly into {parts} outputs");
        return Enumerable.Range(0, parts).Select(i => (long)Math.Max(0, Math.Min(size, d - i * size))).ToArray();
    }

    private static OnnxKernel Slice(OnnxNode n)
    {
        long[]? aStarts = null, aEnds = null, aAxes = null;
        if (n.Opset < 10)
        {
            aStarts = n.Ints("starts") ?? throw n.Format("attribute 'starts' is required");
            aEnds = n.Ints("ends") ?? throw n.Format("attribute 'ends' is required");
            aAxes = n.Ints("axes");
        }
        return (x, _) =>
        {
            var v = n.Need(x, 0, "data");
            long[] starts = aStarts ?? n.Need(x, 1, "starts").Longs();
            long[] ends = aEnds ?? n.Need(x, 2, "ends").Longs();
            long[] axes = aAxes ?? (x.Length > 3 && x[3] is { } a ? a.Longs() : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray());
            long[] steps = x.Length > 4 && x[4] is { } s ? s.Longs() : Enumerable.Repeat(1L, starts.Length).ToArray();
            if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
                throw n.Format("starts, ends, axes and steps differ in length");
            var t = v.Data;
            for (int i = 0; i < starts.Length; i++)
            {
                int ax = n.Axis(axes[i], t.Rank);
                long d = t.Size(ax), step = steps[i];
                if (step == 0) throw n.Format("a slice step is 0");
                long st = starts[i] < 0 ? starts[i] + d : starts[i], en = ends[i] < 0 ? ends[i] + d : ends[i];
                if (step > 0)
                {
                    st = Math.Clamp(st, 0, d);
                    en = Math.Clamp(en, 0, d);
                    t = Ops.Slice(t, ax, (int)st, (int)Math.Max(st, en), (int)step);
                }
                else
                {
                    st = Math.Clamp(st, 0, d - 1);
                    en = Math.Clamp(en, -1, d - 1);
                    var idx = new List<long>();
                    for (long j = st; j > en; j += step) idx.Add(j);
                    t = Take(t, ax, idx.ToArray());
                }
            }
            return One(Like(v, t));
        };
    }

    /// <summary>Elements at <paramref name="idx"/> along <paramref name="axis"/> (runs of consecutive indices as one slice).</summary>
    private static Tensor Take(Tensor t, int axis, long[] idx)
    {
        var parts = new List<Tensor>();
        for (int i = 0; i < idx.Length;)
        {
            int j = i + 1;
            while (j < idx.Length && idx[j] == idx[j - 1] + 1) j++;
            parts.Add(Ops.Slice(t, axis, (int)idx[i], (int)idx[j - 1] + 1));
            i = j;
        }
        if (parts.Count == 0) return Ops.Slice(t, axis, 0, 0);
        return parts.Count == 1 ? parts[0] : Ops.Cat(parts, axis);
    }

    private static OnnxKernel Gather(OnnxNode n)
    {
        long axis = n.Int("axis", 0);
        return (x, _) =>
        {
            var v = n.Need(x, 0, "data");
            var iv = n.Need(x, 1, "indices");
            if (!iv.IsInteger) throw n.Format("indices are not of an integer type");
            int ax = n.Axis(axis, v.Data.Rank), d = v.Data.Size(ax);
            long[] idx = iv.Longs().Select(i => i < 0 ? i + d : i).ToArray();
            if (idx.Any(i => i < 0 || i >= d)) throw n.Format($"an index is out of range for axis {ax} of size {d}");
            var taken = Take(v.Data, ax, idx);
            var dims = v.Data.ShapeArray();
            var shape = dims[..ax].Concat(iv.Data.ShapeArray()).Concat(dims[(ax + 1)..]).ToArray();
            return One(Like(v, Ops.Reshape(taken, shape)));
        };
    }

    private static OnnxKernel Reshape(OnnxNode n)
    {
        bool allowZero = n.Int("allowzero", 0) != 0;
        return (x, _) =>
        {
            var v = n.Need(x, 0, "data");
            long[] shape = n.Need(x, 1, "shape").Longs();
            var dims = v.Data.ShapeArray();
            var target = new int[shape.Length];
            for (int i = 0; i < shape.Length; i++)
                target[i] = shape[i] == 0 && !allowZero ? (i < dims.Length ? dims[i] : throw n.Format($"shape entry {i} copies a dimension the input (rank {dims.Length}) lacks")) : (int)shape[i];
            if (target.Count(t => t == -1) > 1 || target.Any(t => t < -1)) throw n.Format($"invalid target shape [{string.Join(", ", shape)}]");
            return One(Like(v, Ops.Reshape(v.Data, target)));
        };
    }

    private static OnnxKernel Flatten(OnnxNode n)
    {
        long axis = n.Int("axis", 1);
        return (x, _) =>
        {
            var v = n.Need(x, 0, "input");
            var dims = v.Data.ShapeArray();
            int a = axis < 0 ? (int)axis + dims.Length : (int)axis;
            if (a < 0 || a > dims.Length) throw n.Format($"axis {axis} is out of range for rank {dims.Length}");
            int outer = dims[..a].Aggregate(1, (p, q) => p * q);
            return One(Like(v, Ops.Reshape(v.Data, outer, v.Data.Numel / Math.Max(1, outer))));
        };
    }

    private static OnnxKernel Transpose(OnnxNode n)
    {
        long[]? perm = n.Ints("perm");
        return (x, _) =>
        {
            var v = n.Need(x, 0, "data");
            int r = v.Data.Rank;
            int[] p = perm is null ? Enumerable.Range(0, r).Reverse().ToArray() : perm.Select(a => n.Axis(a, r)).ToArray();
            return One(Like(v, Ops.Permute(v.Data, p)));
        };
    }

    private static OnnxKernel Squeeze(OnnxNode n)
    {
        long[]? attrAxes = n.Opset < 13 ? n.Ints("axes") : null;
        return (x, _) =>
        {
            var v = n.Need(x, 0, "data");
            var dims = v.Data.ShapeArray();
            long[]? axes = attrAxes ?? (n.Opset >= 13 && x.Length > 1 && x[1] is { } a ? a.Longs() : null);
            var drop = axes is null ? Enumerable.Range(0, dims.Length).Where(i => dims[i] == 1).ToHashSet() : axes.Select(a => n.Axis(a, dims.Length)).ToHashSet();
            if (drop.Any(i => dims[i] != 1)) throw n.Format($"squeezes an axis whose size is not 1 (input {Shapes.Format(dims)})");
            return One(Like(v, Ops.Reshape(v.Data, dims.Where((_, i) => !drop.Contains(i)).ToArray())));
        };
    }

    private static OnnxKernel Unsqueeze(OnnxNode n)
    {
        long[]? attrAxes = n.Opset < 13 ? n.Ints("axes") ?? throw n.Format("attribute 'axes' is required") : null;
        return (x, _) =>
        {
            var v = n.Need(x, 0, "data");
            long[] axes = attrAxes ?? n.Need(x, 1, "axes").Longs();
            var dims = v.Data.ShapeArray().ToList();
            int rank = dims.Count + axes.Length;
            foreach (int a in axes.Select(a => n.Axis(a, rank)).Order()) dims.Insert(a, 1);
            return One(Like(v, Ops.Reshape(v.Data, dims.ToArray())));
        };
    }

    private static OnnxKernel Pad(OnnxNode n)
    {
        string mode = n.Str("mode", "constant");
        if (mode is not ("constant" or "reflect" or "edge" or "wrap")) throw n.Unsupported($"mode '{mode}' (supported: constant, reflect, edge, wrap)");
        long[]? attrPads = n.Opset < 11 ? n.Ints("pads") ?? n.Ints("paddings") ?? throw n.Format("attribute 'pads' is required") : null;
        double attrValue = n.Opset < 11 ? n.Float("value", 0) : 0;
        return (x, ctx) =>
        {
            var v = n.Need(x, 0, "data");
            long[] pads = attrPads ?? n.Need(x, 1, "pads").Longs();
            double value = attrPads is not null ? attrValue : x.Length > 2 && x[2] is { } c && c.Data.Numel > 0 ? c.Doubles()[0] : 0;
            var t = v.IsInteger ? v.Data : OnnxNode.AsFloat(v, ctx);
            int r = t.Rank;
            long[] axes = x.Length > 3 && x[3] is { } a ? a.Longs() : Enumerable.Range(0, r).Select(i => (long)i).ToArray();
            if (pads.Length != 2 * axes.Length) throw n.Format($"{pads.Length} pads for {axes.Length} axes");
            for (int i = 0; i < axes.Length; i++)
                t = PadAxis(n, t, n.Axis(axes[i], r), (int)pads[i], (int)pads[i + axes.Length], mode, value);
            return One(Like(v, t));
        };
    }

    // One axis: negative pads crop; constant pads concatenate filled blocks; reflect, edge and wrap concatenate slices.
    private static Tensor PadAxis(OnnxNode n, Tensor t, int ax, int before, int after, string mode, double value)
    {
        if (before < 0) t = Ops.Slice(t, ax, -before, t.Size(ax));
        if (after < 0) t = Ops.Slice(t, ax, 0, t.Size(ax) + after);
        before = Math.Max(before, 0);
        after = Math.Max(after, 0);
        if (before == 0 && after == 0) return t;
        int d = t.Size(ax);
        if (mode != "constant" && d == 0) throw n.Format($"{mode} padding of an empty axis");
        if (mode == "reflect" && (before >= d || after >= d)) throw n.Unsupported($"reflect padding of {Math.Max(before, after)} on an axis of size {d} (at most size - 1)");
        var parts = new List<Tensor>();
        if (before > 0) parts.Add(PadBlock(t, ax, before, mode, value, atStart: true));
        parts.Add(t);
        if (after > 0) parts.Add(PadBlock(t, ax, after, mode, value, atStart: false));
        return Ops.Cat(parts, ax);
    }

    private static Tensor PadBlock(Tensor t, int ax, int p, string mode, double value, bool atStart)
    {
        int d = t.Size(ax);
        if (mode == "constant")
        {
            var shape = t.ShapeArray();
            shape[ax] = p;
            return Tensor.Full(t.DType, value, shape);
        }
        long[] idx = new long[p];
        for (int k = 0; k < p; k++)
            idx[k] = mode switch
            {
                "edge" => atStart ? 0 : d - 1,
                "wrap" => atStart ? ((d - p + k) % d + d) % d : k % d,
                _ => atStart ? p - k : d - 2 - k, // reflect
            };
        return Take(t, ax, idx);
    }
}
