// Zero padding and a 2x2 space-to-depth split in one op, with autograd: [N, C, H, W] -> [N, 4C, hs, ws],
// out[n, 4c + 2a + b, i, j] = x[n, c, 2i + a - top, 2j + b - left] (zero outside x). Every input element lands in
// exactly one output element, so the backward pass is the inverse gather. Conv2d uses it to turn a stride-2
// convolution with few input channels and a large kernel (a ResNet-style 7x7 stem) into a stride-1 convolution
// on the four phases, which the direct kernel and the stride-1 gradient paths run (Conv2d.cs).
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>
    /// Pads x with <paramref name="top"/> rows and <paramref name="left"/> columns of zeros (and zeros below and to
    /// the right as far as the output reaches) and splits it into its four 2x2 phases: [N, 4C, hs, ws].
    /// </summary>
    internal static Tensor PadSpaceToDepth2(Tensor x, int top, int left, int hs, int ws)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"space_to_depth: expected [N, C, H, W], got {Shapes.Format(x.Shape)}.");
        int n = x.Dims[0], c = x.Dims[1], h = x.Dims[2], w = x.Dims[3];
        if (top < 0 || left < 0 || 2 * hs < h + top || 2 * ws < w + left)
            throw new ArgumentException($"space_to_depth: padding ({top}, {left}) and output {hs}x{ws} do not hold input {Shapes.Format(x.Shape)}.");
        var y = Tensor.Zeros(x.DType, n, 4 * c, hs, ws);
        if (x.DType == DType.Float32) SpaceToDepthCopy(x.Buf<float>(), y.Buf<float>(), n * c, h, w, top, left, hs, ws, toPhases: true);
        else SpaceToDepthCopy(x.Buf<double>(), y.Buf<double>(), n * c, h, w, top, left, hs, ws, toPhases: true);
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "space_to_depth", [x], gy =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            if (x.DType == DType.Float32) SpaceToDepthCopy(gx.Buf<float>(), gy.Buf<float>(), n * c, h, w, top, left, hs, ws, toPhases: false);
            else SpaceToDepthCopy(gx.Buf<double>(), gy.Buf<double>(), n * c, h, w, top, left, hs, ws, toPhases: false);
            return [gx];
        });
    }

    // Between planes [P, h, w] and their phases [P, 4, hs, ws]: toPhases copies the plane's rows into the phases
    // (the phases' padding is left as it is: zero), otherwise the phases back into the plane (every plane element
    // is written). Source row r goes to phase row (r + top) / 2 of phases 2a + 0 and 2a + 1, a = (r + top) % 2; its
    // columns x with (x + left) even go to phase b = 0 at (x + left) / 2, the others to b = 1.
    private static void SpaceToDepthCopy<T>(Span<T> plane, Span<T> phases, int planes, int h, int w, int top, int left, int hs, int ws, bool toPhases)
        where T : unmanaged
    {
        int phase = hs * ws;
        unsafe
        {
            fixed (T* pp = plane, pq = phases)
            {
                nint ap = (nint)pp, aq = (nint)pq;
                Parallelism.For(planes, 2L * h * w * sizeof(T), p =>
                {
                    T* src = (T*)ap + (long)p * h * w;
                    T* dst = (T*)aq + (long)p * 4 * phase;
                    for (int r = 0; r < h; r++)
                    {
                        int a = (r + top) & 1, i = (r + top) >> 1;
                        // columns x = 0, 2, 4, ... go to phase b0 at j0 + x / 2; x = 1, 3, ... to phase 1 - b0 at j1 + x / 2
                        int b0 = left & 1, j0 = left >> 1, j1 = (left + 1) >> 1;
                        T* row = src + (long)r * w;
                        T* even = dst + (long)(2 * a + b0) * phase + (long)i * ws + j0;
                        T* odd = dst + (long)(2 * a + 1 - b0) * phase + (long)i * ws + j1;
                        if (typeof(T) == typeof(float)) SplitOrJoin((float*)row, (float*)even, (float*)odd, w, toPhases);
                        else if (toPhases)
                            for (int x = 0; x < w; x++) (x % 2 == 0 ? even : odd)[x >> 1] = row[x];
                        else
                            for (int x = 0; x < w; x++) row[x] = (x % 2 == 0 ? even : odd)[x >> 1];
                    }
                });
            }
        }
    }

    // toPhases: even[k] = row[2k], odd[k] = row[2k + 1]; otherwise the reverse. 16 columns per step with AVX2.
    private static unsafe void SplitOrJoin(float* row, float* even, float* odd, int w, bool toPhases)
    {
        int x = 0;
        if (Avx2.IsSupported)
        {
            for (; x + 16 <= w; x += 16)
            {
                int k = x >> 1;
                if (toPhases)
                {
                    var a = Avx.LoadVector256(row + x);
                    var b = Avx.LoadVector256(row + x + 8);
                    // a0 a2 b0 b2 | a4 a6 b4 b6 and a1 a3 b1 b3 | a5 a7 b5 b7, then the 64-bit pairs put in order
                    var e = Avx.Shuffle(a, b, 0b10_00_10_00);
                    var o = Avx.Shuffle(a, b, 0b11_01_11_01);
                    Avx.Store(even + k, Avx2.Permute4x64(e.AsDouble(), 0b11_01_10_00).AsSingle());
                    Avx.Store(odd + k, Avx2.Permute4x64(o.AsDouble(), 0b11_01_10_00).AsSingle());
                }
                else
                {
                    var e = Avx.LoadVector256(even + k);
                    var o = Avx.LoadVector256(odd + k);
                    var lo = Avx.UnpackLow(e, o);   // e0 o0 e1 o1 | e4 o4 e5 o5
                    var hi = Avx.UnpackHigh(e, o);  // e2 o2 e3 o3 | e6 o6 e7 o7
                    Avx.Store(row + x, Avx.Permute2x128(lo, hi, 0x20));
                    Avx.Store(row + x + 8, Avx.Permute2x128(lo, hi, 0x31));
                }
            }
        }
        for (; x < w; x++)
        {
            float* slot = (x & 1) == 0 ? even + (x >> 1) : odd + (x >> 1);
            if (toPhases) *slot = row[x];
            else row[x] = *slot;
        }
    }
}
