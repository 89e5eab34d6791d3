// Finite-difference gradient checking in float64: the one helper every operation's test goes through.
namespace SegLab.Engine.Tests.Autograd;

/// <summary>Compares tape gradients with central differences.</summary>
internal static class GradCheck
{
    /// <summary>
    /// Builds float64 leaf inputs, reduces f's output to a scalar with fixed random weights, and returns the
    /// worst (|analytic - numeric| / (atol + rtol * |numeric|)) over every input element; below 1 passes.
    /// </summary>
    public static (double Worst, string Where) Run(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-7, double rtol = 1e-5)
    {
        var leaves = inputs.Select(x => x.To(DType.Float64).Clone().RequireGrad()).ToArray();
        var probe = f(leaves);
        var weights = Tensor.Uniform(new Rng(1234), probe.ShapeArray(), -1, 1, DType.Float64);
        Tensor Loss(Tensor[] xs) => Ops.Sum(Ops.Mul(f(xs), weights));

        var analytic = SegLab.Engine.Autograd.Tape.Grad(Loss(leaves), leaves);
        double worst = 0;
        string where = "";
        for (int k = 0; k < leaves.Length; k++)
        {
            var x = leaves[k];
            var data = x.SpanF64;
            for (int i = 0; i < x.Numel; i++)
            {
                double saved = data[i];
                data[i] = saved + eps;
                double up = Loss(leaves).Item();
                data[i] = saved - eps;
                double down = Loss(leaves).Item();
                data[i] = saved;
                double numeric = (up - down) / (2 * eps);
                double a = analytic[k].SpanF64[i];
                double score = Math.Abs(a - numeric) / (atol + rtol * Math.Abs(numeric));
                if (score > worst)
                {
                    worst = score;
                    where = $"input {k} element {i}: analytic {a:G9} numeric {numeric:G9}";
                }
            }
        }
        return (worst, where);
    }
}
