// The shared model-parity check: run a network on a PyTorch reference input and compare logits, loss,
// input gradient and (optionally) every parameter gradient by name, with the tolerances.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;
using SegLab.Engine.Serialization;

namespace SegLab.Tests.Models;

internal sealed record ParityReport(double LogitsRel, double LossRel, double InputGradRel, double ArgmaxAgreement, IReadOnlyList<(string Name, double Rel)> ParamGradRel);

internal static class ParityCheck
{
    /// <summary>max |a - b| / max |b|.</summary>
    public static double MaxRel(Tensor a, Tensor b)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        Assert.Equal(y.Length, x.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < x.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(x[i] - y[i]));
            scale = Math.Max(scale, Math.Abs(y[i]));
        }
        return diff / Math.Max(scale, 1e-30);
    }

    /// <summary>||a - b||_F / ||b||_F.</summary>
    public static double FrobRel(Tensor a, Tensor b)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        Assert.Equal(y.Length, x.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < x.Length; i++)
        {
            diff += (double)(x[i] - y[i]) * (x[i] - y[i]);
            norm += (double)y[i] * y[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
    }

    /// <summary>Runs the comparison for one input prefix ("" or "small_").</summary>
    public static ParityReport Run(Module net, SafeTensorFile io, string prefix, int ignoreIndex, bool paramGrads, string paramGradPrefix)
    {
        net.Eval();
        var input = io[prefix + "input"].ToTensor().RequireGrad();
        var refLogits = io[prefix + "logits"].ToTensor();
        var label = io[prefix + "label"].ToTensor();
        var refLoss = io[prefix + "loss"].ToTensor().Item();
        var refGrad = io[prefix + "input_grad"].ToTensor();

        var logits = net.Forward(input);
        Assert.Equal(refLogits.ShapeArray(), logits.ShapeArray());
        var loss = Ops.CrossEntropy(logits, label, ignoreIndex);
        var parameters = paramGrads ? net.NamedParameters().ToList() : [];
        var grads = Tape.Grad(loss, [input, .. parameters.Select(p => p.Value)]);

        var pred = Ops.Argmax(logits.Detach(), 1).ToArray();
        var refPred = Ops.Argmax(refLogits, 1).ToArray();
        double agree = pred.Zip(refPred).Count(p => p.First == p.Second) / (double)pred.Length;

        var paramRel = new List<(string, double)>();
        for (int i = 0; i < parameters.Count; i++)
            paramRel.Add((parameters[i].Key, FrobRel(grads[i + 1], io[paramGradPrefix + parameters[i].Key].ToTensor())));
        return new ParityReport(MaxRel(logits, refLogits), Math.Abs(loss.Item() - refLoss) / Math.Abs(refLoss), FrobRel(grads[0], refGrad), agree, paramRel);
    }
}
