// Per-object results of the context study and their file: OUTDIR/records.jsonl, a header line (the run's
// fingerprint) and then one line per finished object, appended and flushed to disk as one write, so an interrupted
// run loses at most the object in progress; --resume reads the file, drops a torn last line and skips the objects
// already there. camelCase JSON as the other outputs.
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SegLab.Attribution.Context;

/// <summary>One variant x method result of one object: its segmentation quality beside the attribution's B.1 numbers.</summary>
public sealed record ContextRecord
{
    /// <summary>Variant name.</summary>
    public required string Variant { get; init; }

    /// <summary>Method name.</summary>
    public required string Method { get; init; }

    /// <summary>Donor scene id of mixed_* variants.</summary>
    public string? Donor { get; init; }

    /// <summary>Fraction of the object's pixels predicted as its class (NaN on the recognition side).</summary>
    public double Recall { get; init; }

    /// <summary>IoU of the object with the class's prediction inside its box grown by 16 px (other objects of the class in the shown scene ignored; NaN on the recognition side).</summary>
    public double IoU { get; init; }

    /// <summary>Recognition side: the classifier's sigmoid probability of the object's class on the crop (null on the segmentation side).</summary>
    public double? Probability { get; init; }

    /// <summary>Segmentation side: recall at least the run's threshold (default 0.5); recognition side: probability at least 0.5.</summary>
    public bool Correct { get; init; }

    /// <summary>Target score: the class logit summed over the object mask (segmentation), the class logit on the crop (recognition).</summary>
    public double TargetScore { get; init; }

    /// <summary>B.1: object share of the ReLU'd, min-max normalised map.</summary>
    public double ObjectShare { get; init; }

    /// <summary>B.1: context share (1 - object share).</summary>
    public double ContextShare { get; init; }

    /// <summary>B.1: object attribution per object pixel.</summary>
    public double ObjectPerPixel { get; init; }

    /// <summary>B.1: context attribution per context pixel.</summary>
    public double ContextPerPixel { get; init; }

    /// <summary>B.1: object attribution per non-zero object pixel (+1).</summary>
    public double ObjectPerNonZero { get; init; }

    /// <summary>B.1: context attribution per non-zero context pixel (+1).</summary>
    public double ContextPerNonZero { get; init; }

    /// <summary>B.1: non-zero fraction of the object.</summary>
    public double ObjectNonZeroFraction { get; init; }

    /// <summary>B.1: non-zero fraction of the context.</summary>
    public double ContextNonZeroFraction { get; init; }

    /// <summary>Area fraction: the object share of a uniform map.</summary>
    public double AreaFraction { get; init; }

    /// <summary>Integrated Gradients: |completeness error| / |F(x) - F(baseline)|; null for other methods.</summary>
    public double? RelativeCompletenessError { get; init; }
}

/// <summary>Everything measured on one object.</summary>
public sealed record InstanceResult
{
    /// <summary>Object id, IMAGE#k.</summary>
    public required string Instance { get; init; }

    /// <summary>Image id.</summary>
    public required string Image { get; init; }

    /// <summary>Index of the image in the split.</summary>
    public int ImageIndex { get; init; }

    /// <summary>Rank of the object among the image's objects.</summary>
    public int Ordinal { get; init; }

    /// <summary>Class id.</summary>
    public int Class { get; init; }

    /// <summary>Class name.</summary>
    public required string ClassName { get; init; }

    /// <summary>Object pixels.</summary>
    public int Area { get; init; }

    /// <summary>B.3 size group.</summary>
    public required string SizeGroup { get; init; }

    /// <summary>COCO area group.</summary>
    public required string AreaGroup { get; init; }

    /// <summary>Variants that could not be built for this object (mixed_same without a scene that has the class nearby).</summary>
    public IReadOnlyList<string> Unavailable { get; init; } = [];

    /// <summary>One record per variant and method.</summary>
    public IReadOnlyList<ContextRecord> Records { get; init; } = [];
}

/// <summary>Reads and appends records.jsonl.</summary>
public static class ContextRecordFile
{
    /// <summary>camelCase, NaN allowed, not indented (one object per line).</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed record Header(string Fingerprint);

    /// <summary>Starts a new file with its header (replacing any old one, atomically).</summary>
    /// <param name="path">records.jsonl.</param>
    /// <param name="fingerprint">The run's settings.</param>
    public static void Create(string path, string fingerprint) =>
        SegLab.Engine.IO.AtomicFile.WriteText(path, JsonSerializer.Serialize(new Header(fingerprint), Options) + "\n");

    /// <summary>Rewrites the file with its header and <paramref name="results"/> (atomically): a resumed run drops a torn line this way.</summary>
    /// <param name="path">records.jsonl.</param>
    /// <param name="fingerprint">The run's settings.</param>
    /// <param name="results">The objects kept.</param>
    public static void Rewrite(string path, string fingerprint, IEnumerable<InstanceResult> results)
    {
        var sb = new StringBuilder(JsonSerializer.Serialize(new Header(fingerprint), Options)).Append('\n');
        foreach (var r in results) sb.Append(JsonSerializer.Serialize(r, Options)).Append('\n');
        SegLab.Engine.IO.AtomicFile.WriteText(path, sb.ToString());
    }

    /// <summary>Appends one object's line and flushes it to disk.</summary>
    /// <param name="path">records.jsonl.</param>
    /// <param name="result">The object.</param>
    public static void Append(string path, InstanceResult result)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(result, Options) + "\n");
        using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        fs.Write(bytes);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>The fingerprint and the complete object lines of a file (a torn last line is dropped).</summary>
    /// <param name="path">records.jsonl.</param>
    public static (string Fingerprint, List<InstanceResult> Results) Load(string path)
    {
        var lines = File.ReadAllText(path).Split('\n');
        if (lines.Length == 0 || lines[0].Length == 0) throw new InvalidDataException($"{path}: empty, not a context records file.");
        string fingerprint;
        try
        {
            fingerprint = JsonSerializer.Deserialize<Header>(lines[0], Options)?.Fingerprint
                ?? throw new InvalidDataException($"{path}: the first line has no fingerprint.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the first line is not a context records header ({e.Message}).", e);
        }
        var results = new List<InstanceResult>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            bool last = i == lines.Length - 1;   // a complete line ends with '\n', so the final piece is empty
            try
            {
                results.Add(JsonSerializer.Deserialize<InstanceResult>(lines[i], Options) ?? throw new InvalidDataException($"{path}: line {i + 1} is null."));
            }
            catch (JsonException) when (last)
            {
                // torn by an interruption: the object is done again
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}: line {i + 1} is not a context record ({e.Message}).", e);
            }
        }
        return (fingerprint, results);
    }
}
