// Parameter initialisation (PyTorch's defaults) from a seeded generator, so model construction is reproducible.
namespace SegLab.Engine.Nn;

/// <summary>Initialisers and the default generator used when a layer is built without one.</summary>
public static class Init
{
    [ThreadStatic] private static Rng? t_default;

    /// <summary>The generator layers use when none is given (seed 0 until <see cref="Seed"/> is called), per thread.</summary>
    public static Rng Default => t_default ??= new Rng(0);

    /// <summary>Reseeds the default generator.</summary>
    /// <param name="seed">Seed.</param>
    public static void Seed(long seed) => t_default = new Rng(seed);

    /// <summary>PyTorch's default for conv and linear weights: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (kaiming_uniform with a = sqrt 5).</summary>
    /// <param name="shape">Weight shape; fan-in is the product of all axes but the first.</param>
    /// <param name="rng">Generator, or the default.</param>
    /// <param name="fanIn">Fan-in override (transposed convolutions use axis 1 times the kernel area).</param>
    public static Tensor DefaultWeight(int[] shape, Rng? rng = null, int? fanIn = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int fi = fanIn ?? Shapes.Numel(shape.AsSpan(1));
        double bound = fi > 0 ? 1.0 / Math.Sqrt(fi) : 0;
        return Tensor.Uniform(rng ?? Default, shape, -bound, bound);
    }

    /// <summary>Kaiming-normal weights (fan-out, ReLU gain), the usual choice for networks trained from scratch.</summary>
    /// <param name="shape">Weight shape.</param>
    /// <param name="rng">Generator, or the default.</param>
    public static Tensor KaimingNormal(int[] shape, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int fanOut = shape[0] * (shape.Length > 2 ? Shapes.Numel(shape.AsSpan(2)) : 1);
        return Tensor.Normal(rng ?? Default, shape, 0, Math.Sqrt(2.0 / Math.Max(1, fanOut)));
    }
}
