// Inverted dropout (Srivastava et al. 2014): kept values are scaled by 1/(1-p) in training so evaluation is the
// identity. The mask comes from the caller's seeded generator, so runs repeat.
using SegLab.Engine.Autograd;

namespace SegLab.Engine;

public static partial class Ops
{
    /// <summary>Zeroes each element with probability p and scales the rest by 1/(1-p); identity unless training.</summary>
    /// <param name="x">Input.</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="training">Apply dropout.</param>
    /// <param name="rng">Mask generator.</param>
    public static Tensor Dropout(Tensor x, double p, bool training, Rng rng) => DropoutCore("dropout", x, p, training, rng, perChannel: false);

    /// <summary>Zeroes whole channels (axis 1 of [N, C, ...]) with probability p, scaling the rest by 1/(1-p).</summary>
    /// <param name="x">Input [N, C, ...].</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="training">Apply dropout.</param>
    /// <param name="rng">Mask generator.</param>
    public static Tensor Dropout2d(Tensor x, double p, bool training, Rng rng) => DropoutCore("dropout2d", x, p, training, rng, perChannel: true);

    private static Tensor DropoutCore(string name, Tensor x, double p, bool training, Rng rng, bool perChannel)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        if (p < 0 || p >= 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, $"{name}: p must be in [0, 1)");
        if (!training || p == 0) return x;
        if (perChannel && x.Rank < 2) throw new ArgumentException($"{name}: input needs [N, C, ...], got {Shapes.Format(x.Shape)}.");
        int groups = perChannel ? x.Dims[0] * x.Dims[1] : x.Numel;
        int inner = perChannel ? x.Numel / Math.Max(1, groups) : 1;
        var mask = Tensor.Uninitialized(x.DType, x.Dims);
        double keep = 1.0 / (1 - p);
        for (int gi = 0; gi < groups; gi++)
        {
            double v = rng.NextDouble() < p ? 0 : keep;
            for (int i = 0; i < inner; i++) mask.SetFlat(gi * inner + i, v);
        }
        return Mul(x, mask);
    }
}
