// Depthwise convolution (groups == C == K, one kh x kw filter per channel) by direct SIMD loops, no GEMM: each
// plane is copied once into a zero-padded scratch plane (thread-local, reused), so the inner loops are
// branch-free: Vector256 over the output width, all taps accumulated in a register, one store per vector.
// CGNet's channel-wise (dilated) 3x3 convolutions and ESPNet/MobileNet-style blocks take this path.
//   y[n, c, oh, ow] = b[c] + sum_{i,j} w[c, 0, i, j] xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]
// The input gradient of a stride-1 depthwise conv is itself a depthwise conv (flipped filter) and goes through
// Forward; strided ones scatter through ScatterInput.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SegLab.Engine.Threading;

namespace SegLab.Engine.Kernels;

internal static class ConvDepthwise
{
    // x: [N, C, H, W], w: [C, 1, kh, kw], b: [C] or empty -> y: [N, C, Ho, Wo] (written)
    public static unsafe void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> y, ConvGeometry g, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = g.C, hw = g.H * g.W, howo = g.Ho * g.Wo, kk = g.Kh * g.Kw;
        bool hasBias = !b.IsEmpty;
        fixed (T* px = x, pw = w, pb = b, py = y)
        {
            nint ax = (nint)px, aw = (nint)pw, ab = (nint)pb, ay = (nint)py;
            Parallelism.For(n * c, 2L * howo * kk + 2L * hw, p =>
            {
                int ch = p % c;
                var xp = new ReadOnlySpan<T>((T*)ax + (long)p * hw, hw);
                var wp = new ReadOnlySpan<T>((T*)aw + (long)ch * kk, kk);
                var yp = new Span<T>((T*)ay + (long)p * howo, howo);
                PlaneForward(xp, wp, hasBias ? ((T*)ab)[ch] : T.Zero, yp, g);
            });
        }
    }

    // x: [N, C, H, W], dy: [N, C, Ho, Wo] -> dw: [C, 1, kh, kw] (added)
    public static unsafe void WeightGrad<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dw, ConvGeometry g, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = g.C, hw = g.H * g.W, howo = g.Ho * g.Wo, kk = g.Kh * g.Kw;
        var partial = new T[n * c * kk];
        fixed (T* px = x, pdy = dy, ppart = partial)
        {
            nint ax = (nint)px, ady = (nint)pdy, apart = (nint)ppart;
            Parallelism.For(n * c, 2L * howo * kk + 2L * hw, p =>
            {
                var xp = new ReadOnlySpan<T>((T*)ax + (long)p * hw, hw);
                var dyp = new ReadOnlySpan<T>((T*)ady + (long)p * howo, howo);
                PlaneWeightGrad(xp, dyp, new Span<T>((T*)apart + (long)p * kk, kk), g);
            });
        }
        for (int p = 0; p < n * c; p++)
        {
            var d = dw.Slice(p % c * kk, kk);
            System.Numerics.Tensors.TensorPrimitives.Add<T>(d, partial.AsSpan(p * kk, kk), d);
        }
    }

    // dy: [N, C, Ho, Wo], w: [C, 1, kh, kw] -> dx: [N, C, H, W] (written); any stride
    public static unsafe void ScatterInput<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, ConvGeometry g, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = g.C, hw = g.H * g.W, howo = g.Ho * g.Wo, kk = g.Kh * g.Kw;
        fixed (T* pdy = dy, pw = w, pdx = dx)
        {
            nint ady = (nint)pdy, aw = (nint)pw, adx = (nint)pdx;
            Parallelism.For(n * c, 2L * howo * kk + 2L * hw, p =>
            {
                var dyp = new ReadOnlySpan<T>((T*)ady + (long)p * howo, howo);
                var wp = new ReadOnlySpan<T>((T*)aw + (long)(p % c) * kk, kk);
                PlaneScatter(dyp, wp, new Span<T>((T*)adx + (long)p * hw, hw), g);
            });
        }
    }

    /// <summary>Padded plane extent: every input row/column a tap reads, in padded coordinates.</summary>
    private static (int Hp, int Wp) Padded(ConvGeometry g) =>
        ((g.Ho - 1) * g.Sh + (g.Kh - 1) * g.Dh + 1, (g.Wo - 1) * g.Sw + (g.Kw - 1) * g.Dw + 1);

    // x: [H, W] -> xp: [Hp, Wp], xp[r, q] = x[r - ph, q - pw] or 0
    private static void Pad<T>(ReadOnlySpan<T> x, Span<T> xp, ConvGeometry g, int hp, int wp) where T : unmanaged, INumberBase<T>
    {
        int q0 = Math.Min(g.Pw, wp), q1 = Math.Clamp(g.Pw + g.W, q0, wp);
        for (int r = 0; r < hp; r++)
        {
            var row = xp.Slice(r * wp, wp);
            int ih = r - g.Ph;
            if ((uint)ih >= (uint)g.H)
            {
                row.Clear();
                continue;
            }
            row[..q0].Clear();
            if (q1 > q0) x.Slice(ih * g.W + (q0 - g.Pw), q1 - q0).CopyTo(row[q0..q1]);
            row[q1..].Clear();
        }
    }

    // x: [H, W], w: [kh, kw] -> y: [Ho, Wo]
    private static void PlaneForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, T bias, Span<T> y, ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (hp, wp) = Padded(g);
        var pad = Scratch<T>.Get(hp * wp);
        Pad(x, pad, g, hp, wp);
        if (typeof(T) == typeof(float) && g.Kh == 3 && g.Kw == 3 && g.Sh == 1 && g.Sw == 1 && g.Wo >= Vector256<float>.Count && Fma.IsSupported)
        {
            Plane3x3(MemoryMarshal.Cast<T, float>(pad), MemoryMarshal.Cast<T, float>(w), float.CreateTruncating(bias), MemoryMarshal.Cast<T, float>(y), g, wp);
            return;
        }
        int kk = g.Kh * g.Kw;
        Span<int> off = stackalloc int[kk];
        for (int i = 0; i < g.Kh; i++)
            for (int j = 0; j < g.Kw; j++) off[i * g.Kw + j] = i * g.Dh * wp + j * g.Dw;
        ref T xp0 = ref MemoryMarshal.GetReference(pad);
        ref T w0 = ref MemoryMarshal.GetReference(w);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        int vc = Vector256<T>.Count, wo = g.Wo, sw = g.Sw;
        bool simd = Vector256.IsHardwareAccelerated && sw == 1;
        var vb = Vector256.Create(bias);
        for (int oh = 0; oh < g.Ho; oh++)
        {
            ref T xr = ref Unsafe.Add(ref xp0, oh * g.Sh * wp);
            ref T yr = ref Unsafe.Add(ref y0, oh * wo);
            int ow = 0;
            if (simd)
            {
                for (; ow + 2 * vc <= wo; ow += 2 * vc)
                {
                    Vector256<T> a0 = vb, a1 = vb;
                    for (int t = 0; t < kk; t++)
                    {
                        var wv = Vector256.Create(Unsafe.Add(ref w0, t));
                        ref T s = ref Unsafe.Add(ref xr, off[t] + ow);
                        a0 += wv * Vector256.LoadUnsafe(ref s);
                        a1 += wv * Vector256.LoadUnsafe(ref s, (nuint)vc);
                    }
                    a0.StoreUnsafe(ref yr, (nuint)ow);
                    a1.StoreUnsafe(ref yr, (nuint)(ow + vc));
                }
                for (; ow + vc <= wo; ow += vc)
                {
                    Vector256<T> a0 = vb;
                    for (int t = 0; t < kk; t++)
                        a0 += Vector256.Create(Unsafe.Add(ref w0, t)) * Vector256.LoadUnsafe(ref Unsafe.Add(ref xr, off[t] + ow));
                    a0.StoreUnsafe(ref yr, (nuint)ow);
                }
            }
            for (; ow < wo; ow++)
            {
                T acc = bias;
                for (int t = 0; t < kk; t++) acc += Unsafe.Add(ref w0, t) * Unsafe.Add(ref xr, off[t] + ow * sw);
                Unsafe.Add(ref yr, ow) = acc;
            }
        }
    }

    // The common case (CGNet, ESPNet, MobileNet blocks): 3x3, stride 1, any dilation, float32. The nine weights stay
    // in registers, taps are fused multiply-adds, and a row's last partial vector is recomputed overlapping the one
    // before (it writes the same values), so there is no scalar tail. About twice the generic loop on 45x60 planes.
    // pad: [Hp, Wp] padded plane, w: [3, 3] -> y: [Ho, Wo]
    private static void Plane3x3(ReadOnlySpan<float> pad, ReadOnlySpan<float> w, float bias, Span<float> y, ConvGeometry g, int wp)
    {
        int vc = Vector256<float>.Count, wo = g.Wo, dh = g.Dh * wp, dw = g.Dw;
        var k0 = Vector256.Create(w[0]); var k1 = Vector256.Create(w[1]); var k2 = Vector256.Create(w[2]);
        var k3 = Vector256.Create(w[3]); var k4 = Vector256.Create(w[4]); var k5 = Vector256.Create(w[5]);
        var k6 = Vector256.Create(w[6]); var k7 = Vector256.Create(w[7]); var k8 = Vector256.Create(w[8]);
        var vb = Vector256.Create(bias);
        ref float p0 = ref MemoryMarshal.GetReference(pad);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        for (int oh = 0; oh < g.Ho; oh++)
        {
            ref float r0 = ref Unsafe.Add(ref p0, oh * wp);
            ref float r1 = ref Unsafe.Add(ref r0, dh);
            ref float r2 = ref Unsafe.Add(ref r1, dh);
            ref float yr = ref Unsafe.Add(ref y0, oh * wo);
            for (int ow = 0; ; ow += vc)
            {
                if (ow + vc > wo) ow = wo - vc;
                nuint a = (nuint)ow, b = (nuint)(ow + dw), c = (nuint)(ow + 2 * dw);
                var acc = Fma.MultiplyAdd(k0, Vector256.LoadUnsafe(ref r0, a), vb);
                acc = Fma.MultiplyAdd(k1, Vector256.LoadUnsafe(ref r0, b), acc);
                acc = Fma.MultiplyAdd(k2, Vector256.LoadUnsafe(ref r0, c), acc);
                acc = Fma.MultiplyAdd(k3, Vector256.LoadUnsafe(ref r1, a), acc);
                acc = Fma.MultiplyAdd(k4, Vector256.LoadUnsafe(ref r1, b), acc);
                acc = Fma.MultiplyAdd(k5, Vector256.LoadUnsafe(ref r1, c), acc);
                acc = Fma.MultiplyAdd(k6, Vector256.LoadUnsafe(ref r2, a), acc);
                acc = Fma.MultiplyAdd(k7, Vector256.LoadUnsafe(ref r2, b), acc);
                acc = Fma.MultiplyAdd(k8, Vector256.LoadUnsafe(ref r2, c), acc);
                acc.StoreUnsafe(ref yr, a);
                if (ow + vc >= wo) break;
            }
        }
    }

    // x: [H, W], dy: [Ho, Wo] -> dw: [kh, kw] (written)
    private static void PlaneWeightGrad<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dw, ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (hp, wp) = Padded(g);
        var pad = Scratch<T>.Get(hp * wp);
        Pad(x, pad, g, hp, wp);
        ref T xp0 = ref MemoryMarshal.GetReference(pad);
        ref T dy0 = ref MemoryMarshal.GetReference(dy);
        int vc = Vector256<T>.Count, wo = g.Wo, sw = g.Sw;
        bool simd = Vector256.IsHardwareAccelerated && sw == 1;
        for (int i = 0; i < g.Kh; i++)
            for (int j = 0; j < g.Kw; j++)
            {
                var acc = Vector256<T>.Zero;
                T tail = T.Zero;
                for (int oh = 0; oh < g.Ho; oh++)
                {
                    ref T xr = ref Unsafe.Add(ref xp0, (oh * g.Sh + i * g.Dh) * wp + j * g.Dw);
                    ref T dr = ref Unsafe.Add(ref dy0, oh * wo);
                    int ow = 0;
                    if (simd)
                        for (; ow + vc <= wo; ow += vc)
                            acc += Vector256.LoadUnsafe(ref dr, (nuint)ow) * Vector256.LoadUnsafe(ref xr, (nuint)ow);
                    for (; ow < wo; ow++) tail += Unsafe.Add(ref dr, ow) * Unsafe.Add(ref xr, ow * sw);
                }
                dw[i * g.Kw + j] = Vector256.Sum(acc) + tail;
            }
    }

    // dy: [Ho, Wo], w: [kh, kw] -> dx: [H, W] (written), through a padded accumulator
    private static void PlaneScatter<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (hp, wp) = Padded(g);
        var pad = Scratch<T>.Get(hp * wp);
        pad.Clear();
        for (int oh = 0; oh < g.Ho; oh++)
            for (int i = 0; i < g.Kh; i++)
                for (int j = 0; j < g.Kw; j++)
                {
                    T wv = w[i * g.Kw + j];
                    var dr = dy.Slice(oh * g.Wo, g.Wo);
                    var pr = pad.Slice((oh * g.Sh + i * g.Dh) * wp + j * g.Dw);
                    for (int ow = 0; ow < dr.Length; ow++) pr[ow * g.Sw] += wv * dr[ow];
                }
        // crop: dx[ih, iw] = pad[ih + ph, iw + pw] where inside the padded extent, else 0
        for (int ih = 0; ih < g.H; ih++)
        {
            var row = dx.Slice(ih * g.W, g.W);
            row.Clear();
            int r = ih + g.Ph;
            if (r >= hp) continue;
            int n = Math.Clamp(wp - g.Pw, 0, g.W);
            if (n == 0) continue;
            pad.Slice(r * wp + g.Pw, n).CopyTo(row[..n]);
        }
    }

    /// <summary>Per-thread scratch plane, grown on demand and kept (kernels on one thread never nest).</summary>
    private static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] private static T[]? t_buffer;

        public static Span<T> Get(int length)
        {
            var b = t_buffer;
            if (b is null || b.Length < length) t_buffer = b = new T[Math.Max(length, 4096)];
            return b.AsSpan(0, length);
        }
    }
}
