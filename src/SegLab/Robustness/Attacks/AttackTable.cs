// The attacks by name (explicit name-to-factory table): what `seglab attack --attack NAME` builds.
// Defaults follow PAPERS.md A.3-A.6; every setting can be overridden through AttackSettings.
using SegLab.Robustness.Losses;

namespace SegLab.Robustness.Attacks;

/// <summary>Settings of a single attack as the CLI gives them.</summary>
/// <param name="Attack">pgd, apgd, apgd-redeps, padam or fgsm.</param>
/// <param name="Loss">The loss.</param>
/// <param name="Steps">Iterations; null = the attack's default (pgd 20, apgd 100, apgd-redeps 300, padam 200).</param>
/// <param name="Alpha">PGD/FGSM step size (absolute); null = eps/4 for PGD, eps for FGSM.</param>
/// <param name="RandomStart">Random start; null = the attack's default (pgd: no; apgd, apgd-redeps, padam: yes).</param>
/// <param name="Seed">Seed of the random start.</param>
/// <param name="PgdIterate">PGD's returned iterate.</param>
/// <param name="TrackedLoss">APGD's tracked loss; null = CE.</param>
/// <param name="EarlyStop">APGD early stop.</param>
public sealed record AttackSettings(string Attack, IAttackLoss Loss, int? Steps = null, double? Alpha = null, bool? RandomStart = null, long Seed = 0,
    PgdIterate PgdIterate = PgdIterate.BestLoss, IAttackLoss? TrackedLoss = null, bool EarlyStop = true);

/// <summary>Known attacks.</summary>
public static class AttackTable
{
    /// <summary>Every attack name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fgsm", "pgd", "apgd", "apgd-redeps", "padam"];

    /// <summary>Builds the attack described by <paramref name="s"/>.</summary>
    /// <param name="s">Settings.</param>
    public static IAttack Create(AttackSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return s.Attack.ToLowerInvariant() switch
        {
            "fgsm" => new Fgsm(s.Loss, s.Alpha),
            "pgd" => new Pgd(s.Loss, s.Steps ?? 20, s.Alpha, randomStart: s.RandomStart ?? false, seed: s.Seed, iterate: s.PgdIterate),
            "apgd" => new Apgd(s.Loss, s.Steps ?? 100, s.TrackedLoss, s.RandomStart ?? true, s.Seed, s.EarlyStop),
            "apgd-redeps" => new RedEpsApgd(s.Loss, s.Steps ?? 300, s.TrackedLoss, s.RandomStart ?? true, s.Seed, s.EarlyStop),
            "padam" => s.RandomStart == false
                ? throw new ArgumentException("padam always starts at a seeded random point; --no-random-start does not apply.")
                : new PAdam(s.Loss, s.Steps ?? 200, seed: s.Seed),
            _ => throw new ArgumentException($"Unknown attack '{s.Attack}'. Known attacks: {string.Join(", ", Names)}."),
        };
    }
}
