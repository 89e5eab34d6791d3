// ONNX convolutions, pooling and batch normalisation (2-D, NCHW) onto engine ops. ONNX pads are
// [top, left, bottom, right]: symmetric pads go to the engine op, asymmetric ones (and auto_pad SAME_* with an odd
// total) become an explicit pad (zeros; -inf for max pooling) before it, or a crop after a transposed convolution.
// An AveragePool whose kernel equals its input (unpadded, as seen by the load-time probe at the declared input
// size) runs as a global average pool, so the network accepts other spatial sizes.
using SegLab.Engine;

namespace SegLab.Onnx;

internal static partial class OnnxOps
{
    /// <summary>Spatial attributes shared by Conv, ConvTranspose and the pools.</summary>
    private sealed record Window(int[]? Kernel, int[] Strides, int[] Dilations, int[] Pads, string AutoPad);

    private static Window ReadWindow(OnnxNode n, bool kernelRequired, bool dilations = true)
    {
        static int[] Two(long[]? v, int fallback) => v is null ? [fallback, fallback] : v.Select(a => (int)a).ToArray();
        var kernel = n.Ints("kernel_shape") is { } k ? k.Select(a => (int)a).ToArray() : null;
        if (kernelRequired && kernel is null) throw n.Format("attribute 'kernel_shape' is required");
        var w = new Window(kernel, Two(n.Ints("strides"), 1), dilations ? Two(n.Ints("dilations"), 1) : [1, 1],
            n.Ints("pads") is { } p ? p.Select(a => (int)a).ToArray() : [0, 0, 0, 0], n.Str("auto_pad", "NOTSET"));
        if ((kernel is not null && kernel.Length != 2) || w.Strides.Length != 2 || w.Dilations.Length != 2 || w.Pads.Length != 4)
            throw n.Unsupported("only 2-D windows (4-D NCHW inputs) are supported");
        if (w.AutoPad is not ("NOTSET" or "SAME_UPPER" or "SAME_LOWER" or "VALID")) throw n.Format($"auto_pad '{w.AutoPad}' is not an ONNX value");
        return w;
    }

    // [top, left, bottom, right] for an input of h x w (auto_pad SAME_*: output = ceil(in / stride)).
    private static int[] Pads(Window win, int[] kernel, int h, int w)
    {
        if (win.AutoPad == "VALID") return [0, 0, 0, 0];
        if (win.AutoPad == "NOTSET") return win.Pads;
        var pads = new int[4];
        int[] size = [h, w];
        for (int a = 0; a < 2; a++)
        {
            int o = (size[a] + win.Strides[a] - 1) / win.Strides[a];
            int total = Math.Max(0, (o - 1) * win.Strides[a] + (kernel[a] - 1) * win.Dilations[a] + 1 - size[a]);
            int small = total / 2, large = total - small;
            pads[a] = win.AutoPad == "SAME_UPPER" ? small : large;
            pads[a + 2] = win.AutoPad == "SAME_UPPER" ? large : small;
        }
        return pads;
    }

    // Asymmetric pads applied explicitly (filled with value); returns the input and the symmetric pads left.
    private static (Tensor X, int PadH, int PadW) PadForWindow(OnnxNode n, Tensor x, int[] pads, double value, int maxPadH, int maxPadW)
    {
        bool symmetric = pads[0] == pads[2] && pads[1] == pads[3] && pads[0] <= maxPadH && pads[1] <= maxPadW;
        if (symmetric) return (x, pads[0], pads[1]);
        x = PadAxis(n, x, 2, pads[0], pads[2], "constant", value);
        x = PadAxis(n, x, 3, pads[1], pads[3], "constant", value);
        return (x, 0, 0);
    }

    private static OnnxKernel Conv(OnnxNode n)
    {
        var win = ReadWindow(n, kernelRequired: false);
        int groups = (int)n.Int("group", 1);
        return (x, ctx) =>
        {
            var input = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
            var weight = OnnxNode.AsFloat(n.Need(x, 1, "W"), ctx);
            var bias = x.Length > 2 && x[2] is { } b ? OnnxNode.AsFloat(b, ctx) : null;
            if (input.Rank != 4 || weight.Rank != 4) throw n.Unsupported($"only 2-D convolutions are supported (input {Shapes.Format(input.Shape)}, weight {Shapes.Format(weight.Shape)})");
            int[] kernel = win.Kernel ?? [weight.Size(2), weight.Size(3)];
            var pads = Pads(win, kernel, input.Size(2), input.Size(3));
            var (xp, ph, pw) = PadForWindow(n, input, pads, 0, int.MaxValue, int.MaxValue);
            return One(F(Ops.Conv2d(xp, weight, bias, win.Strides[0], win.Strides[1], ph, pw, win.Dilations[0], win.Dilations[1], groups)));
        };
    }

    private static OnnxKernel ConvTranspose(OnnxNode n)
    {
        var win = ReadWindow(n, kernelRequired: false);
        int groups = (int)n.Int("group", 1);
        int[] outPad = n.Ints("output_padding") is { } op ? op.Select(a => (int)a).ToArray() : [0, 0];
        long[]? outShape = n.Ints("output_shape");
        return (x, ctx) =>
        {
            var input = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
            var weight = OnnxNode.AsFloat(n.Need(x, 1, "W"), ctx);
            var bias = x.Length > 2 && x[2] is { } b ? OnnxNode.AsFloat(b, ctx) : null;
            if (input.Rank != 4 || weight.Rank != 4) throw n.Unsupported("only 2-D transposed convolutions are supported");
            int[] kernel = win.Kernel ?? [weight.Size(2), weight.Size(3)];
            int[] size = [input.Size(2), input.Size(3)];
            var pads = (int[])win.Pads.Clone();
            // Full output size s (in - 1) + output_padding + d (k - 1) + 1; output_shape or SAME_* fix the pads from it.
            for (int a = 0; a < 2; a++)
            {
                int full = win.Strides[a] * (size[a] - 1) + outPad[a] + (kernel[a] - 1) * win.Dilations[a] + 1;
                int? want = outShape is not null ? (int)outShape[outShape.Length - 2 + a] : win.AutoPad is "SAME_UPPER" or "SAME_LOWER" ? size[a] * win.Strides[a] : null;
                if (win.AutoPad == "VALID") { pads[a] = 0; pads[a + 2] = 0; }
                if (want is not int target) continue;
                int total = full - target;
                if (total < 0) throw n.Unsupported($"an output size {target} larger than the full transposed convolution ({full})");
                bool upper = win.AutoPad == "SAME_UPPER";
                pads[a] = upper ? total / 2 : total - total / 2;
                pads[a + 2] = total - pads[a];
            }
            if (pads[0] == pads[2] && pads[1] == pads[3] && outPad[0] < Math.Max(win.Strides[0], win.Dilations[0]) && outPad[1] < Math.Max(win.Strides[1], win.Dilations[1]))
                return One(F(Ops.ConvTranspose2d(input, weight, bias, win.Strides[0], win.Strides[1], pads[0], pads[1], outPad[0], outPad[1], win.Dilations[0], win.Dilations[1], groups)));
            // Asymmetric: the full output without padding, cropped (or extended by output padding), then the bias.
            var y = Ops.ConvTranspose2d(input, weight, null, win.Strides[0], win.Strides[1], 0, 0, 0, 0, win.Dilations[0], win.Dilations[1], groups);
            y = PadAxis(n, y, 2, -pads[0], outPad[0] - pads[2], "constant", 0);
            y = PadAxis(n, y, 3, -pads[1], outPad[1] - pads[3], "constant", 0);
            if (bias is not null) y = Ops.Add(y, Ops.Reshape(bias, 1, bias.Numel, 1, 1));
            return One(F(y));
        };
    }

    private static OnnxKernel MaxPool(OnnxNode n)
    {
        var win = ReadWindow(n, kernelRequired: true, dilations: n.Opset >= 10);
        bool ceil = n.Opset >= 10 && n.Int("ceil_mode", 0) != 0;
        if (n.Int("storage_order", 0) != 0) throw n.Unsupported("storage_order 1 (column-major indices)");
        var k = win.Kernel!;
        return (x, ctx) =>
        {
            var input = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
            if (input.Rank != 4) throw n.Unsupported("only 2-D pooling (4-D NCHW inputs) is supported");
            var pads = Pads(win, k, input.Size(2), input.Size(3));
            if (!ceil && EndPadsAreCeilMode(win, k, pads, input.Size(2), input.Size(3)))
                return One(F(Ops.MaxPool2d(input, k[0], k[1], win.Strides[0], win.Strides[1], 0, 0, win.Dilations[0], win.Dilations[1], ceilMode: true)));
            var (xp, ph, pw) = PadForWindow(n, input, pads, double.NegativeInfinity, k[0] / 2, k[1] / 2);
            return One(F(Ops.MaxPool2d(xp, k[0], k[1], win.Strides[0], win.Strides[1], ph, pw, win.Dilations[0], win.Dilations[1], ceil)));
        };
    }

    // Padding only at the bottom and right (-inf) is ceil mode on the unpadded input when both give the same output
    // size: the windows start at the same places, and what the padding adds to the last ones never wins a maximum.
    // The CNTK ResNet18's stem pool (3x3, stride 2, pads [0, 0, 1, 1] on 112x112) then skips two padded copies.
    private static bool EndPadsAreCeilMode(Window win, int[] k, int[] pads, int h, int w)
    {
        if (pads[0] != 0 || pads[1] != 0 || (pads[2] == 0 && pads[3] == 0)) return false;
        int[] size = [h, w];
        for (int a = 0; a < 2; a++)
        {
            int span = win.Dilations[a] * (k[a] - 1) + 1, s = win.Strides[a];
            if (size[a] < span) return false;
            int floorPadded = (size[a] + pads[a + 2] - span) / s + 1;
            int ceilUnpadded = (size[a] - span + s - 1) / s + 1;
            if ((ceilUnpadded - 1) * s >= size[a]) ceilUnpadded--; // the last window starts inside the input
            if (floorPadded != ceilUnpadded) return false;
        }
        return true;
    }

    private static OnnxKernel AveragePool(OnnxNode n)
    {
        var win = ReadWindow(n, kernelRequired: true, dilations: n.Opset >= 19);
        if (win.Dilations.Any(d => d != 1)) throw n.Unsupported("dilated average pooling");
        bool ceil = n.Opset >= 10 && n.Int("ceil_mode", 0) != 0;
        bool includePad = n.Int("count_include_pad", 0) != 0;
        var k = win.Kernel!;
        return (x, ctx) =>
        {
            var input = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
            if (input.Rank != 4) throw n.Unsupported("only 2-D pooling (4-D NCHW inputs) is supported");
            var pads = Pads(win, k, input.Size(2), input.Size(3));
            if (ctx.Probing) n.ProbeShape = input.ShapeArray();
            if (IsGlobalAveragePool(n, k, pads)) return One(F(Ops.GlobalAvgPool2d(input)));
            bool symmetric = pads[0] == pads[2] && pads[1] == pads[3] && pads[0] <= k[0] / 2 && pads[1] <= k[1] / 2;
            if (!symmetric && !includePad) throw n.Unsupported("asymmetric padding with count_include_pad 0");
            var (xp, ph, pw) = PadForWindow(n, input, pads, 0, k[0] / 2, k[1] / 2);
            return One(F(Ops.AvgPool2d(xp, k[0], k[1], win.Strides[0], win.Strides[1], ph, pw, ceil, includePad)));
        };
    }

    /// <summary>Whether an unpadded AveragePool's kernel covered its whole input in the load-time probe.</summary>
    private static bool IsGlobalAveragePool(OnnxNode n, int[] kernel, int[] pads) =>
        n.ProbeShape is { } s && pads.All(p => p == 0) && s[2] == kernel[0] && s[3] == kernel[1];

    private static OnnxKernel GlobalAveragePool(OnnxNode n) => (x, ctx) =>
    {
        var input = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
        if (input.Rank != 4) throw n.Unsupported("only 4-D NCHW inputs are supported");
        return One(F(Ops.GlobalAvgPool2d(input)));
    };

    private static OnnxKernel BatchNormalization(OnnxNode n)
    {
        double eps = n.Float("epsilon", 1e-5f), momentum = n.Float("momentum", 0.9f);
        if (n.Opset < 9 && n.Int("spatial", 1) != 1) throw n.Unsupported("spatial 0 (per-activation statistics)");
        n.Int("is_test", 0);
        n.Int("training_mode", 0);
        return (x, ctx) =>
        {
            var input = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
            var t = Enumerable.Range(1, 4).Select(i => OnnxNode.AsFloat(n.Need(x, i, "scale, B, mean, var"), ctx)).ToArray();
            // ONNX momentum weighs the old running value (PyTorch's weighs the batch); the module's mode decides.
            return One(F(Ops.BatchNorm2d(input, t[0], t[1], t[2], t[3], ctx.Training, 1 - momentum, eps)));
        };
    }
}
