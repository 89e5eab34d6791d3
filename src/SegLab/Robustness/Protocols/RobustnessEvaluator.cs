// Runs a protocol on one image at every radius (AutoAttack's runner shape, SEA/Halmosi protocols of PAPERS.md
// A.4/A.6): clean prediction twice (determinism check), every attack at every radius, the exact ball check of
// each adversarial image, and gradient sanity counts. Images are attacked one at a time, so results are
// independent of batching and a run resumes image by image.
using System.Diagnostics;
using SegLab.Engine;
using SegLab.Robustness.Attacks;

namespace SegLab.Robustness.Protocols;

/// <summary>Progress of a protocol on one image.</summary>
/// <param name="Eps">Current radius.</param>
/// <param name="Attack">Current attack.</param>
/// <param name="AttackIndex">Index among radius x attack runs.</param>
/// <param name="AttackCount">Radius x attack runs.</param>
/// <param name="Step">Step within the attack.</param>
/// <param name="TotalSteps">Steps of the attack.</param>
public readonly record struct ProtocolProgress(double Eps, string Attack, int AttackIndex, int AttackCount, int Step, int TotalSteps);

/// <summary>Evaluates a protocol image by image.</summary>
public sealed class RobustnessEvaluator
{
    private readonly IReadOnlyList<IAttack> _attacks;

    /// <summary>Creates the evaluator.</summary>
    /// <param name="model">The model.</param>
    /// <param name="protocol">The protocol.</param>
    /// <param name="eps">Radii.</param>
    /// <param name="context">Class weights and seed for the protocol's attacks.</param>
    public RobustnessEvaluator(AttackModel model, Protocol protocol, IReadOnlyList<double> eps, ProtocolContext context)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Protocol = protocol ?? throw new ArgumentNullException(nameof(protocol));
        ArgumentNullException.ThrowIfNull(eps);
        if (eps.Count == 0) throw new ArgumentException("robustness: give at least one radius.");
        Eps = eps;
        _attacks = protocol.Attacks(context);
        var dup = _attacks.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"protocol {protocol.Name}: attack name {dup.Key} appears twice.");
    }

    /// <summary>The model.</summary>
    public AttackModel Model { get; }

    /// <summary>The protocol.</summary>
    public Protocol Protocol { get; }

    /// <summary>Radii.</summary>
    public IReadOnlyList<double> Eps { get; }

    /// <summary>Whether outcomes keep each attack's per-iterate trace.</summary>
    public bool KeepTraces { get; init; }

    /// <summary>Attack names in protocol order.</summary>
    public IReadOnlyList<string> AttackNames => _attacks.Select(a => a.Name).ToArray();

    /// <summary>Attacks one image.</summary>
    /// <param name="id">Image id.</param>
    /// <param name="rgb">Planar RGB [3, H, W] in [0, 1].</param>
    /// <param name="label">Labels [H, W] (the model's ignore value for ignored pixels).</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="progress">Progress, or null.</param>
    /// <param name="onAdversarial">Receives (eps, attack, adversarial image) for each run, or null.</param>
    public ImageRobustness Evaluate(string id, float[] rgb, int[] label, int height, int width, IProgress<ProtocolProgress>? progress = null,
        Action<double, string, float[]>? onAdversarial = null)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentNullException.ThrowIfNull(label);
        if (rgb.Length != 3 * height * width || label.Length != height * width)
            throw new ArgumentException($"robustness: image {id} has {rgb.Length} values and {label.Length} labels for {height}x{width}.");
        var clock = Stopwatch.StartNew();
        long z0 = Model.ZeroGradients, nf0 = Model.NonFiniteGradients, g0 = Model.Gradients;
        var mapped = Model.MapLabels(label);
        var l1 = Model.Logits(rgb, 1, height, width);
        var l2 = Model.Logits(rgb, 1, height, width);
        double diff = 0;
        for (int i = 0; i < l1.Length; i++) diff = Math.Max(diff, Math.Abs((double)l1[i] - l2[i]));
        var cleanPrediction = Model.Predict(l1, 1, height * width);
        var clean = ImageCounts.Compute(cleanPrediction, mapped, Model.NumClasses);
        var perEps = new List<EpsOutcome>();
        int index = 0, count = Eps.Count * _attacks.Count;
        foreach (double e in Eps)
        {
            float eps = (float)e;
            var outcomes = new List<AttackOutcome>();
            var adversarial = new List<float[]>();
            foreach (var attack in _attacks)
            {
                int current = index++;
                var sink = progress is null ? null : new Relay(p => progress.Report(new ProtocolProgress(e, attack.Name, current, count, p.Step, p.TotalSteps)));
                var t = Stopwatch.StartNew();
                var r = attack.Run(Model, Tensor.FromArray((float[])rgb.Clone(), 1, 3, height, width), label, eps, sink);
                var adv = r.Adversarial.Span;
                outcomes.Add(new AttackOutcome(attack.Name, r.Counts[0], r.Loss[0], LinfBall.Norm(adv, rgb), LinfBall.Violations(adv, rgb, eps), r.Forwards, t.Elapsed.TotalSeconds,
                    KeepTraces ? r.Trace[0] : null));
                adversarial.Add(adv.ToArray());
                onAdversarial?.Invoke(e, attack.Name, adversarial[^1]);
            }
            // The worst case as the summary chooses it (clean image first among the candidates), predicted once more
            // for its clean-to-worst counts; the clean image itself when no attack lowered the score.
            int chosen = WorstCase.Strongest([clean, .. outcomes.Select(o => o.Counts)], Protocol.Selection);
            var worstPrediction = chosen == 0 ? cleanPrediction : Model.Predict(Model.Logits(adversarial[chosen - 1], 1, height, width), 1, height * width);
            perEps.Add(new EpsOutcome(e, outcomes, CleanToWorst.Compute(cleanPrediction, worstPrediction, mapped, Model.NumClasses)));
        }
        return new ImageRobustness(id, height, width, clean, perEps, diff, Model.ZeroGradients - z0, Model.NonFiniteGradients - nf0, Model.Gradients - g0, clock.Elapsed.TotalSeconds);
    }

    private sealed class Relay(Action<AttackProgress> report) : IProgress<AttackProgress>
    {
        public void Report(AttackProgress value) => report(value);
    }
}
