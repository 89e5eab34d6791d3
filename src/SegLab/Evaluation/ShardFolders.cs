// The shard folders a merge reads: each argument is a folder, or a pattern with * and ? in any of its path segments
// ('runs/sea-shard-*', quoted so that the shell leaves it alone) expanded here to the folders it matches, in ordinal
// order. A pattern that matches no folder is an error naming it, so that a mistyped glob never merges nothing.
namespace SegLab.Evaluation;

/// <summary>Expands shard folder arguments.</summary>
public static class ShardFolders
{
    /// <summary>Whether <paramref name="text"/> holds a wildcard (* or ?).</summary>
    /// <param name="text">A path or pattern.</param>
    public static bool IsPattern(string text) => text.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>
    /// The full paths of the folders named or matched by <paramref name="arguments"/>, in argument order (the matches of
    /// one pattern sorted); a folder named twice stays twice, so that the merge says the shard is given twice.
    /// </summary>
    /// <param name="arguments">Folders or patterns.</param>
    /// <param name="what">The command, for messages ("merge").</param>
    public static IReadOnlyList<string> Expand(IEnumerable<string> arguments, string what = "merge")
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var result = new List<string>();
        foreach (var arg in arguments)
        {
            if (!IsPattern(arg))
            {
                result.Add(Path.GetFullPath(arg));
                continue;
            }
            var matches = Match(arg);
            if (matches.Count == 0) throw new DirectoryNotFoundException($"{what}: '{arg}' matches no folder.");
            result.AddRange(matches);
        }
        return result;
    }

    /// <summary>
    /// The shards i/n that none of <paramref name="runs"/> covers (empty for whole-split runs); an error for shards of
    /// different n, a shard given twice, an invalid shard, or a sharded run beside a whole-split one.
    /// </summary>
    /// <param name="runs">Each folder with its recorded shard ("i/n") or null for a whole-split run.</param>
    /// <param name="file">The file a folder's shard was read from (metrics.json, robustness.json), for messages.</param>
    public static List<string> MissingShards(IReadOnlyList<(string Dir, string? Shard)> runs, string file)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var parsed = runs.Select(r => (r.Dir, r.Shard, Spec: r.Shard is null ? null : Parse(r.Dir, r.Shard, file))).ToList();
        if (parsed.All(p => p.Spec is null)) return [];
        if (parsed.FirstOrDefault(p => p.Spec is null) is { Dir: not null } whole)
            throw new InvalidDataException($"merge: {whole.Dir} is a whole-split run and cannot be merged with shards.");
        int n = parsed[0].Spec!.Count;
        if (parsed.FirstOrDefault(p => p.Spec!.Count != n) is { Dir: not null } other)
            throw new InvalidDataException($"merge: {other.Dir} is shard {other.Shard}, but {parsed[0].Dir} is shard {parsed[0].Shard}: shards of different counts do not merge.");
        var given = new Dictionary<int, string>();
        foreach (var (dir, shard, spec) in parsed)
            if (!given.TryAdd(spec!.Index, dir))
                throw new InvalidDataException($"merge: shard {shard} is given twice ({given[spec.Index]} and {dir}).");
        return Enumerable.Range(1, n).Where(i => !given.ContainsKey(i)).Select(i => $"{i}/{n}").ToList();
    }

    private static ShardSpec Parse(string dir, string shard, string file)
    {
        try
        {
            return ShardSpec.Parse(shard, null, new Dictionary<string, string>());
        }
        catch (ArgumentException)
        {
            throw new InvalidDataException($"merge: {Path.Combine(dir, file)} has an invalid shard '{shard}'.");
        }
    }

    /// <summary>The folders matching <paramref name="pattern"/> (wildcards in any segment, none crossing a '/'), sorted ordinally.</summary>
    /// <param name="pattern">A path with * or ? in some segments, relative to the current folder or absolute.</param>
    public static IReadOnlyList<string> Match(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        string full = Path.GetFullPath(pattern);
        string root = Path.GetPathRoot(full)!;
        var segments = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        IEnumerable<string> current = [root];
        foreach (var segment in segments)
        {
            current = IsPattern(segment)
                ? current.SelectMany(dir => SafeDirectories(dir).Where(d => Wildcard(segment, Path.GetFileName(d))))
                : current.Select(dir => Path.Combine(dir, segment)).Where(Directory.Exists);
            current = current.ToList();
        }
        return current.Where(Directory.Exists).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<string> SafeDirectories(string dir)
    {
        try
        {
            return Directory.EnumerateDirectories(dir).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    // * matches any run of characters (none included), ? exactly one; names starting with '.' match only a pattern that does (as in a shell).
    private static bool Wildcard(string pattern, string name)
    {
        if (name.StartsWith('.') && !pattern.StartsWith('.')) return false;
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n])) { p++; n++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = n; }
            else if (star >= 0) { p = star + 1; n = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
