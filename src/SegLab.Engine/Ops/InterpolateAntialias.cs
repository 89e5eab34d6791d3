// Antialiased bilinear resizing of NCHW images: PyTorch's F.interpolate(x, size, mode='bilinear',
// align_corners=False, antialias=True), which is also PIL's BILINEAR filter (without its 8-bit rounding). Shrinking
// widens the triangle filter to the scale, so every input pixel contributes; plain bilinear (Interpolate.cs) reads
// only the two nearest pixels and aliases. Fixed-size models (ESPNetv2) resize their input with it, as EdgeNets'
// PIL-based evaluation does.
//
// Per axis (a table computed once per call), as PyTorch's _compute_indices_weights_aa:
//   scale = in / out; support = max(scale, 1); invscale = scale >= 1 ? 1 / scale : 1; center_o = scale * (o + 0.5);
//   xmin_o = max(trunc(center_o - support + 0.5), 0); xmax_o = min(trunc(center_o + support + 0.5), in);
//   w_o[j] = tri((xmin_o + j - center_o + 0.5) * invscale), tri(t) = max(1 - |t|, 0), normalised to sum 1.
// Separable, width first, then height: y = W_h (x W_w^T) per plane; the backward is the adjoint W_h^T gy W_w.
// Computed in double, rounded to the tensor's type once per output (float32 within about 1e-7 of PyTorch's).
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>
    /// Resizes an NCHW tensor to [N, C, outH, outW] with the antialiased bilinear filter (PyTorch
    /// <c>F.interpolate(x, size=(outH, outW), mode='bilinear', align_corners=False, antialias=True)</c>, PIL's BILINEAR).
    /// </summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="outH">Output height.</param>
    /// <param name="outW">Output width.</param>
    public static Tensor InterpolateAntialias(Tensor x, int outH, int outW)
    {
        ArgumentNullException.ThrowIfNull(x);
        const string op = "interpolate (bilinear, antialias)";
        if (x.Rank != 4) throw new ArgumentException($"{op}: expected an [N, C, H, W] input, got shape {Shapes.Format(x.Shape)}.");
        int n = x.Dims[0], c = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        if (outH <= 0 || outW <= 0 || h <= 0 || w <= 0)
            throw new ArgumentException($"{op}: cannot resize input {Shapes.Format(x.Shape)} to ({outH}, {outW}); both sizes must be positive.");
        var rows = AntialiasTable.Of(h, outH);
        var cols = AntialiasTable.Of(w, outW);
        int planes = n * c;
        var src = x.ToArrayF64();
        var dst = new double[planes * outH * outW];
        Parallelism.For(planes, (long)h * w * cols.Taps + (long)outH * outW * rows.Taps, p =>
        {
            var tmp = new double[h * outW];
            for (int i = 0; i < h; i++) cols.Apply(src.AsSpan((p * h + i) * w, w), tmp.AsSpan(i * outW, outW), 1);
            for (int j = 0; j < outW; j++) rows.ApplyStrided(tmp, j, outW, dst, p * outH * outW + j, outW);
        });
        var y = Tensor.FromArray(dst, n, c, outH, outW).To(x.DType);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "interpolate (antialias)", [x], gy =>
        {
            var g = gy.ToArrayF64();
            var gx = new double[planes * h * w];
            Parallelism.For(planes, (long)h * w * cols.Taps + (long)outH * outW * rows.Taps, p =>
            {
                // gtmp = W_h^T gy (per column), then gx = gtmp W_w (per row).
                var gtmp = new double[h * outW];
                for (int j = 0; j < outW; j++) rows.ScatterStrided(g, p * outH * outW + j, outW, gtmp, j, outW);
                for (int i = 0; i < h; i++) cols.Scatter(gtmp.AsSpan(i * outW, outW), gx.AsSpan((p * h + i) * w, w));
            });
            return [Tensor.FromArray(gx, n, c, h, w).To(x.DType)];
        });
    }

    /// <summary>One axis of the antialiased filter: for each output index, the first input index and its normalised weights.</summary>
    private sealed class AntialiasTable
    {
        private readonly int[] _start;
        private readonly int[] _count;
        private readonly double[] _weights; // [out, Taps]

        private AntialiasTable(int[] start, int[] count, double[] weights, int taps)
        {
            _start = start;
            _count = count;
            _weights = weights;
            Taps = taps;
        }

        public int Taps { get; }

        public static AntialiasTable Of(int inSize, int outSize)
        {
            double scale = (double)inSize / outSize;
            double support = scale >= 1 ? scale : 1;
            double invscale = scale >= 1 ? 1 / scale : 1;
            int taps = (int)Math.Ceiling(support) * 2 + 1;
            var start = new int[outSize];
            var count = new int[outSize];
            var weights = new double[outSize * taps];
            for (int o = 0; o < outSize; o++)
            {
                double center = scale * (o + 0.5);
                int xmin = Math.Max((int)(center - support + 0.5), 0);
                int xsize = Math.Min(Math.Min((int)(center + support + 0.5), inSize) - xmin, taps);
                double total = 0;
                for (int j = 0; j < xsize; j++)
                {
                    double t = Math.Abs((j + xmin - center + 0.5) * invscale);
                    double v = t < 1 ? 1 - t : 0;
                    weights[o * taps + j] = v;
                    total += v;
                }
                if (total != 0)
                    for (int j = 0; j < xsize; j++) weights[o * taps + j] /= total;
                start[o] = xmin;
                count[o] = xsize;
            }
            return new AntialiasTable(start, count, weights, taps);
        }

        // dst[o * stride] = sum_j w[o, j] src[start_o + j]
        public void Apply(ReadOnlySpan<double> src, Span<double> dst, int stride)
        {
            for (int o = 0; o < _start.Length; o++)
            {
                double s = 0;
                for (int j = 0; j < _count[o]; j++) s += _weights[o * Taps + j] * src[_start[o] + j];
                dst[o * stride] = s;
            }
        }

        // Along a strided axis: dst[dstOff + o * dstStride] = sum_j w[o, j] src[srcOff + (start_o + j) * srcStride]
        public void ApplyStrided(double[] src, int srcOff, int srcStride, double[] dst, int dstOff, int dstStride)
        {
            for (int o = 0; o < _start.Length; o++)
            {
                double s = 0;
                for (int j = 0; j < _count[o]; j++) s += _weights[o * Taps + j] * src[srcOff + (_start[o] + j) * srcStride];
                dst[dstOff + o * dstStride] = s;
            }
        }

        // The adjoint of Apply: dst[start_o + j] += w[o, j] src[o]
        public void Scatter(ReadOnlySpan<double> src, Span<double> dst)
        {
            for (int o = 0; o < _start.Length; o++)
                for (int j = 0; j < _count[o]; j++) dst[_start[o] + j] += _weights[o * Taps + j] * src[o];
        }

        // The adjoint of ApplyStrided.
        public void ScatterStrided(double[] src, int srcOff, int srcStride, double[] dst, int dstOff, int dstStride)
        {
            for (int o = 0; o < _start.Length; o++)
                for (int j = 0; j < _count[o]; j++) dst[dstOff + (_start[o] + j) * dstStride] += _weights[o * Taps + j] * src[srcOff + o * srcStride];
        }
    }
}
