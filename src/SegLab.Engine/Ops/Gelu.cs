// GELU (Hendrycks & Gimpel 2016) in its tanh form, PyTorch's F.gelu(x, approximate='tanh') (GPT-2, BERT's gelu_new):
//   forward:  u = c (x + a x^3), c = sqrt(2 / pi), a = 0.044715;  t = tanh u;  y = x (1 + t) / 2
//   backward: dx = g ((1 + t) / 2 + x (1 - t^2) c (1 + 3 a x^2) / 2)
// The exact form x Phi(x) needs erf, which .NET lacks; the two differ by at most about 5e-4 (|x| near 2).
using System.Numerics;
using SegLab.Engine.Autograd;
using SegLab.Engine.Threading;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>GELU, tanh approximation (PyTorch <c>approximate='tanh'</c>), elementwise.</summary>
    /// <param name="x">Any shape.</param>
    public static Tensor GeluTanh(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.DType, x.Dims);
        const int Chunk = 4096;
        int chunks = (x.Numel + Chunk - 1) / Chunk;
        if (x.DType == DType.Float32) Parallelism.For(chunks, 20L * Chunk, i => GeluChunk(x.Buf<float>(), y.Buf<float>(), default, i * Chunk, Math.Min(Chunk, x.Numel - i * Chunk)));
        else Parallelism.For(chunks, 20L * Chunk, i => GeluChunk(x.Buf<double>(), y.Buf<double>(), default, i * Chunk, Math.Min(Chunk, x.Numel - i * Chunk)));
        if (!GradMode.Needs(x)) return y;
        return Tape.Record(y, "gelu_tanh", [x], g =>
        {
            var gx = Tensor.Uninitialized(x.DType, x.Dims);
            if (x.DType == DType.Float32) Parallelism.For(chunks, 24L * Chunk, i => GeluChunk(x.Buf<float>(), gx.Buf<float>(), g.Buf<float>(), i * Chunk, Math.Min(Chunk, x.Numel - i * Chunk)));
            else Parallelism.For(chunks, 24L * Chunk, i => GeluChunk(x.Buf<double>(), gx.Buf<double>(), g.Buf<double>(), i * Chunk, Math.Min(Chunk, x.Numel - i * Chunk)));
            return [gx];
        });
    }

    // Elements [o, o + n): the forward value into d, or with g given the input gradient g dy/dx into d.
    private static void GeluChunk<T>(ReadOnlySpan<T> x, Span<T> d, ReadOnlySpan<T> g, int o, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T c = T.CreateChecked(0.7978845608028654), a = T.CreateChecked(0.044715), half = T.CreateChecked(0.5), three = T.CreateChecked(3);
        for (int i = o; i < o + n; i++)
        {
            T v = x[i], t = T.Tanh(c * (v + a * v * v * v));
            d[i] = g.IsEmpty ? half * v * (T.One + t)
                : g[i] * (half * (T.One + t) + half * v * (T.One - t * t) * c * (T.One + three * a * v * v));
        }
    }
}
