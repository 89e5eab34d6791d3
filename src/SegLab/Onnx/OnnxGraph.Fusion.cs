// Load-time fusion of the node chains that SegLab's own lightweight models run as one engine op, so that an imported
// CGNet costs what the native one costs and computes what it computes (the same kernels in the same order):
//   [Concat(axis 1) ->] BatchNormalization -> PRelu   => Ops.CatBatchNormPrelu / Ops.BatchNormPrelu (eval mode)
//   Add(r, Mul(x, s)), s one factor per image and channel => Ops.AddChannelScaled
//   Pad(zeros, symmetric, spatial) -> AveragePool(no pads)  => Ops.AvgPool2d with that padding, zeros counted
//     (PyTorch's avg_pool2d(padding=p, count_include_pad=True) export: the same sums, without the padded copy)
// Only where every intermediate value has no other reader (so nothing else can see it is skipped). Each fused step
// keeps the original kernels and runs them instead in training mode (batch statistics) or when the shapes do not fit
// the fused op at run time, so the result is always the graph's. The fused ops have their own forward/backward
// pairs (gradients to the input and every parameter, checked in the engine's tests); conv + batch-norm folding is not
// done, as it would change what the batch-norm parameters' gradients are.
using SegLab.Engine;

namespace SegLab.Onnx;

public sealed partial class OnnxGraph
{
    /// <summary>How many node chains load-time fusion replaced by one engine op, by kind.</summary>
    public IReadOnlyDictionary<string, int> Fused => _fused;

    private readonly Dictionary<string, int> _fused = new(StringComparer.Ordinal);

    private void Fuse(IReadOnlyList<string> graphOutputs)
    {
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in _steps.SelectMany(s => s.Inputs).Concat(graphOutputs))
            uses[name] = uses.GetValueOrDefault(name) + 1;
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _steps.Count; i++)
            foreach (var o in _steps[i].Outputs) if (o.Length > 0) producer[o] = i;
        bool Single(string value, string op, out int index) =>
            producer.TryGetValue(value, out index) && _steps[index].Node.Op == op && uses.GetValueOrDefault(value) == 1
            && _steps[index].Outputs.Skip(1).All(o => o.Length == 0 || !uses.ContainsKey(o));

        var removed = new HashSet<int>();
        for (int j = 0; j < _steps.Count; j++)
        {
            var step = _steps[j];
            if (step.Node.Op == "PRelu" && step.Inputs.Length == 2 && Single(step.Inputs[0], "BatchNormalization", out int b)
                && _steps[b].Inputs.Length == 5 && _steps[b].Inputs.All(s => s.Length > 0))
            {
                var bn = _steps[b];
                Step? cat = Single(bn.Inputs[0], "Concat", out int c) && _steps[c].Node.Int("axis") == 1 && _steps[c].Inputs.All(s => s.Length > 0) ? _steps[c] : null;
                string[] parts = cat?.Inputs ?? [bn.Inputs[0]];
                _steps[j] = step with { Kernel = BnPreluKernel(cat, bn, step, parts.Length), Inputs = [.. parts, .. bn.Inputs[1..], step.Inputs[1]] };
                removed.Add(b);
                if (cat is not null) removed.Add(c);
                Count(cat is null ? "BatchNormalization+PRelu" : "Concat+BatchNormalization+PRelu");
            }
            else if (step.Node.Op == "AveragePool" && step.Inputs.Length == 1 && Single(step.Inputs[0], "Pad", out int q) && _steps[q].Inputs.Length >= 2
                && _steps[q].Inputs.All(s => s.Length > 0) && PoolWithoutPads(step.Node) is { } window)
            {
                var pad = _steps[q];
                _steps[j] = step with { Kernel = PadAvgPoolKernel(pad, step, window), Inputs = pad.Inputs };
                removed.Add(q);
                Count("Pad+AveragePool");
            }
            else if (step.Node.Op == "Add" && step.Inputs.Length == 2 && Single(step.Inputs[1], "Mul", out int m) && _steps[m].Inputs.Length == 2)
            {
                var mul = _steps[m];
                _steps[j] = step with { Kernel = AddScaledKernel(mul, step), Inputs = [step.Inputs[0], .. mul.Inputs] };
                removed.Add(m);
                Count("Add+Mul (channel scale)");
            }
        }
        var kept = _steps.Where((_, i) => !removed.Contains(i)).ToList();
        _steps.Clear();
        _steps.AddRange(kept);
    }

    private void Count(string kind) => _fused[kind] = _fused.GetValueOrDefault(kind) + 1;

    // inputs: parts..., scale, B, mean, var, slope.
    private static OnnxKernel BnPreluKernel(Step? cat, Step bn, Step prelu, int partCount)
    {
        // ONNX stores epsilon as float32: take the shortest decimal that gives that float (1e-3f -> 0.001), the
        // value a PyTorch export was written from, as the native layers and PyTorch use it in double precision.
        double eps = double.Parse(bn.Node.Float("epsilon", 1e-5f).ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
        return (x, ctx) =>
        {
            var parts = x[..partCount];
            var stats = x[partCount..(partCount + 4)];
            var slope = x[partCount + 4];
            if (!ctx.Training && !ctx.Probing && parts.All(p => p is { IsInteger: false } && p.Data.Rank == 4) && stats.All(s => s is { IsInteger: false }) && slope is { IsInteger: false })
            {
                var tensors = parts.Select(p => OnnxNode.AsFloat(p!, ctx)).ToList();
                int channels = tensors.Sum(t => t.Size(1));
                var a = OnnxNode.AsFloat(slope, ctx);
                var s = stats.Select(v => OnnxNode.AsFloat(v!, ctx)).ToArray();
                bool perChannel = a.Numel == 1 || (a.Numel == channels && (a.Rank == 1 || (a.Rank == 3 && a.Size(0) == channels) || (a.Rank == 4 && a.Size(1) == channels)));
                if (perChannel && s.All(t => t.Rank == 1 && t.Numel == channels) && tensors.All(t => t.Size(0) == tensors[0].Size(0) && t.Size(2) == tensors[0].Size(2) && t.Size(3) == tensors[0].Size(3)))
                {
                    var flat = a.Rank == 1 ? a : Ops.Reshape(a, a.Numel);
                    var y = tensors.Count == 1
                        ? Ops.BatchNormPrelu(tensors[0], s[0], s[1], s[2], s[3], flat, eps)
                        : Ops.CatBatchNormPrelu(tensors, s[0], s[1], s[2], s[3], flat, eps);
                    return [new OnnxValue(y, false)];
                }
            }
            var joined = cat is null ? parts[0] : cat.Kernel(parts, ctx)[0];
            var normed = bn.Kernel([joined, .. stats], ctx)[0];
            return prelu.Kernel([normed, slope], ctx);
        };
    }

    // Kernel and strides of a 2-D AveragePool without padding, dilation or ceil mode; else null.
    private static (int Kh, int Kw, int Sh, int Sw)? PoolWithoutPads(OnnxNode n)
    {
        var k = n.Ints("kernel_shape");
        var s = n.Ints("strides") ?? [1, 1];
        bool plain = (n.Ints("pads") ?? [0, 0, 0, 0]).All(p => p == 0) && n.Int("ceil_mode", 0) == 0 && n.Str("auto_pad", "NOTSET") is "NOTSET" or "VALID"
            && (n.Ints("dilations") ?? [1, 1]).All(d => d == 1);
        return plain && k is { Length: 2 } && s.Length == 2 ? ((int)k[0], (int)k[1], (int)s[0], (int)s[1]) : null;
    }

    // inputs: Pad's (data, pads[, value[, axes]]).
    private static OnnxKernel PadAvgPoolKernel(Step pad, Step pool, (int Kh, int Kw, int Sh, int Sw) w)
    {
        bool constant = pad.Node.Str("mode", "constant") == "constant" && pad.Node.Opset >= 11;
        return (x, ctx) =>
        {
            if (constant && !ctx.Probing && x[0] is { IsInteger: false, Data.Rank: 4 } data && (x.Length < 4 || x[3] is null)
                && (x.Length < 3 || x[2] is null || x[2]!.Data.Numel == 0 || x[2]!.Doubles()[0] == 0))
            {
                long[] p = x[1]!.Longs(); // [begin N, C, H, W, end N, C, H, W]
                if (p.Length == 8 && p[0] == 0 && p[1] == 0 && p[4] == 0 && p[5] == 0 && p[2] == p[6] && p[3] == p[7]
                    && p[2] >= 0 && p[3] >= 0 && p[2] <= w.Kh / 2 && p[3] <= w.Kw / 2)
                    return [new OnnxValue(Ops.AvgPool2d(OnnxNode.AsFloat(data, ctx), w.Kh, w.Kw, w.Sh, w.Sw, (int)p[2], (int)p[3], ceilMode: false, countIncludePad: true), false)];
            }
            var padded = pad.Kernel(x, ctx)[0];
            return pool.Kernel([padded], ctx);
        };
    }

    // inputs: r, then Mul's two inputs.
    private static OnnxKernel AddScaledKernel(Step mul, Step add) => (x, ctx) =>
    {
        if (x[0] is { IsInteger: false } r && x[1] is { IsInteger: false } p && x[2] is { IsInteger: false } q && r.Data.Rank == 4)
        {
            var rt = OnnxNode.AsFloat(r, ctx);
            // One operand the full tensor, the other [N, C, 1, 1]; multiplication commutes exactly.
            foreach (var (full, scale) in new[] { (p, q), (q, p) })
            {
                var f = full.Data;
                var s = scale.Data;
                if (f.Shape.SequenceEqual(rt.Shape) && s.Rank == 4 && s.Size(0) == f.Size(0) && s.Size(1) == f.Size(1) && s.Size(2) == 1 && s.Size(3) == 1)
                    return [new OnnxValue(Ops.AddChannelScaled(rt, OnnxNode.AsFloat(full, ctx), OnnxNode.AsFloat(scale, ctx)), false)];
            }
        }
        var product = mul.Kernel([x[1], x[2]], ctx)[0];
        return add.Kernel([x[0], product], ctx);
    };
}
