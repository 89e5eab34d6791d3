// The attack losses by name (the house's explicit name-to-factory table, no registry): what the CLI and the
// protocols use. PAPERS.md A.2 lists the formulas.
namespace SegLab.Robustness.Losses;

/// <summary>Known attack losses.</summary>
public static class LossTable
{
    /// <summary>Every loss name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ce", "mce", "bmce", "js", "msl", "segpgd", "cospgd", "cospgd-sigmoid", "cos"];

    /// <summary>The loss named <paramref name="name"/>.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="classWeights">Class weights for bmce (uniform over <paramref name="classes"/> when null).</param>
    /// <param name="classes">Loss classes (for the bmce fallback).</param>
    public static IAttackLoss Create(string name, IReadOnlyList<double>? classWeights = null, int classes = 0) => name.ToLowerInvariant() switch
    {
        "ce" => new CrossEntropyLoss(),
        "mce" => new MaskedCrossEntropyLoss(),
        "bmce" => new BalancedMaskedCrossEntropyLoss(classWeights ?? (classes > 0 ? ClassWeights.Uniform(classes)
            : throw new ArgumentException("bmce loss: give class weights or the class count."))),
        "js" => new JensenShannonLoss(),
        "msl" => new MaskedSphericalLoss(),
        "segpgd" => new SegPgdLoss(),
        "cospgd" => new CosPgdLoss(),
        "cospgd-sigmoid" => new CosPgdLoss(sigmoid: true),
        "cos" => new CosineLoss(),
        _ => throw new ArgumentException($"Unknown attack loss '{name}'. Known losses: {string.Join(", ", Names)}."),
    };
}
