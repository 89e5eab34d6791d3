// What a user must know before trusting a table model's figures: where it comes from, under which licence, what it
// was trained on (a val score of a model trained on train + val is not held out), its input convention, the published
// figure and what SegLab measured. Shown by `seglab models`, after `seglab eval` and in every report header.
using System.Globalization;
using SegLab.Reports;

namespace SegLab.Models;

/// <summary>The facts about a pretrained model that its scores depend on.</summary>
/// <param name="Source">Where the architecture and weights come from (repository and file).</param>
/// <param name="Licence">Licence of the code and weights.</param>
/// <param name="TrainedOn">Training data (dataset and splits).</param>
/// <param name="Published">The published figure, with its split and resolution.</param>
/// <param name="Measured">SegLab's own figure, with the command that gives it, or null.</param>
/// <param name="Caveat">What a score on this model does not mean, or null.</param>
public sealed record ModelCard(string Source, string Licence, string TrainedOn, string Published, string? Measured = null, string? Caveat = null)
{
    /// <summary>The input convention of <paramref name="p"/> in words: channel order, scaling, mean and std.</summary>
    /// <param name="p">A model's preprocessing.</param>
    public static string Describe(Preprocessing p)
    {
        ArgumentNullException.ThrowIfNull(p);
        static string L(double[] v) => string.Join(", ", v.Select(x => x.ToString("0.####", CultureInfo.InvariantCulture)));
        string scale = p.Scale.ToString("0.####", CultureInfo.InvariantCulture);
        string post = p.PostScale == 1 ? "" : $", then times {p.PostScale.ToString("G4", CultureInfo.InvariantCulture)}";
        return $"{p.Order.ToString().ToUpperInvariant()}, ({scale} x - mean) / std{post} for x in [0, 1]; mean [{L(p.Mean)}], std [{L(p.Std)}]";
    }

    /// <summary>Adds the card of the model named <paramref name="model"/> (if it has one) to a report's header.</summary>
    /// <param name="report">An eval or attack report.</param>
    /// <param name="model">Model name or run folder.</param>
    public static HtmlReport AddTo(HtmlReport report, string model)
    {
        ArgumentNullException.ThrowIfNull(report);
        var spec = ModelTable.TryGet(model);
        if (spec?.Card is not { } card) return report;
        report.Meta("model source", $"{card.Source} ({card.Licence})");
        report.Meta("trained on", card.TrainedOn);
        report.Meta("input", Describe(spec.Preprocessing));
        report.Meta("published", card.Published);
        if (card.Caveat is not null) report.Meta("caveat", card.Caveat);
        return report;
    }
}
