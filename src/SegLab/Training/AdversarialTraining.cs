// Adversarial training samples: PGD-AT (Madry et al., ICLR 2018) and SegPGD-AT (Gu et al., arXiv 2207.12391), as
// DDC-AT and SegPGD-AT run them on segmentation (PAPERS.md A.0, A.5, A.6): the first round(share * N) samples of each
// (already shuffled) mini-batch are replaced by a sign-PGD adversarial inside the eps-ball and [0,1], made by the
// attack implementations of SegLab.Robustness (Pgd with the CE or SegPGD loss), the rest stay clean. The model is in
// eval mode while the attack runs, as MadryLab's robustness library and TRADES generate their training attacks (the
// DDC-AT and SegPGD-AT code was not checked): batch norm then uses its running statistics, so the attack's iterates
// neither enter nor update them, and each sample's attack does not depend on the others in its batch; the training
// step itself runs in train mode on the mixed batch. The random start is seeded by (seed, micro-batch index), so a
// resumed run repeats every attack.
using System.Diagnostics;
using SegLab.Data;
using SegLab.Engine;
using SegLab.Models;
using SegLab.Robustness;
using SegLab.Robustness.Attacks;
using SegLab.Robustness.Losses;

namespace SegLab.Training;

/// <summary>What one micro-batch's adversarial sampling made (for observers and tests).</summary>
/// <param name="Step">Optimizer step (0-based) the micro-batch belongs to.</param>
/// <param name="MicroBatch">Global micro-batch index (step * accumulation + a).</param>
/// <param name="Ids">Sample ids of the batch.</param>
/// <param name="Adversarial">Per sample, whether it was replaced by its adversarial.</param>
/// <param name="Clean">The clean images [N, 3, H, W].</param>
/// <param name="Mixed">The images trained on [N, 3, H, W].</param>
/// <param name="Eps">Radius.</param>
public sealed record AdversarialBatch(long Step, long MicroBatch, string[] Ids, bool[] Adversarial, float[] Clean, float[] Mixed, float Eps);

/// <summary>Makes the adversarial part of training batches with the configured attack.</summary>
public sealed class AdversarialTraining
{
    private readonly AdversarialConfig _cfg;
    private readonly SegmentationModel _model;
    private readonly AttackModel _attackModel;
    private readonly int _seed;

    /// <summary>Creates the sampler.</summary>
    /// <param name="config">The adversarial section.</param>
    /// <param name="model">The model being trained.</param>
    /// <param name="ignoreIndex">Label of ignored pixels (left out of the attack loss).</param>
    /// <param name="seed">Run seed.</param>
    public AdversarialTraining(AdversarialConfig config, SegmentationModel model, int ignoreIndex, int seed)
    {
        _cfg = config ?? throw new ArgumentNullException(nameof(config));
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _attackModel = new AttackModel(model, ignoreIndex);
        _seed = seed;
    }

    /// <summary>Seconds spent in attacks so far.</summary>
    public double AttackSeconds { get; private set; }

    /// <summary>Adversarial samples made so far (all sessions).</summary>
    public long AdversarialSamples { get; private set; }

    /// <summary>Samples of the batches this sampler saw (all sessions).</summary>
    public long Samples { get; private set; }

    /// <summary>Continues the sample counts of a resumed run.</summary>
    /// <param name="adversarial">Adversarial samples before the resume.</param>
    /// <param name="samples">Samples before the resume.</param>
    public void RestoreCounts(long adversarial, long samples) => (AdversarialSamples, Samples) = (adversarial, samples);

    /// <summary>Told about every micro-batch (null: nobody).</summary>
    public Action<AdversarialBatch>? Observer { get; set; }

    /// <summary>Adversarial samples in a batch of <paramref name="batch"/>: round(share * batch), halves up.</summary>
    /// <param name="share">adversarial.share.</param>
    /// <param name="batch">Samples in the batch.</param>
    public static int Count(double share, int batch) => Math.Clamp((int)Math.Round(share * batch, MidpointRounding.AwayFromZero), 0, batch);

    /// <summary>Seed of the attack's random start for one micro-batch: a pure function of the run seed and its index.</summary>
    /// <param name="seed">Run seed.</param>
    /// <param name="microBatch">Global micro-batch index.</param>
    public static long AttackSeed(int seed, long microBatch)
    {
        // SplitMix64 finaliser of (seed, index): distinct micro-batches get unrelated streams.
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)microBatch + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (long)((z ^ (z >> 31)) & long.MaxValue);
    }

    /// <summary>The attack of one micro-batch (the Robustness implementation, last iterate returned, as in training).</summary>
    /// <param name="microBatch">Global micro-batch index.</param>
    public Pgd AttackFor(long microBatch)
    {
        IAttackLoss loss = _cfg.Attack == AdversarialAttack.Segpgd ? new SegPgdLoss() : new CrossEntropyLoss();
        return new Pgd(loss, _cfg.Steps, _cfg.Alpha, randomStart: _cfg.RandomStart, seed: AttackSeed(_seed, microBatch), iterate: PgdIterate.Last);
    }

    /// <summary>The batch to train on: its first <see cref="Count"/> samples replaced by their adversarials.</summary>
    /// <param name="b">The clean batch (labels already checked).</param>
    /// <param name="step">Optimizer step (0-based).</param>
    /// <param name="microBatch">Global micro-batch index.</param>
    public Batch Make(Batch b, long step, long microBatch)
    {
        ArgumentNullException.ThrowIfNull(b);
        int n = b.Ids.Length, k = Count(_cfg.Share, n), d = 3 * b.Height * b.Width;
        var clean = b.Images.ToArray();
        var mixed = (float[])clean.Clone();
        if (k > 0)
        {
            var clock = Stopwatch.StartNew();
            var x = Tensor.FromArray(clean.AsSpan(0, k * d).ToArray(), k, 3, b.Height, b.Width);
            bool training = _model.Network.Training;
            _model.Network.Eval();
            try
            {
                var r = AttackFor(microBatch).Run(_attackModel, x, b.Labels.AsSpan(0, k * b.Height * b.Width).ToArray(), (float)_cfg.Eps);
                r.Adversarial.ToArray().CopyTo(mixed, 0);
            }
            finally
            {
                _model.Network.Train(training);
            }
            AttackSeconds += clock.Elapsed.TotalSeconds;
        }
        AdversarialSamples += k;
        Samples += n;
        Observer?.Invoke(new AdversarialBatch(step, microBatch, b.Ids, [.. Enumerable.Range(0, n).Select(i => i < k)], clean, mixed, (float)_cfg.Eps));
        return new Batch(Tensor.FromArray(mixed, n, 3, b.Height, b.Width), b.Labels, b.Ids, b.Height, b.Width);
    }
}
