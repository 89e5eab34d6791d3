// Tensor factories: zeros, ones, full, arange, from data, and seeded uniform and normal samples.
namespace SegLab.Engine;

public sealed partial class Tensor
{
    /// <summary>A float32 tensor wrapping <paramref name="data"/> (not copied).</summary>
    /// <param name="data">Row-major elements; length must equal the product of the shape.</param>
    /// <param name="shape">The shape.</param>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckLength(data.Length, shape);
        return new Tensor(data, (int[])shape.Clone());
    }

    /// <summary>A float64 tensor wrapping <paramref name="data"/> (not copied).</summary>
    /// <param name="data">Row-major elements; length must equal the product of the shape.</param>
    /// <param name="shape">The shape.</param>
    public static Tensor FromArray(double[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckLength(data.Length, shape);
        return new Tensor(data, (int[])shape.Clone());
    }

    /// <summary>A one-element float32 tensor of rank 0.</summary>
    /// <param name="value">The value.</param>
    public static Tensor Scalar(float value) => new(new[] { value }, []);

    /// <summary>A float32 tensor of zeros.</summary>
    /// <param name="shape">The shape.</param>
    public static Tensor Zeros(params int[] shape) => Zeros(DType.Float32, shape);

    /// <summary>A tensor of zeros of the given type.</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="shape">The shape.</param>
    public static Tensor Zeros(DType dtype, params int[] shape)
    {
        int n = Shapes.Numel(shape);
        return new Tensor(NewStorage(dtype, n, zeroed: true), (int[])shape.Clone());
    }

    /// <summary>A float32 tensor of ones.</summary>
    /// <param name="shape">The shape.</param>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A tensor of ones of the given type.</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="shape">The shape.</param>
    public static Tensor Ones(DType dtype, params int[] shape) => Full(dtype, 1, shape);

    /// <summary>A float32 tensor filled with <paramref name="value"/>.</summary>
    /// <param name="value">Fill value.</param>
    /// <param name="shape">The shape.</param>
    public static Tensor Full(float value, params int[] shape) => Full(DType.Float32, value, shape);

    /// <summary>A tensor of the given type filled with <paramref name="value"/>.</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="value">Fill value.</param>
    /// <param name="shape">The shape.</param>
    public static Tensor Full(DType dtype, double value, params int[] shape)
    {
        var t = Uninitialized(dtype, shape);
        if (dtype == DType.Float32) t.Span.Fill((float)value);
        else t.SpanF64.Fill(value);
        return t;
    }

    /// <summary>0, 1, ..., n-1 as a float32 vector.</summary>
    /// <param name="n">Length.</param>
    public static Tensor Arange(int n) => Arange(0, n, 1);

    /// <summary>start, start+step, ... below stop, as a float32 vector.</summary>
    /// <param name="start">First value.</param>
    /// <param name="stop">Exclusive end.</param>
    /// <param name="step">Increment, non-zero.</param>
    public static Tensor Arange(double start, double stop, double step)
    {
        if (step == 0) throw new ArgumentException("Arange: step must be non-zero.", nameof(step));
        int n = Math.Max(0, (int)Math.Ceiling((stop - start) / step));
        var d = new float[n];
        for (int i = 0; i < n; i++) d[i] = (float)(start + i * step);
        return new Tensor(d, [n]);
    }

    /// <summary>Uniform samples in [low, high), float32, from a seed.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    /// <param name="seed">Seed; equal seeds give equal tensors.</param>
    public static Tensor Uniform(int[] shape, double low, double high, long seed) => Uniform(new Rng(seed), shape, low, high);

    /// <summary>Uniform samples in [low, high) drawn from <paramref name="rng"/>.</summary>
    /// <param name="rng">Generator.</param>
    /// <param name="shape">The shape.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Uniform(Rng rng, int[] shape, double low = 0, double high = 1, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = Uninitialized(dtype, shape);
        for (int i = 0; i < t.Numel; i++) t.SetFlat(i, low + (high - low) * rng.NextDouble());
        return t;
    }

    /// <summary>Normal samples, float32, from a seed.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="std">Standard deviation.</param>
    /// <param name="seed">Seed; equal seeds give equal tensors.</param>
    public static Tensor Normal(int[] shape, double mean, double std, long seed) => Normal(new Rng(seed), shape, mean, std);

    /// <summary>Normal samples drawn from <paramref name="rng"/>.</summary>
    /// <param name="rng">Generator.</param>
    /// <param name="shape">The shape.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="std">Standard deviation.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Normal(Rng rng, int[] shape, double mean = 0, double std = 1, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = Uninitialized(dtype, shape);
        for (int i = 0; i < t.Numel; i++) t.SetFlat(i, mean + std * rng.NextNormal());
        return t;
    }

    /// <summary>A tensor of zeros with this tensor's type and shape.</summary>
    public Tensor ZerosLike() => Zeros(DType, _shape);

    /// <summary>A tensor of ones with this tensor's type and shape.</summary>
    public Tensor OnesLike() => Ones(DType, _shape);

    /// <summary>Storage whose contents are unspecified, for kernels that overwrite every element.</summary>
    internal static Tensor Uninitialized(DType dtype, int[] shape)
    {
        int n = Shapes.Numel(shape);
        return new Tensor(NewStorage(dtype, n, zeroed: false), (int[])shape.Clone());
    }

    // Storage for a new tensor: the running backward pass's free gradients, else an inference scope's pool, else
    // what the last backward pass left free, else new.
    private static Array NewStorage(DType dtype, int n, bool zeroed) =>
        Autograd.GradBuffers.Allocate(dtype, n, zeroed) ?? TensorScope.Allocate(dtype, n, zeroed)
        ?? Autograd.GradBuffers.TakeLeftover(dtype, n, zeroed) ?? StoragePool.Fresh(dtype, n, zeroed);

    internal void SetFlat(int i, double v)
    {
        if (DType == DType.Float32) ((float[])_data)[i] = (float)v;
        else ((double[])_data)[i] = v;
    }

    internal double GetFlat(int i) => DType == DType.Float32 ? ((float[])_data)[i] : ((double[])_data)[i];

    private static void CheckLength(int length, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int n = Shapes.Numel(shape);
        if (n != length)
            throw new ArgumentException($"FromArray: {length} elements do not fill shape {Shapes.Format(shape)} ({n} elements).");
    }
}
