// Reads a TrainConfig from YAML or JSON (JSON is read as YAML flow style), applies --set key=value overrides,
// validates, and prints the resolved configuration as YAML. Binding walks the typed records by reflection:
// an unknown key or a wrong type is an error naming the dotted key and the file and line where it was written.
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SegLab.Training;

/// <summary>A configuration error: the message names the key and, where known, the file and line.</summary>
public sealed class ConfigException : FormatException
{
    /// <summary>Creates the error.</summary>
    /// <param name="message">What is wrong, with the key and location.</param>
    public ConfigException(string message) : base(message) { }

    /// <summary>Creates an empty error.</summary>
    public ConfigException() { }

    /// <summary>Creates the error with an inner exception.</summary>
    /// <param name="message">Message.</param>
    /// <param name="inner">Cause.</param>
    public ConfigException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Loads, overrides, validates and prints training configurations.</summary>
public static class ConfigLoader
{
    private static readonly NullabilityInfoContext Nullability = new();

    /// <summary>Reads <paramref name="path"/> (null: the defaults) and applies the overrides ("schedule.lr=0.01").</summary>
    /// <param name="path">A .yaml, .yml or .json file, or null.</param>
    /// <param name="overrides">key=value pairs, applied in order.</param>
    public static TrainConfig Load(string? path, IEnumerable<string>? overrides = null)
    {
        string text = path is null ? "{}" : File.Exists(path) ? File.ReadAllText(path) : throw new FileNotFoundException($"Config file '{path}' does not exist.", path);
        var list = (overrides ?? []).ToList();
        var config = Parse(text, path ?? "<defaults>", list);
        return path is null ? config : ResolvePaths(config, Path.GetDirectoryName(Path.GetFullPath(path))!, list);
    }

    // Paths written in a config file are relative to that file's folder (so that configs/ works from anywhere); paths
    // given with --set are relative to the current folder. Both end up absolute, so the run's config.yaml resumes anywhere.
    private static TrainConfig ResolvePaths(TrainConfig c, string fileDir, List<string> overrides)
    {
        string? Resolve(string? value, string key)
        {
            if (string.IsNullOrEmpty(value) || Path.IsPathRooted(value)) return value;
            bool fromCommandLine = overrides.Any(o => o.StartsWith(key + "=", StringComparison.Ordinal));
            return Path.GetFullPath(fromCommandLine ? value : Path.Combine(fileDir, value));
        }
        return c with
        {
            Data = c.Data with { Dir = Resolve(c.Data.Dir, "data.dir") ?? "", ClassesJson = IsTableName(c.Data.ClassesJson) ? c.Data.ClassesJson : Resolve(c.Data.ClassesJson, "data.classes_json") },
            Model = c.Model with { Weights = Resolve(c.Model.Weights, "model.weights") },
            Weak = c.Weak with { Data = Resolve(c.Weak.Data, "weak.data") ?? "" },
        };
    }

    // data.classes_json may name a built-in class table instead of a file.
    private static bool IsTableName(string? v) => v is "camvid" or "voc";

    /// <summary>Parses configuration text; <paramref name="origin"/> names it in errors.</summary>
    /// <param name="text">YAML or JSON.</param>
    /// <param name="origin">File name for messages.</param>
    /// <param name="overrides">key=value pairs.</param>
    public static TrainConfig Parse(string text, string origin, IEnumerable<string>? overrides = null)
    {
        var root = ReadRoot(text, origin);
        var ctx = new Context(origin);
        foreach (var o in overrides ?? []) ApplyOverride(root, o, ctx);
        var config = (TrainConfig)Bind(typeof(TrainConfig), root, "", ctx);
        ConfigValidation.Validate(config);
        return config;
    }

    /// <summary>The configuration as YAML, every key written (the resolved form that --print-config shows).</summary>
    /// <param name="config">The configuration.</param>
    public static string ToYaml(TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sb = new StringBuilder();
        Emit(sb, config, 0);
        return sb.ToString();
    }

    /// <summary>SHA-256 (hex, 16 characters) of the resolved YAML: resume refuses a checkpoint written under another config.</summary>
    /// <param name="config">The configuration.</param>
    public static string Hash(TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        // A run without adversarial training hashes as before the section existed, so its older checkpoints resume.
        var sb = new StringBuilder();
        Emit(sb, config with { Threads = 0 }, 0, skipCleanAdversarial: true);
        return System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..16];
    }

    /// <summary>snake_case of a PascalCase property name.</summary>
    internal static string KeyOf(string property)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < property.Length; i++)
        {
            char c = property[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static YamlMappingNode ReadRoot(string text, string origin)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{origin}:{e.Start.Line}: not valid YAML or JSON: {e.Message}", e);
        }
        // YamlDotNet 18.1 throws InvalidOperationException (its scanner, on some malformed flow collections) and
        // ArgumentException (its node parser, on "an unsupported event") for inputs that are not YAML: found by fuzzing.
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new ConfigException($"{origin}: not valid YAML or JSON ({e.Message})", e);
        }
        if (stream.Documents.Count == 0) return new YamlMappingNode();
        return stream.Documents[0].RootNode as YamlMappingNode
            ?? throw new ConfigException($"{origin}:{stream.Documents[0].RootNode.Start.Line}: the top level must be a mapping of sections (model, data, schedule, loss, contextrast, adversarial, weak).");
    }

    /// <summary>The file name, and the nodes that came from --set (named by their assignment instead).</summary>
    private sealed class Context(string origin)
    {
        public string Origin { get; } = origin;

        public Dictionary<YamlNode, string> Overrides { get; } = new(ReferenceEqualityComparer.Instance);
    }

    private static void ApplyOverride(YamlMappingNode root, string assignment, Context ctx)
    {
        int eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0) throw new ConfigException($"--set '{assignment}': expected key=value, e.g. schedule.lr=0.01.");
        var parts = assignment[..eq].Trim().Split('.');
        YamlNode value = ReadRoot($"v: {assignment[(eq + 1)..]}", $"--set {assignment}").Children[new YamlScalarNode("v")];
        var node = root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            var key = new YamlScalarNode(parts[i]);
            if (!node.Children.TryGetValue(key, out var child)) node.Children[key] = child = new YamlMappingNode();
            node = child as YamlMappingNode ?? throw new ConfigException($"--set {assignment}: '{string.Join('.', parts[..(i + 1)])}' is not a section.");
        }
        var last = new YamlScalarNode(parts[^1]);
        node.Children[last] = value;
        ctx.Overrides[last] = ctx.Overrides[value] = $"--set {assignment}";
        foreach (var inner in value.AllNodes) ctx.Overrides[inner] = $"--set {assignment}";
    }

    private static object Bind(Type type, YamlNode node, string path, Context origin)
    {
        if (node is not YamlMappingNode map)
            throw Error(origin, node, path, $"expected a mapping of {type.Name} keys");
        var obj = Activator.CreateInstance(type)!;
        var props = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.Name != "EqualityContract")
            .ToDictionary(p => KeyOf(p.Name), StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            string key = (k as YamlScalarNode)?.Value ?? "";
            string full = path.Length == 0 ? key : $"{path}.{key}";
            if (!props.TryGetValue(key, out var prop))
                throw Error(origin, k, full, $"unknown key (known keys{(path.Length == 0 ? "" : $" of {path}")}: {string.Join(", ", props.Keys)})");
            prop.SetValue(obj, Convert(prop, v, full, origin));
        }
        return obj;
    }

    private static object? Convert(PropertyInfo prop, YamlNode node, string path, Context origin)
    {
        var type = prop.PropertyType;
        bool nullable = Nullable.GetUnderlyingType(type) is not null || (!type.IsValueType && Nullability.Create(prop).WriteState == NullabilityState.Nullable);
        if (IsNull(node))
            return nullable ? null : throw Error(origin, node, path, "may not be null");
        return ConvertValue(Nullable.GetUnderlyingType(type) ?? type, node, path, origin);
    }

    private static object ConvertValue(Type type, YamlNode node, string path, Context origin)
    {
        if (type.IsArray)
        {
            if (node is not YamlSequenceNode seq) throw Error(origin, node, path, $"expected a list of {Describe(type.GetElementType()!)}");
            var arr = Array.CreateInstance(type.GetElementType()!, seq.Children.Count);
            for (int i = 0; i < arr.Length; i++) arr.SetValue(ConvertValue(type.GetElementType()!, seq.Children[i], $"{path}[{i}]", origin), i);
            return arr;
        }
        if (type.IsClass && type != typeof(string)) return Bind(type, node, path, origin);
        if (node is not YamlScalarNode { Value: { } s }) throw Error(origin, node, path, $"expected {Describe(type)}");
        object? result = type switch
        {
            _ when type == typeof(string) => s,
            _ when type == typeof(int) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null,
            _ when type == typeof(long) => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : null,
            _ when type == typeof(double) => ParseNumber(s),
            _ when type == typeof(bool) => s is "true" or "True" or "TRUE" ? true : s is "false" or "False" or "FALSE" ? false : null,
            _ when type.IsEnum => Enum.GetNames(type).FirstOrDefault(n => string.Equals(KeyOf(n).Replace("_", "", StringComparison.Ordinal), s.Replace("_", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase)) is { } name
                ? Enum.Parse(type, name) : null,
            _ => throw new InvalidOperationException($"ConfigLoader: no conversion for {type.Name} ({path})."),
        };
        return result ?? throw Error(origin, node, path, $"expected {Describe(type)}, got '{s}'");
    }

    // A number, a fraction of two numbers (adversarial.eps: 4/255, as `seglab attack --eps` takes it) or a percentage (50%).
    private static double? ParseNumber(string s)
    {
        static double? Plain(string t) => double.TryParse(t.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
        var t = s.Trim();
        if (t.EndsWith('%')) return Plain(t[..^1]) is { } p ? p / 100 : null;
        int slash = t.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return Plain(t);
        return Plain(t[..slash]) is { } a && Plain(t[(slash + 1)..]) is { } b && b != 0 ? a / b : null;
    }

    private static string Describe(Type t) => t switch
    {
        _ when t == typeof(int) || t == typeof(long) => "an integer",
        _ when t == typeof(double) => "a number (a fraction such as 4/255 or a percentage such as 50% allowed)",
        _ when t == typeof(bool) => "true or false",
        _ when t == typeof(string) => "a string",
        _ when t.IsEnum => $"one of {string.Join(", ", Enum.GetNames(t).Select(KeyOf))}",
        _ => $"a {t.Name} mapping",
    };

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && (s.Value is null or "" or "~" or "null" or "Null" or "NULL");

    private static ConfigException Error(Context ctx, YamlNode node, string path, string what)
    {
        string where = ctx.Overrides.TryGetValue(node, out var o) ? o : node.Start.Line > 0 ? $"{ctx.Origin}:{node.Start.Line}" : ctx.Origin;
        return new ConfigException($"{where}: {path}: {what}.");
    }

    // The architecture keys say nothing when model.init names a table model (its architecture is that model's).
    private static readonly HashSet<string> ArchitectureKeys = ["Family", "Widths", "BaseWidth", "OutputStride", "AsppChannels", "Pretrained"];

    private static void Emit(StringBuilder sb, object obj, int indent, bool skipCleanAdversarial = false)
    {
        foreach (var p in obj.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.Name != "EqualityContract"))
        {
            if (obj is ModelConfig { Init: not null } && ArchitectureKeys.Contains(p.Name)) continue;
            if (skipCleanAdversarial && obj is TrainConfig { Adversarial.Enabled: false } && p.Name == nameof(TrainConfig.Adversarial)) continue;
            // The weak section chooses the training data (data.dir), not the training: runs hash as before it existed.
            if (skipCleanAdversarial && obj is TrainConfig && p.Name == nameof(TrainConfig.Weak)) continue;
            var v = p.GetValue(obj);
            sb.Append(' ', indent).Append(KeyOf(p.Name)).Append(':');
            if (v is not null && v.GetType().IsClass && v is not string && v is not Array)
            {
                sb.Append('\n');
                Emit(sb, v, indent + 2);
                continue;
            }
            sb.Append(' ').Append(Scalar(v)).Append('\n');
        }
    }

    private static string Scalar(object? v) => v switch
    {
        null => "null",
        string s => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/') && !double.TryParse(s, CultureInfo.InvariantCulture, out _)
            && s is not ("null" or "true" or "false" or "~") ? s : System.Text.Json.JsonSerializer.Serialize(s),
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        Enum e => KeyOf(e.ToString()),
        Array a => "[" + string.Join(", ", a.Cast<object>().Select(Scalar)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "null",
    };
}
