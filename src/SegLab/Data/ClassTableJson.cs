// The classes.json format of folder datasets: reading with a precise error for every mistake (file, JSON path,
// what is wrong), and writing (the inverse). The schema is documented here and in docs/data.md.
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SegLab.Data;

/// <summary>
/// Reads and writes classes.json. Schema (unknown keys are errors, so typos do not pass silently):
/// <code>
/// {
///   "name": "streets",                 // optional; default: the name of the folder holding the file
///   "ignoreIndex": 255,                // optional, default 255; id of void pixels, at least the class count
///   "classes": [                       // required, in id order: the i-th entry is class i
///     { "name": "road", "color": [128, 64, 128] },
///     { "id": 1, "name": "car", "color": "#00008e" }   // "id" optional (must equal the position); colour as [r,g,b] or "#rrggbb"
///   ],
///   "colorMap": [ { "color": [0, 0, 142], "id": 1 } ], // optional: colours of colour-coded masks (id: a class or ignoreIndex);
///                                                      // default: each class's display colour
///   "voidColors": [ [224, 224, 192] ]                  // optional: mask colours that mean void (ignoreIndex)
/// }
/// </code>
/// Grey and palette label images hold ids directly; RGB label images are decoded through the colour map.
/// </summary>
public static class ClassTableJson
{
    private static readonly string[] TopKeys = ["name", "ignoreIndex", "classes", "colorMap", "voidColors"];

    /// <summary>Reads a classes.json file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="DatasetException">The file is missing, not JSON, or breaks the schema; the message names the file and the JSON path.</exception>
    public static ClassTable Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new DatasetException($"Class table {path}: the file does not exist (give a classes.json path or a built-in name: camvid, voc).", path);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DatasetException($"Class table {path}: cannot read the file ({e.Message}).", path, e); }
        var defaultName = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))) ?? "classes";
        return Parse(text, path, defaultName);
    }

    /// <summary>Parses classes.json text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Name of the source for messages (a path).</param>
    /// <param name="defaultName">Table name when the JSON has no "name".</param>
    /// <exception cref="DatasetException">The text is not JSON or breaks the schema.</exception>
    public static ClassTable Parse(string json, string source, string defaultName = "classes")
    {
        DatasetException Fail(string where, string problem) => new($"Class table {source}: {where}: {problem}", source);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new DatasetException($"Class table {source}: not valid JSON ({e.Message}).", source, e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Fail("$", "expected an object with \"classes\".");
            CheckKeys(root, TopKeys, "$", Fail);
            string name = root.TryGetProperty("name", out var n) ? String(n, "$.name", Fail) : defaultName;
            int ignore = root.TryGetProperty("ignoreIndex", out var ig) ? Int(ig, "$.ignoreIndex", 0, 65535, Fail) : 255;
            if (!root.TryGetProperty("classes", out var cls) || cls.ValueKind != JsonValueKind.Array || cls.GetArrayLength() == 0)
                throw Fail("$.classes", "required: a non-empty array of { \"name\", \"color\" }.");
            var classes = new List<ClassInfo>();
            foreach (var c in cls.EnumerateArray())
            {
                string at = $"$.classes[{classes.Count}]";
                if (c.ValueKind != JsonValueKind.Object) throw Fail(at, "expected an object { \"name\", \"color\" }.");
                CheckKeys(c, ["id", "name", "color"], at, Fail);
                if (c.TryGetProperty("id", out var id) && Int(id, at + ".id", 0, 65535, Fail) != classes.Count)
                    throw Fail(at + ".id", $"is {id.GetRawText()} but the entry is at position {classes.Count}; list classes in id order.");
                if (!c.TryGetProperty("name", out var cn)) throw Fail(at, "missing \"name\".");
                if (!c.TryGetProperty("color", out var cc)) throw Fail(at, "missing \"color\".");
                var (r, g, b) = Colour(cc, at + ".color", Fail);
                classes.Add(new ClassInfo(classes.Count, String(cn, at + ".name", Fail), r, g, b));
            }
            List<(byte, byte, byte, int)>? map = null;
            if (root.TryGetProperty("colorMap", out var cm))
            {
                if (cm.ValueKind != JsonValueKind.Array) throw Fail("$.colorMap", "expected an array of { \"color\", \"id\" }.");
                map = [];
                foreach (var e in cm.EnumerateArray())
                {
                    string at = $"$.colorMap[{map.Count}]";
                    if (e.ValueKind != JsonValueKind.Object) throw Fail(at, "expected an object { \"color\", \"id\" }.");
                    CheckKeys(e, ["color", "id"], at, Fail);
                    if (!e.TryGetProperty("color", out var ec) || !e.TryGetProperty("id", out var ei)) throw Fail(at, "needs \"color\" and \"id\".");
                    var (r, g, b) = Colour(ec, at + ".color", Fail);
                    map.Add((r, g, b, Int(ei, at + ".id", 0, 65535, Fail)));
                }
            }
            var voids = new List<(byte, byte, byte)>();
            if (root.TryGetProperty("voidColors", out var vc))
            {
                if (vc.ValueKind != JsonValueKind.Array) throw Fail("$.voidColors", "expected an array of colours.");
                foreach (var e in vc.EnumerateArray()) voids.Add(Colour(e, $"$.voidColors[{voids.Count}]", Fail));
            }
            try { return new ClassTable(name, classes, ignore, map, voids); }
            catch (ArgumentException e) { throw new DatasetException($"Class table {source}: {e.Message}", source, e); }
        }
    }

    /// <summary>The table as classes.json text (the colour map written out only where it differs from the display colours).</summary>
    /// <param name="table">The table.</param>
    public static string Write(ClassTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        static string Hex(byte r, byte g, byte b) => $"\"#{r:x2}{g:x2}{b:x2}\"";
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{{\n  \"name\": {JsonSerializer.Serialize(table.Name)},\n  \"ignoreIndex\": {table.IgnoreIndex},\n  \"classes\": [\n");
        for (int i = 0; i < table.Count; i++)
        {
            var c = table.Classes[i];
            sb.Append(CultureInfo.InvariantCulture, $"    {{ \"id\": {i}, \"name\": {JsonSerializer.Serialize(c.Name)}, \"color\": {Hex(c.R, c.G, c.B)} }}{(i + 1 < table.Count ? "," : "")}\n");
        }
        sb.Append("  ]");
        var colours = table.ColourToId;
        bool byDisplay = colours.Count(kv => kv.Value != table.IgnoreIndex) == table.Count
            && table.Classes.All(c => colours.TryGetValue((c.R, c.G, c.B), out int id) && id == c.Id);
        var entries = colours.Where(kv => !byDisplay || kv.Value == table.IgnoreIndex).OrderBy(kv => kv.Value).ThenBy(kv => kv.Key).ToList();
        if (!byDisplay)
            sb.Append(",\n  \"colorMap\": [").AppendJoin(", ", entries.Where(kv => kv.Value != table.IgnoreIndex).Select(kv => $"{{ \"color\": {Hex(kv.Key.R, kv.Key.G, kv.Key.B)}, \"id\": {kv.Value} }}")).Append(']');
        var voids = entries.Where(kv => kv.Value == table.IgnoreIndex).Select(kv => Hex(kv.Key.R, kv.Key.G, kv.Key.B)).ToList();
        if (voids.Count > 0) sb.Append(",\n  \"voidColors\": [").AppendJoin(", ", voids).Append(']');
        return sb.Append("\n}\n").ToString();
    }

    private static void CheckKeys(JsonElement obj, string[] allowed, string at, Func<string, string, DatasetException> fail)
    {
        foreach (var p in obj.EnumerateObject())
            if (Array.IndexOf(allowed, p.Name) < 0) throw fail($"{at}.{p.Name}", $"unknown key (allowed: {string.Join(", ", allowed)}).");
    }

    private static string String(JsonElement e, string at, Func<string, string, DatasetException> fail) =>
        e.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(e.GetString()) ? e.GetString()! : throw fail(at, "expected a non-empty string.");

    private static int Int(JsonElement e, string at, int min, int max, Func<string, string, DatasetException> fail) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v >= min && v <= max ? v : throw fail(at, $"expected an integer in {min}..{max}, got {e.GetRawText()}.");

    private static (byte, byte, byte) Colour(JsonElement e, string at, Func<string, string, DatasetException> fail)
    {
        if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 3)
        {
            var v = e.EnumerateArray().Select((x, i) => (byte)Int(x, $"{at}[{i}]", 0, 255, fail)).ToArray();
            return (v[0], v[1], v[2]);
        }
        var s = e.ValueKind == JsonValueKind.String ? e.GetString()! : "";
        if (s.Length == 7 && s[0] == '#' && int.TryParse(s.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int rgb))
            return ((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
        throw fail(at, $"expected a colour [r, g, b] (0..255) or \"#rrggbb\", got {e.GetRawText()}.");
    }
}
