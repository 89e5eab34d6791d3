// ONNX Resize (opsets 10-21) and Upsample (7-9) on NCHW inputs, nearest and linear, as per-axis tables for the
// engine's Resample2d. The source coordinate of output position o follows coordinate_transformation_mode
// (half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric),
// computed in float32 as ONNX Runtime does; nearest rounds it by nearest_mode, linear clamps it to [0, in - 1] and
// interpolates between floor and floor + 1. Before opset 11 the rule is asymmetric, nearest taking the floor when
// upsampling and the ceiling when downsampling. Cubic, tf_crop_and_resize, tf_half_pixel_for_nearest (which ONNX
// Runtime no longer runs, so no reference checks it) and antialiasing are refused at load. Bilinear resizes to given
// sizes by a power-of-two factor under align_corners, half_pixel or pytorch_half_pixel run as Ops.Interpolate.
using SegLab.Engine;

namespace SegLab.Onnx;

internal static partial class OnnxOps
{
    private sealed record ResizeRule(bool Linear, string Coordinates, string NearestMode);

    private static OnnxKernel Upsample(OnnxNode n) => ResizeCore(n, ReadResizeRule(n, legacy: true), legacyScales: n.Opset < 9 ? n.Floats("scales") : null);

    private static OnnxKernel Resize(OnnxNode n)
    {
        var rule = ReadResizeRule(n, legacy: n.Opset < 11);
        if (n.Opset >= 18)
        {
            if (n.Int("antialias", 0) != 0) throw n.Unsupported("antialias 1");
            string policy = n.Str("keep_aspect_ratio_policy", "stretch");
            if (policy != "stretch") throw n.Unsupported($"keep_aspect_ratio_policy '{policy}' (supported: stretch)");
        }
        if (n.Opset >= 11)
        {
            n.Float("cubic_coeff_a", -0.75f);
            n.Int("exclude_outside", 0);
            n.Float("extrapolation_value", 0);
        }
        return ResizeCore(n, rule, legacyScales: null);
    }

    private static ResizeRule ReadResizeRule(OnnxNode n, bool legacy)
    {
        string mode = n.Str("mode", "nearest");
        if (mode is not ("nearest" or "linear" or "bilinear")) throw n.Unsupported($"mode '{mode}' (supported: nearest, linear)");
        if (legacy) return new ResizeRule(mode != "nearest", "asymmetric", "legacy");
        string coords = n.Str("coordinate_transformation_mode", "half_pixel");
        if (coords is not ("half_pixel" or "half_pixel_symmetric" or "pytorch_half_pixel" or "align_corners" or "asymmetric"))
            throw n.Unsupported($"coordinate_transformation_mode '{coords}' (supported: half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric)");
        string nearest = n.Str("nearest_mode", "round_prefer_floor");
        if (nearest is not ("round_prefer_floor" or "round_prefer_ceil" or "floor" or "ceil")) throw n.Format($"nearest_mode '{nearest}' is not an ONNX value");
        return new ResizeRule(mode != "nearest", coords, nearest);
    }

    // Inputs: Upsample-9 and Resize-10 (X, scales); Resize-11+ (X, roi, scales, sizes), with opset 18's axes.
    private static OnnxKernel ResizeCore(OnnxNode n, ResizeRule rule, float[]? legacyScales)
    {
        long[]? axesAttr = n.Opset >= 18 ? n.Ints("axes") : null;
        return (x, ctx) =>
        {
            var t = OnnxNode.AsFloat(n.Need(x, 0, "X"), ctx);
            if (t.Rank != 4) throw n.Unsupported($"only 4-D NCHW inputs are resized (got {Shapes.Format(t.Shape)})");
            int scalesAt = n.Op == "Upsample" || n.Opset < 11 ? 1 : 2;
            var scalesIn = legacyScales is not null ? null : x.Length > scalesAt ? x[scalesAt] : null;
            var sizesIn = scalesAt == 2 && x.Length > 3 ? x[3] : null;
            int[] axes = axesAttr?.Select(a => n.Axis(a, 4)).ToArray() ?? [0, 1, 2, 3];
            var scale = new float[4];
            var size = new int[4];
            for (int a = 0; a < 4; a++) { scale[a] = 1; size[a] = t.Size(a); }
            if (sizesIn is { } sz && sz.Data.Numel > 0)
            {
                long[] s = sz.Longs();
                if (s.Length != axes.Length) throw n.Format($"{s.Length} sizes for {axes.Length} axes");
                for (int i = 0; i < axes.Length; i++) { size[axes[i]] = (int)s[i]; scale[axes[i]] = (float)s[i] / t.Size(axes[i]); }
            }
            else
            {
                float[] s = legacyScales ?? (scalesIn is { } sc && sc.Data.Numel > 0 ? Array.ConvertAll(sc.Doubles(), v => (float)v) : throw n.Format("neither scales nor sizes are given"));
                if (s.Length != axes.Length) throw n.Format($"{s.Length} scales for {axes.Length} axes");
                for (int i = 0; i < axes.Length; i++) { scale[axes[i]] = s[i]; size[axes[i]] = (int)Math.Floor(t.Size(axes[i]) * (double)s[i]); }
            }
            if (size[0] != t.Size(0) || size[1] != t.Size(1)) throw n.Unsupported("resizing the batch or channel axis");
            if (size[2] == t.Size(2) && size[3] == t.Size(3) && scale[2] == 1 && scale[3] == 1) return One(F(t));
            // Bilinear at given sizes by a power-of-two factor is the engine's own interpolation (PyTorch's
            // F.interpolate(size=...), as the native models call it) with its faster kernel pair: there the source
            // coordinates are exact in float32 and double alike, so both give the same weights.
            bool sized = sizesIn is { } si && si.Data.Numel > 0;
            bool halfPixel = rule.Coordinates is "half_pixel" or "pytorch_half_pixel", corners = rule.Coordinates == "align_corners";
            if (rule.Linear && sized && (halfPixel || corners) && ExactFactor(t.Size(2), size[2], corners) && ExactFactor(t.Size(3), size[3], corners))
                return One(F(Ops.Interpolate(t, size[2], size[3], InterpolationMode.Bilinear, alignCorners: corners)));
            var rows = AxisTable(rule, t.Size(2), size[2], scale[2]);
            var cols = AxisTable(rule, t.Size(3), size[3], scale[3]);
            return One(F(Ops.Resample2d(t, rows, cols)));
        };
    }

    // out = in * 2^k (align_corners: out - 1 = (in - 1) * 2^k), k >= 0, out > 1.
    private static bool ExactFactor(int inLen, int outLen, bool corners)
    {
        int a = corners ? inLen - 1 : inLen, b = corners ? outLen - 1 : outLen;
        return a > 0 && outLen > 1 && b % a == 0 && int.IsPow2(b / a);
    }

    private static ResampleAxis AxisTable(ResizeRule rule, int inLen, int outLen, float scale)
    {
        var i0 = new int[outLen];
        var i1 = new int[outLen];
        var w = new double[outLen];
        for (int o = 0; o < outLen; o++)
        {
            float src = Source(rule.Coordinates, o, inLen, outLen, scale);
            if (!rule.Linear)
            {
                i0[o] = i1[o] = Math.Clamp(Round(rule.NearestMode, src, scale < 1), 0, inLen - 1);
                continue;
            }
            src = Math.Clamp(src, 0, inLen - 1);
            int lo = (int)MathF.Floor(src);
            i0[o] = lo;
            i1[o] = Math.Min(lo + 1, inLen - 1);
            w[o] = i1[o] == lo ? 0 : src - lo;
        }
        return new ResampleAxis(i0, i1, w);
    }

    // The source coordinate of output position o, in float32 as ONNX Runtime computes it.
    private static float Source(string mode, int o, int inLen, int outLen, float scale) => mode switch
    {
        "half_pixel" => (o + 0.5f) / scale - 0.5f,
        "half_pixel_symmetric" => inLen / 2f * (1 - outLen / (scale * inLen)) + (o + 0.5f) / scale - 0.5f,
        "pytorch_half_pixel" => outLen > 1 ? (o + 0.5f) / scale - 0.5f : 0f,
        "align_corners" => outLen == 1 ? 0f : o * (float)(inLen - 1) / (outLen - 1),
        _ => o / scale, // asymmetric
    };

    private static int Round(string mode, float x, bool downsampling) => mode switch
    {
        "round_prefer_floor" => x == MathF.Floor(x) + 0.5f ? (int)MathF.Floor(x) : (int)MathF.Round(x, MidpointRounding.AwayFromZero),
        "round_prefer_ceil" => (int)MathF.Round(x, MidpointRounding.AwayFromZero),
        "floor" => (int)MathF.Floor(x),
        "ceil" => (int)MathF.Ceiling(x),
        _ => downsampling ? (int)MathF.Ceiling(x) : (int)x, // before opset 11
    };
}
