// Merging the output folders of sharded `seglab attack` runs (robustness.json + robustness.state.json each): the
// shards must be one run (the same state fingerprint: model, protocol, radii, losses, seed, split, class weights;
// and the same data), cover every shard i/n once and no image twice. The per-image records are put back in the
// split's order and summarised exactly as one unsharded run summarises them, so the merged robustness.json equals
// the unsharded one in every metric (only wall times differ).
using System.Text.Json;
using System.Text.Json.Nodes;
using SegLab.Data;
using SegLab.Evaluation;

namespace SegLab.Robustness.Protocols;

/// <summary>A merge of protocol-run shards.</summary>
/// <param name="Report">The summary of the whole.</param>
/// <param name="State">Every image's record, in the split's order, with the shards' fingerprint.</param>
/// <param name="Classes">The class table.</param>
/// <param name="MissingShards">Shards not given (empty unless the merge was allowed to be partial).</param>
public sealed record MergedRobustness(RobustnessReport Report, RobustnessState State, ClassTable Classes, IReadOnlyList<string> MissingShards);

/// <summary>Merges sharded protocol runs.</summary>
public static class RobustnessMerge
{
    /// <summary>robustness.json, the summary.</summary>
    public const string ReportFile = "robustness.json";

    /// <summary>robustness.state.json, the per-image records.</summary>
    public const string StateFile = "robustness.state.json";

    /// <summary>Merges the shard folders <paramref name="dirs"/>.</summary>
    /// <param name="dirs">Output folders of `seglab attack --shard`.</param>
    /// <param name="allowPartial">Merge an incomplete shard set (the result says which shards are missing) instead of refusing it.</param>
    public static MergedRobustness Merge(IReadOnlyList<string> dirs, bool allowPartial = false)
    {
        ArgumentNullException.ThrowIfNull(dirs);
        if (dirs.Count == 0) throw new ArgumentException("merge: give at least one shard output folder.");
        var runs = dirs.Select(d => Read(Path.GetFullPath(d))).ToList();
        var first = runs[0];
        foreach (var r in runs.Skip(1))
        {
            if (r.State.Fingerprint != first.State.Fingerprint)
                throw new InvalidDataException($"merge: {r.Dir} and {first.Dir} are shards of different runs (model, protocol, radii, losses, seed, split or class weights differ).");
            if (r.Info.Data != first.Info.Data || r.Info.Layout != first.Info.Layout || r.Info.ClassTable != first.Info.ClassTable || r.Info.IgnoreIndex != first.Info.IgnoreIndex
                || !r.Excluded.SequenceEqual(first.Excluded))
                throw new InvalidDataException($"merge: {r.Dir} attacked {r.Info.Data}, but {first.Dir} attacked {first.Info.Data} (or their --layout, --classes, --ignore-index or --exclude differ).");
        }
        var missing = ShardFolders.MissingShards(runs.Select(r => (r.Dir, r.Info.Shard)).ToList(), ReportFile);
        if (missing.Count > 0 && !allowPartial)
            throw new InvalidDataException($"merge: the shard set is incomplete: {string.Join(", ", missing)} missing (give every shard's folder, or --partial to write a result marked partial).");
        var images = new List<ImageRobustness>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in runs)
            foreach (var img in r.Images)
            {
                if (!seen.TryAdd(img.Id, r.Dir)) throw new InvalidDataException($"merge: image {img.Id} is in {seen[img.Id]} and again in {r.Dir}; shards must not overlap.");
                images.Add(img);
            }
        ClassTable classes;
        try
        {
            var data = Datasets.Open(first.Info.Data, first.Info.Split, first.Info.Layout, first.Info.ClassTable);
            classes = data.Classes;
            var order = Enumerable.Range(0, data.Count).ToDictionary(data.Id, i => i, StringComparer.Ordinal);
            if (images.All(i => order.ContainsKey(i.Id))) images = [.. images.OrderBy(i => order[i.Id])];
            else images = Interleave(runs);
        }
        catch (IOException)
        {
            // Without the data the split's order is the shards' round robin (shard k holds images k, k + n, ...).
            classes = ClassTable.Resolve(first.Info.ClassTable ?? first.Info.Dataset);
            images = Interleave(runs);
        }
        var protocol = new Protocol(first.Protocol, first.ProtocolDescription, _ => [], first.Selection, first.Greedy);
        var report = RobustnessSummary.Build(first.Model, protocol, first.LossLogits, first.Eps, images, first.Excluded);
        report = report with
        {
            Run = first.Info with
            {
                Shard = null, ShardSource = null, ShardTask = null, MergedShards = runs.Count,
                MissingShards = missing.Count > 0 ? missing : null,
            },
        };
        return new MergedRobustness(report, new RobustnessState(first.State.Fingerprint, images), classes, missing);
    }

    // Shards in index order, then image k of every shard before image k + 1 of any.
    private static List<ImageRobustness> Interleave(List<ShardRun> runs)
    {
        var ordered = runs.OrderBy(r => r.Info.Shard is null ? 0 : int.Parse(r.Info.Shard.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var result = new List<ImageRobustness>();
        for (int k = 0; result.Count < runs.Sum(r => r.Images.Count); k++)
            foreach (var r in ordered)
                if (k < r.Images.Count) result.Add(r.Images[k]);
        return result;
    }

    private sealed record ShardRun(string Dir, RobustnessRunInfo Info, RobustnessState State, List<ImageRobustness> Images, string Model, string Protocol, string ProtocolDescription,
        Selection Selection, bool Greedy, LossLogits LossLogits, double[] Eps, int[] Excluded);

    private static ShardRun Read(string dir)
    {
        string reportPath = Path.Combine(dir, ReportFile), statePath = Path.Combine(dir, StateFile);
        if (!File.Exists(reportPath) || !File.Exists(statePath))
            throw new FileNotFoundException($"merge: {dir} is not a `seglab attack` output folder ({ReportFile} and {StateFile} are missing).", reportPath);
        var state = RobustnessJson.LoadState(statePath);
        try
        {
            var m = JsonNode.Parse(File.ReadAllText(reportPath))!.AsObject();
            string S(JsonNode? node, string key) => (string?)node?[key] ?? throw new InvalidDataException($"merge: {reportPath} has no '{key}'.");
            var run = m["run"] as JsonObject
                ?? throw new InvalidDataException($"merge: {reportPath} does not record its data and shard (written by an older seglab); run the shards again.");
            var info = new RobustnessRunInfo(S(run, "data"), S(run, "dataset"), S(run, "split"), S(run, "layout"), (string?)run["classTable"], (int?)run["ignoreIndex"] ?? -1,
                (string?)run["shard"], (string?)run["shardSource"], (string?)run["shardTask"], (int?)run["mergedShards"]);
            var eps = (m["eps"]?.AsArray() ?? []).Select(e => (double)e!["epsValue"]!).ToArray();
            var greedy = (m["eps"]?.AsArray() ?? []).Any(e => e!["greedyWorstMIoU"] is not null);
            var excluded = (m["excludedClasses"]?.AsArray() ?? []).Select(x => (int)x!).ToArray();
            // The report lists images in run order (per radius); the state may hold them in another after a resume.
            var order = (m["perImage"]?.AsArray() ?? []).Select(p => (string)p!["id"]!).Distinct(StringComparer.Ordinal).ToList();
            var byId = state.Images.ToDictionary(i => i.Id, StringComparer.Ordinal);
            var missing = order.Where(id => !byId.ContainsKey(id)).ToList();
            if (missing.Count > 0) throw new InvalidDataException($"merge: {statePath} lacks images {string.Join(", ", missing.Take(5))} that {ReportFile} reports.");
            return new ShardRun(dir, info, state, order.Select(id => byId[id]).ToList(), S(m, "model"), S(m, "protocol"), S(m, "protocolDescription"),
                Enum.Parse<Selection>(S(m, "selection"), ignoreCase: true), greedy, Enum.Parse<LossLogits>(S(m, "lossLogits"), ignoreCase: true), eps, excluded);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"merge: {reportPath} is not a valid robustness.json ({e.Message}).", e);
        }
    }
}
