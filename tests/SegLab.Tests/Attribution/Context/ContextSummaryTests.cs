// Aggregation of the context study on hand-made records: means and sample standard deviations over objects, the
// correct/wrong split, per-class groups, NaN values left out and counted, per-image means (objects averaged within
// their image first) and the severity curves (the mean over corruptions of their object means).
using SegLab.Attribution.Context;

namespace SegLab.Tests.Attribution.Context;

public sealed class ContextSummaryTests
{
    private static ContextRecord Rec(string variant, double share, double recall, bool correct, double area = 0.1) => new()
    {
        Variant = variant, Method = "gradcam", ObjectShare = share, ContextShare = 1 - share, Recall = recall, IoU = recall / 2, Correct = correct, AreaFraction = area,
    };

    private static InstanceResult Obj(string id, string image, int imageIndex, string cls, params ContextRecord[] recs) => new()
    {
        Instance = id, Image = image, ImageIndex = imageIndex, ClassName = cls, SizeGroup = "smaller", AreaGroup = "small", Records = recs,
    };

    private static readonly VariantSpec[] Variants =
    [
        new("original", VariantKind.Original),
        ContextVariants.Perturbation("ctx", "a", 1), ContextVariants.Perturbation("ctx", "b", 1), ContextVariants.Perturbation("ctx", "a", 3),
    ];

    private static readonly InstanceResult[] Results =
    [
        Obj("i0#0", "i0", 0, "Car", Rec("original", 0.6, 0.9, true), Rec("ctx:a:1", 0.5, 0.8, true), Rec("ctx:b:1", 0.3, 0.2, false), Rec("ctx:a:3", 0.2, 0.1, false)),
        Obj("i0#1", "i0", 0, "Pole", Rec("original", 0.2, 0.3, false), Rec("ctx:a:1", 0.1, 0.3, false), Rec("ctx:b:1", double.NaN, 0.4, false), Rec("ctx:a:3", 0.1, 0.0, false)),
        Obj("i1#0", "i1", 1, "Car", Rec("original", 0.4, 0.7, true), Rec("ctx:a:1", 0.3, 0.6, true), Rec("ctx:b:1", 0.5, 0.6, true), Rec("ctx:a:3", 0.3, 0.5, true)),
    ];

    private static ContextGroup G(ContextAggregates a, string variant, string cls, string split) =>
        a.Groups.Single(g => g.Variant == variant && g.Class == cls && g.Split == split);

    [Fact]
    public void Means_deviations_and_the_correct_wrong_split_are_over_objects()
    {
        var a = ContextSummary.Build(Results, Variants, ["gradcam"]);
        var all = G(a, "original", "all", "all");
        Assert.Equal(3, all.Objects);
        Assert.Equal(0.4, all.ObjectShare.Mean, 12);
        Assert.Equal(0.2, all.ObjectShare.Sd, 12);                  // sample sd of 0.6, 0.2, 0.4
        Assert.Equal(2 / 3.0, all.CorrectFraction, 12);
        Assert.Equal(4.0, all.Concentration.Mean, 9);               // share / area 0.1
        Assert.Equal(0.5, G(a, "original", "all", "correct").ObjectShare.Mean, 12);
        Assert.Equal(0.2, G(a, "original", "all", "wrong").ObjectShare.Mean, 12);
        Assert.Equal(1, G(a, "original", "all", "wrong").Objects);
        Assert.True(double.IsNaN(G(a, "original", "all", "wrong").ObjectShare.Sd));
        Assert.Equal(0.5, G(a, "original", "Car", "all").ObjectShare.Mean, 12);
        Assert.DoesNotContain(a.Groups, g => g.Variant == "original" && g.Class == "Car" && g.Split == "wrong");   // empty groups are left out
    }

    [Fact]
    public void NaN_values_are_left_out_and_counted()
    {
        var a = ContextSummary.Build(Results, Variants, ["gradcam"]);
        var b = G(a, "ctx:b:1", "all", "all");
        Assert.Equal(3, b.Objects);
        Assert.Equal(2, b.ObjectShare.N);
        Assert.Equal(0.4, b.ObjectShare.Mean, 12);
        Assert.Equal(3, b.Recall.N);
    }

    [Fact]
    public void Per_image_means_average_the_objects_of_an_image_first()
    {
        var a = ContextSummary.Build(Results, Variants, ["gradcam"]);
        var img = a.PerImage.Single(p => p.Variant == "original");
        Assert.Equal(2, img.Images);
        Assert.Equal((0.4 + 0.4) / 2, img.ObjectShare.Mean, 12);    // image i0: (0.6 + 0.2) / 2, image i1: 0.4
        Assert.Equal(((0.9 + 0.3) / 2 + 0.7) / 2, img.Recall.Mean, 12);
    }

    [Fact]
    public void Severity_curves_average_the_corruptions_means()
    {
        var a = ContextSummary.Build(Results, Variants, ["gradcam"]);
        var s1 = a.Severity.Single(p => p.Region == "ctx" && p.Severity == 1);
        Assert.Equal(2, s1.Corruptions);
        double aMean = (0.8 + 0.3 + 0.6) / 3, bMean = (0.2 + 0.4 + 0.6) / 3;
        Assert.Equal((aMean + bMean) / 2, s1.Recall, 12);
        Assert.Equal((((0.5 + 0.1 + 0.3) / 3) + ((0.3 + 0.5) / 2)) / 2, s1.ObjectShare, 12);
        var s3 = a.Severity.Single(p => p.Region == "ctx" && p.Severity == 3);
        Assert.Equal(1, s3.Corruptions);
        Assert.Equal(0.2, s3.Recall, 12);
        Assert.DoesNotContain(a.Severity, p => p.Region == "obj");
    }

    [Fact]
    public void Stat_of_no_finite_value_is_NaN_with_count_zero()
    {
        var s = Stat.Of([double.NaN, double.PositiveInfinity]);
        Assert.Equal(0, s.N);
        Assert.True(double.IsNaN(s.Mean));
    }
}
