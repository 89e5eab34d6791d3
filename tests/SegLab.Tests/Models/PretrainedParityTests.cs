// The pretrained CamVid models against PyTorch 1.13 (../shared/reference): logits, loss, input gradient,
// argmax, and at 120x160 every parameter gradient by name. Reports as skipped where ../shared is absent.
using SegLab.Engine.Serialization;
using SegLab.Models;
using Xunit.Abstractions;

namespace SegLab.Tests.Models;

public class PretrainedParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Models => new() { "cgnet-camvid", "espnet-camvid" };

    private static SafeTensorFile Reference(string model) =>
        SafeTensors.Load(Path.Combine(TestPaths.RequireShared($"the PyTorch reference of {model}"), "reference", $"{model}_val_0016E5_07959.safetensors"));

    [SkippableTheory]
    [MemberData(nameof(Models))]
    public void Full_resolution_logits_loss_and_input_gradient_match_pytorch(string model)
    {
        var io = Reference(model);
        var m = ModelTable.Load(model, Path.Combine(TestPaths.Shared!, ModelTable.Get(model).WeightsFile!));
        var r = ParityCheck.Run(m.Network, io, "", ignoreIndex: 11, paramGrads: false, "");
        output.WriteLine($"{model}: logits {r.LogitsRel:E2}, loss {r.LossRel:E2}, input grad {r.InputGradRel:E2}, argmax agreement {r.ArgmaxAgreement:P4}");
        Assert.True(r.LogitsRel <= 1e-3, $"logits rel {r.LogitsRel}");
        Assert.True(r.LossRel <= 1e-4, $"loss rel {r.LossRel}");
        Assert.True(r.InputGradRel <= 1e-2, $"input grad rel {r.InputGradRel}");
        Assert.True(r.ArgmaxAgreement >= 0.999, $"argmax agreement {r.ArgmaxAgreement}");
    }

    [SkippableTheory]
    [MemberData(nameof(Models))]
    public void Every_parameter_gradient_matches_pytorch_at_120x160(string model)
    {
        var io = Reference(model);
        var m = ModelTable.Load(model, Path.Combine(TestPaths.Shared!, ModelTable.Get(model).WeightsFile!));
        var r = ParityCheck.Run(m.Network, io, "small_", ignoreIndex: 11, paramGrads: true, "small_param_grad.");
        var worst = r.ParamGradRel.OrderByDescending(p => p.Rel).First();
        output.WriteLine($"{model} small: logits {r.LogitsRel:E2}, input grad {r.InputGradRel:E2}, worst parameter {worst.Name} {worst.Rel:E2}");
        Assert.Equal(io.Names.Count(n => n.StartsWith("small_param_grad.", StringComparison.Ordinal)), r.ParamGradRel.Count);
        Assert.True(r.LogitsRel <= 1e-3, $"logits rel {r.LogitsRel}");
        Assert.All(r.ParamGradRel, p => Assert.True(p.Rel <= 1e-2, $"{p.Name}: rel {p.Rel}"));
    }
}
