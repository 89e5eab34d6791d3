// Robustness figures of a trained run folder: every `seglab attack --model RUN` adds its clean and worst-case figures
// per radius to RUN/robustness-index.json, and the run's model card (model-card.md) shows them beside its training
// configuration and clean validation. This is how a robust model trained by SegLab enters the model listing
// (`seglab models --runs DIR`) with the figures that describe it, without a registry: the run folder is the model.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SegLab.Robustness.Protocols;

namespace SegLab.Training;

/// <summary>One measured radius of one attack run on a run folder.</summary>
/// <param name="Attack">Protocol name or single attack (for example "sea", "halmosi", "pgd").</param>
/// <param name="Description">What the protocol runs.</param>
/// <param name="Eps">Radius as text (4/255).</param>
/// <param name="Images">Images attacked.</param>
/// <param name="Data">Dataset folder and split ("DIR (val)").</param>
/// <param name="Selection">Image selection (shard, limit, list) as the command line gave it, or "all".</param>
/// <param name="Clean">Clean pixel accuracy, dataset mIoU, image mIoU (percent).</param>
/// <param name="WorstCase">The per-image worst case's pixel accuracy, dataset mIoU, image mIoU (percent).</param>
/// <param name="Result">The robustness.json the figures come from (absolute path).</param>
/// <param name="Date">UTC time of the record (ISO 8601).</param>
public sealed record RobustnessRecord(string Attack, string Description, string Eps, int Images, string Data, string Selection,
    double[] Clean, double[] WorstCase, string Result, string Date);

/// <summary>Reads and writes a run folder's robustness index and the model card section built from it.</summary>
public static class RunRobustness
{
    /// <summary>File name of the index in the run folder.</summary>
    public const string IndexFile = "robustness-index.json";

    /// <summary>Heading of the model card's robustness section (everything from it on is rebuilt from the index).</summary>
    public const string CardHeading = "## Robustness";

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The records of a run folder (empty when it has none).</summary>
    /// <exception cref="InvalidDataException">The index exists but is not valid (the message names the file).</exception>
    public static IReadOnlyList<RobustnessRecord> Load(string runDir)
    {
        var path = Path.Combine(runDir, IndexFile);
        if (!File.Exists(path)) return [];
        try
        {
            return JsonSerializer.Deserialize<List<RobustnessRecord>>(File.ReadAllText(path), Options)
                ?? throw new InvalidDataException($"{path}: empty robustness index.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid robustness index ({e.Message}).", e);
        }
    }

    /// <summary>Records every radius of <paramref name="report"/> (replacing earlier records of the same attack, radius, data and selection) and rebuilds the card's robustness section.</summary>
    /// <param name="runDir">The run folder that was attacked.</param>
    /// <param name="report">The attack run's report.</param>
    /// <param name="resultPath">Where its robustness.json was written.</param>
    /// <param name="attack">Protocol name, or the single attack and its loss ("pgd-ce").</param>
    /// <param name="data">Dataset folder and split.</param>
    /// <param name="selection">Image selection as given, or "all".</param>
    public static void Record(string runDir, RobustnessReport report, string resultPath, string attack, string data, string selection)
    {
        ArgumentNullException.ThrowIfNull(report);
        var records = Load(runDir).ToList();
        string date = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        foreach (var e in report.Eps)
        {
            records.RemoveAll(r => r.Attack == attack && r.Eps == e.Eps && r.Data == data && r.Selection == selection);
            records.Add(new RobustnessRecord(attack, report.ProtocolDescription, e.Eps, report.Images, data, selection,
                Triple(e.Clean), Triple(e.WorstCase), Path.GetFullPath(resultPath), date));
        }
        records.Sort((a, b) => Order(a).CompareTo(Order(b)));
        SegLab.Engine.IO.AtomicFile.Write(Path.Combine(runDir, IndexFile), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(records, Options)));
        var card = Path.Combine(runDir, TrainSummary.ModelCardFile);
        if (File.Exists(card)) RewriteCard(card, records);
    }

    /// <summary>The card's robustness section (Markdown) for these records.</summary>
    public static string CardSection(IReadOnlyList<RobustnessRecord> records)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(CardHeading).Append("\n\n");
        if (records.Count == 0)
        {
            sb.Append("Not measured yet: `seglab attack --model RUNFOLDER --protocol sea|halmosi --eps ...` measures it and records it here ")
                .Append("(docs/experiments/adversarial-training.md).\n");
            return sb.ToString();
        }
        sb.Append("Pixel accuracy / dataset mIoU / image mIoU in percent, clean and under the per-image worst case of the attack; ")
            .Append("recorded by `seglab attack` (").Append(IndexFile).Append(").\n\n");
        sb.Append("| attack | eps | images | data | clean | attacked |\n| --- | --- | --- | --- | --- | --- |\n");
        foreach (var r in records)
            sb.Append(inv, $"| {r.Attack} | {r.Eps} | {r.Images} ({r.Selection}) | {r.Data} | {Fmt(r.Clean)} | {Fmt(r.WorstCase)} |\n");
        return sb.ToString();
    }

    /// <summary>Replaces everything from <see cref="CardHeading"/> on (or appends) with the section of <paramref name="records"/>.</summary>
    public static void RewriteCard(string cardPath, IReadOnlyList<RobustnessRecord> records)
    {
        string text = File.ReadAllText(cardPath);
        int at = text.IndexOf("\n" + CardHeading, StringComparison.Ordinal);
        string head = at >= 0 ? text[..(at + 1)] : text.EndsWith('\n') ? text : text + "\n";
        SegLab.Engine.IO.AtomicFile.Write(cardPath, Encoding.UTF8.GetBytes(head + "\n" + CardSection(records)));
    }

    private static double[] Triple(MetricSet m) => [m.PixelAccuracy, m.MIoU, m.ImageMIoU];

    private static string Fmt(double[] v) => string.Join(" / ", v.Select(x => double.IsFinite(x) ? x.ToString("F2", CultureInfo.InvariantCulture) : "n/a"));

    private static (string, double, string) Order(RobustnessRecord r)
    {
        double eps;
        try
        {
            eps = SegLab.Robustness.LinfBall.ParseEps(r.Eps);
        }
        catch (FormatException)
        {
            eps = double.MaxValue;
        }
        return (r.Data + "|" + r.Selection, eps, r.Attack);
    }
}
