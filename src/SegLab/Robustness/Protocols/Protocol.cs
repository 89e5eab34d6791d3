// Named attack protocols as data (AutoAttack's shape): SEA's ensemble (arXiv 2306.12941, PAPERS.md A.4), Halmosi
// et al.'s ensemble (arXiv 2407.09150, A.6) and a quick first look. A protocol is its attacks, the per-image
// selection rule and whether SEA's greedy worst-case dataset mIoU is computed.
using SegLab.Robustness.Attacks;
using SegLab.Robustness.Losses;

namespace SegLab.Robustness.Protocols;

/// <summary>How the worst case of one image is chosen among the clean image and the attacks.</summary>
public enum Selection
{
    /// <summary>Lowest pixel accuracy, then lowest image mIoU (SEA).</summary>
    Accuracy,

    /// <summary>Lowest image mIoU, then lowest pixel accuracy (Halmosi et al.).</summary>
    MeanIoU,
}

/// <summary>What a protocol's attack factories may depend on.</summary>
/// <param name="Classes">Loss classes.</param>
/// <param name="ClassWeights">Balanced-CE weights (null: uniform).</param>
/// <param name="Seed">Seed of random starts.</param>
public sealed record ProtocolContext(int Classes, IReadOnlyList<double>? ClassWeights, long Seed);

/// <summary>A named, fixed set of attacks with its selection rule.</summary>
/// <param name="Name">Protocol name.</param>
/// <param name="Description">One line for listings and reports.</param>
/// <param name="Attacks">Builds the protocol's attacks.</param>
/// <param name="Selection">Per-image worst-case rule.</param>
/// <param name="Greedy">Whether to compute SEA's greedy worst-case dataset mIoU.</param>
public sealed record Protocol(string Name, string Description, Func<ProtocolContext, IReadOnlyList<IAttack>> Attacks, Selection Selection, bool Greedy = true);

/// <summary>The named protocols.</summary>
public static class Protocols
{
    /// <summary>PGD-CE 20 steps (alpha eps/4, no random start, best iterate by loss) and APGD masked CE 100 iterations.</summary>
    public static Protocol Quick { get; } = new("quick",
        "PGD-CE 20 steps (eps/4, no random start, best loss) + APGD-MCE 100 iterations (random start, tracked CE)",
        c => [new Pgd(new CrossEntropyLoss(), 20), new Apgd(new MaskedCrossEntropyLoss(), 100, seed: c.Seed)],
        Selection.Accuracy);

    /// <summary>SEA (v2): red-eps APGD 300 iterations on MCE, balanced MCE and JS; worst accuracy per image; greedy mIoU.</summary>
    public static Protocol Sea { get; } = new("sea",
        "SEA: red-eps APGD 300 iterations (2/1.5/1 eps, random start, tracked CE) on MCE, balanced MCE and JS; per-image worst accuracy; greedy worst-case mIoU",
        c =>
        [
            new RedEpsApgd(new MaskedCrossEntropyLoss(), 300, seed: c.Seed),
            new RedEpsApgd(LossTable.Create("bmce", c.ClassWeights, c.Classes), 300, seed: c.Seed),
            new RedEpsApgd(new JensenShannonLoss(), 300, seed: c.Seed),
        ],
        Selection.Accuracy);

    /// <summary>Halmosi et al.: PAdam-CE, PAdam-Cos, APGD (constant eps, 300 iterations) with MCE, SegPGD, JS and masked spherical.</summary>
    public static Protocol Halmosi { get; } = new("halmosi",
        "Halmosi et al.: PAdam-CE and PAdam-Cos (200 steps, lr 2/255), APGD 300 iterations at constant eps with MCE, SegPGD, JS (tracked CE) and masked spherical (tracked itself); per-image lowest image mIoU",
        c =>
        {
            var msl = new MaskedSphericalLoss();
            return
            [
                new PAdam(new CrossEntropyLoss(), 200, seed: c.Seed),
                new PAdam(new CosineLoss(), 200, seed: c.Seed),
                new Apgd(new MaskedCrossEntropyLoss(), 300, seed: c.Seed),
                new Apgd(new SegPgdLoss(), 300, seed: c.Seed),
                new Apgd(new JensenShannonLoss(), 300, seed: c.Seed),
                new Apgd(msl, 300, trackedLoss: msl, seed: c.Seed),
            ];
        },
        Selection.MeanIoU);

    /// <summary>Every named protocol.</summary>
    public static IReadOnlyList<Protocol> All { get; } = [Quick, Sea, Halmosi];

    /// <summary>The protocol named <paramref name="name"/>.</summary>
    /// <param name="name">quick, sea or halmosi.</param>
    public static Protocol Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown protocol '{name}'. Known protocols: {string.Join(", ", All.Select(p => p.Name))}.");

    /// <summary>A one-attack protocol (for `seglab attack --attack ...`).</summary>
    /// <param name="settings">The attack.</param>
    /// <param name="selection">Selection rule.</param>
    public static Protocol Single(AttackSettings settings, Selection selection = Selection.Accuracy)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var attack = AttackTable.Create(settings);
        return new Protocol("single", $"single attack {attack.Name}", _ => [attack], selection);
    }
}
