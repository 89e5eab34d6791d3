// Depthwise convolution (groups == C == K) by direct loops over each plane: one kernel tap at a time, each output
// row a vectorised multiply-add of an input row segment (stride 1) or a strided gather (stride > 1). CGNet's
// channel-wise (dilated) 3x3 convolutions and MobileNet-style blocks take this path.
//   y[n, c, oh, ow] = sum_{i,j} w[c, 0, i, j] x[n, c, oh*s - p + i*d, ow*s - p + j*d]
using System.Numerics;
using System.Numerics.Tensors;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Kernels;

internal static class DepthwiseConv
{
    // x: [N, C, H, W], w: [C, 1, kh, kw] -> y: [N, C, Ho, Wo]
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, ConvGeometry g, int n, int c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        unsafe
        {
            fixed (T* px = x, pw = w, py = y)
            {
                nint ax = (nint)px, aw = (nint)pw, ay = (nint)py;
                int hw = g.H * g.W, howo = g.Ho * g.Wo, kk = g.Kh * g.Kw;
                Parallelism.For(n * c, 2L * howo * kk, p =>
                {
                    var xp = new ReadOnlySpan<T>((T*)ax + (long)p * hw, hw);
                    var wp = new ReadOnlySpan<T>((T*)aw + (long)(p % c) * kk, kk);
                    var yp = new Span<T>((T*)ay + (long)p * howo, howo);
                    PlaneForward(xp, wp, yp, g);
                });
            }
        }
    }

    // dy: [N, C, Ho, Wo] -> dx: [N, C, H, W] (added), dw: [C, 1, kh, kw] (added)
    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, ConvGeometry g, int n, int c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hw = g.H * g.W, howo = g.Ho * g.Wo, kk = g.Kh * g.Kw;
        bool needX = !dx.IsEmpty, needW = !dw.IsEmpty;
        var dwPer = needW ? new T[n * c * kk] : [];
        unsafe
        {
            fixed (T* px = x, pw = w, pdy = dy, pdx = dx, pdwp = dwPer)
            {
                nint ax = (nint)px, aw = (nint)pw, ady = (nint)pdy, adx = (nint)pdx, adw = (nint)pdwp;
                Parallelism.For(n * c, 4L * howo * kk, p =>
                {
                    var xp = new ReadOnlySpan<T>((T*)ax + (long)p * hw, hw);
                    var wp = new ReadOnlySpan<T>((T*)aw + (long)(p % c) * kk, kk);
                    var dyp = new ReadOnlySpan<T>((T*)ady + (long)p * howo, howo);
                    var dxp = needX ? new Span<T>((T*)adx + (long)p * hw, hw) : default;
                    var dwp = needW ? new Span<T>((T*)adw + (long)p * kk, kk) : default;
                    PlaneBackward(xp, wp, dyp, dxp, dwp, g);
                });
            }
        }
        if (!needW) return;
        for (int p = 0; p < n * c; p++)
        {
            var d = dw.Slice(p % c * kk, kk);
            TensorPrimitives.Add<T>(d, dwPer.AsSpan(p * kk, kk), d);
        }
    }

    private static void PlaneForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        y.Clear();
        for (int i = 0; i < g.Kh; i++)
            for (int j = 0; j < g.Kw; j++)
            {
                T wv = w[i * g.Kw + j];
                int dw = j * g.Dw - g.Pw;
                var (lo, hi) = Im2Col.ValidRange(dw, g.Sw, g.W, g.Wo);
                if (lo >= hi) continue;
                for (int oh = 0; oh < g.Ho; oh++)
                {
                    int ih = oh * g.Sh - g.Ph + i * g.Dh;
                    if ((uint)ih >= (uint)g.H) continue;
                    var xr = x.Slice(ih * g.W, g.W);
                    var yr = y.Slice(oh * g.Wo + lo, hi - lo);
                    if (g.Sw == 1) TensorPrimitives.MultiplyAdd(xr.Slice(lo + dw, hi - lo), wv, yr, yr);
                    else for (int o = 0; o < yr.Length; o++) yr[o] += wv * xr[(lo + o) * g.Sw + dw];
                }
            }
    }

    private static void PlaneBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dwp, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < g.Kh; i++)
            for (int j = 0; j < g.Kw; j++)
            {
                T wv = w[i * g.Kw + j];
                int dw = j * g.Dw - g.Pw;
                var (lo, hi) = Im2Col.ValidRange(dw, g.Sw, g.W, g.Wo);
                if (lo >= hi) continue;
                T acc = T.Zero;
                for (int oh = 0; oh < g.Ho; oh++)
                {
                    int ih = oh * g.Sh - g.Ph + i * g.Dh;
                    if ((uint)ih >= (uint)g.H) continue;
                    var dyr = dy.Slice(oh * g.Wo + lo, hi - lo);
                    if (g.Sw == 1)
                    {
                        if (!dwp.IsEmpty) acc += TensorPrimitives.Dot(dyr, x.Slice(ih * g.W + lo + dw, hi - lo));
                        if (!dx.IsEmpty)
                        {
                            var dxr = dx.Slice(ih * g.W + lo + dw, hi - lo);
                            TensorPrimitives.MultiplyAdd(dyr, wv, dxr, dxr);
                        }
                    }
                    else
                    {
                        for (int o = 0; o < dyr.Length; o++)
                        {
                            int iw = ih * g.W + (lo + o) * g.Sw + dw;
                            if (!dwp.IsEmpty) acc += dyr[o] * x[iw];
                            if (!dx.IsEmpty) dx[iw] += wv * dyr[o];
                        }
                    }
                }
                if (!dwp.IsEmpty) dwp[i * g.Kw + j] += acc;
            }
    }
}
