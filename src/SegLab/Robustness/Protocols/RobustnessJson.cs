// JSON for robustness results (camelCase, NaN written as "NaN"), atomic file writes (temp file + rename), and the
// resumable per-image state of a protocol run (AutoAttack's state.py idea): every finished image is appended and
// the whole state rewritten atomically, so an interrupted run resumes at the next image.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SegLab.Robustness.Protocols;

/// <summary>A protocol run's resumable state.</summary>
/// <param name="Fingerprint">Settings that must match to resume (model, protocol, radii, losses, seed...).</param>
/// <param name="Images">Finished images, in order.</param>
public sealed record RobustnessState(string Fingerprint, List<ImageRobustness> Images);

/// <summary>Serialisation helpers.</summary>
public static class RobustnessJson
{
    /// <summary>Options: camelCase, indented, named floating-point literals allowed.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically (temp file in the same folder, then rename).</summary>
    /// <param name="path">Destination.</param>
    /// <param name="text">Contents.</param>
    public static void WriteAtomic(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        SegLab.Engine.IO.AtomicFile.WriteText(path, text);
    }

    /// <summary>Writes a report as JSON, atomically.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="report">The report.</param>
    public static void Save(string path, RobustnessReport report) => WriteAtomic(path, JsonSerializer.Serialize(report, Options));

    /// <summary>Writes the state, atomically.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="state">The state.</param>
    public static void SaveState(string path, RobustnessState state) => WriteAtomic(path, JsonSerializer.Serialize(state, Options));

    /// <summary>Reads a state file; errors name the file.</summary>
    /// <param name="path">The file.</param>
    public static RobustnessState LoadState(string path)
    {
        RobustnessState state;
        try
        {
            state = JsonSerializer.Deserialize<RobustnessState>(File.ReadAllText(path), LoadOptions)
                ?? throw new FormatException($"{path}: empty robustness state.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not a robustness state file ({e.Message}).", e);
        }
        if (Problem(state) is { } problem) throw new FormatException($"{path}: not a valid robustness state: {problem}.");
        return state;
    }

    // Reading is strict: a missing member or a null where the records hold none is an error, not a later crash.
    private static readonly JsonSerializerOptions LoadOptions = new(Options) { RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true };

    // What a resumed run relies on: one record per image, and counts of one class count throughout.
    private static string? Problem(RobustnessState state)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var img in state.Images)
        {
            if (!ids.Add(img.Id)) return $"image {img.Id} appears twice";
            int k = img.Clean.Tp.Length;
            foreach (var counts in img.PerEps.SelectMany(e => e.Attacks).Select(a => a.Counts).Prepend(img.Clean))
            {
                if (counts.Tp.Length != k || counts.Gt.Length != k || counts.Pred.Length != k)
                    return $"image {img.Id} has counts for different numbers of classes";
                if (counts.Valid < 0 || counts.Ignored < 0 || counts.Tp.Any(v => v < 0) || counts.Gt.Any(v => v < 0) || counts.Pred.Any(v => v < 0))
                    return $"image {img.Id} has negative counts";
            }
            // Each row of the clean-to-worst counts holds exactly the clean-correct pixels of its class.
            foreach (var m in img.PerEps.Select(e => e.CleanToWorst).OfType<long[][]>())
                if (m.Length != k || m.Any(r => r.Length != k || r.Any(v => v < 0)) || Enumerable.Range(0, k).Any(c => m[c].Sum() != img.Clean.Tp[c]))
                    return $"image {img.Id} has clean-to-worst counts that do not match its clean counts";
        }
        return null;
    }
}
