// Which shard of a split a run covers: `--shard i/n` as given, or `--shard auto` from the scheduler that started the
// process: a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN, _MAX, _STEP, _COUNT) or a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX, with the count from --shard-count or SEGLAB_SHARD_COUNT). The rules are in docs/scale.md;
// the environment comes in as a dictionary so that every rule is unit-tested without a scheduler.
using System.Collections;
using System.Globalization;

namespace SegLab.Evaluation;

/// <summary>Where a shard's index and count came from.</summary>
public enum ShardSource
{
    /// <summary>Given as --shard i/n.</summary>
    Explicit,

    /// <summary>A Slurm job array task (--shard auto).</summary>
    Slurm,

    /// <summary>A Kubernetes Indexed Job pod (--shard auto).</summary>
    Kubernetes,
}

/// <summary>Shard <see cref="Index"/> of <see cref="Count"/> (1-based, as `--shard i/n` writes it) and where it came from.</summary>
/// <param name="Index">The shard, 1..Count.</param>
/// <param name="Count">Number of shards, at least 1.</param>
/// <param name="Source">Explicit, Slurm or Kubernetes.</param>
/// <param name="Task">The scheduler's task as it named it (e.g. "SLURM_ARRAY_TASK_ID=3 of 1-4, job 17"), or null for an explicit shard.</param>
public sealed record ShardSpec(int Index, int Count, ShardSource Source, string? Task)
{
    /// <summary>The environment variable that gives a Kubernetes Indexed Job's shard count (its spec.completions).</summary>
    public const string CountVariable = "SEGLAB_SHARD_COUNT";

    /// <summary>Slurm's array variables.</summary>
    public const string SlurmId = "SLURM_ARRAY_TASK_ID", SlurmMin = "SLURM_ARRAY_TASK_MIN", SlurmMax = "SLURM_ARRAY_TASK_MAX",
        SlurmStep = "SLURM_ARRAY_TASK_STEP", SlurmCount = "SLURM_ARRAY_TASK_COUNT", SlurmJob = "SLURM_ARRAY_JOB_ID";

    /// <summary>The pod's index in a Kubernetes Indexed Job (0-based).</summary>
    public const string KubernetesIndex = "JOB_COMPLETION_INDEX";

    /// <summary>The 0-based shard index (what <see cref="SegLab.Data.Datasets.Shard"/> takes).</summary>
    public int Index0 => Index - 1;

    /// <summary>"explicit", "slurm" or "kubernetes" (as metrics.json and robustness.json record it).</summary>
    public string SourceName => Source.ToString().ToLowerInvariant();

    /// <summary>"i/n".</summary>
    public override string ToString() => $"{Index}/{Count}";

    /// <summary>Index and count, so that `var (i, n) = spec` reads as the tuple the CLI used before.</summary>
    /// <param name="index">1-based index.</param>
    /// <param name="count">Count.</param>
    public void Deconstruct(out int index, out int count) => (index, count) = (Index, Count);

    /// <summary>The (1-based index, count) pair.</summary>
    /// <param name="spec">The shard.</param>
    public static implicit operator (int Index, int Count)(ShardSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return (spec.Index, spec.Count);
    }

    /// <summary>Parses `--shard`: "i/n" (1 &lt;= i &lt;= n), or "auto" resolved from <paramref name="environment"/>.</summary>
    /// <param name="text">The option's value.</param>
    /// <param name="count">`--shard-count`, or null; only with "auto".</param>
    /// <param name="environment">Environment variables (see <see cref="ProcessEnvironment"/>).</param>
    public static ShardSpec Parse(string text, int? count, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(environment);
        if (string.Equals(text.Trim(), "auto", StringComparison.OrdinalIgnoreCase)) return FromScheduler(count, environment);
        if (count is not null)
            throw new ArgumentException($"--shard-count goes with --shard auto (the count of --shard {text} is its n).");
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && i >= 1 && i <= n)
            return new ShardSpec(i, n, ShardSource.Explicit, null);
        throw new ArgumentException($"--shard must be i/n with 1 <= i <= n (for example 1/4) or auto, got '{text}'.");
    }

    /// <summary>The shard of this Slurm array task or Kubernetes Indexed Job pod; a one-line error where neither (or both) set their variables, or they are inconsistent.</summary>
    /// <param name="count">`--shard-count`, or null.</param>
    /// <param name="environment">Environment variables.</param>
    public static ShardSpec FromScheduler(int? count, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (count is < 1) throw new ArgumentException($"--shard-count must be at least 1, got {count}.");
        string? Get(string name) => environment.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        bool slurm = Get(SlurmId) is not null, kubernetes = Get(KubernetesIndex) is not null;
        if (slurm && kubernetes)
            throw new ArgumentException($"--shard auto: both {SlurmId} (Slurm) and {KubernetesIndex} (Kubernetes) are set; give --shard i/n.");
        if (slurm) return FromSlurm(count, Get);
        if (kubernetes) return FromKubernetes(count, Get);
        if (Get("SLURM_JOB_ID") is { } job)
            throw new ArgumentException($"--shard auto: Slurm job {job} is not an array job ({SlurmId} is not set); submit it with sbatch --array=1-N, or give --shard i/n.");
        throw new ArgumentException($"--shard auto: no scheduler task found: neither {SlurmId} (a Slurm job array) nor {KubernetesIndex} (a Kubernetes Indexed Job) is set; give --shard i/n.");
    }

    // Slurm: task ids MIN, MIN+STEP, ..., MAX; the task with id ID is shard (ID - MIN) / STEP + 1 of COUNT, where COUNT is
    // SLURM_ARRAY_TASK_COUNT or (MAX - MIN) / STEP + 1, and both must agree where both are set (they differ for a list such as --array=1,2,7).
    private static ShardSpec FromSlurm(int? count, Func<string, string?> get)
    {
        int id = Int(get, SlurmId, required: true, min: 0)!.Value;
        int min = Int(get, SlurmMin, required: false, min: 0)
            ?? throw new ArgumentException($"--shard auto: {SlurmId}={id} is set but {SlurmMin} is not, so the first task id (0, 1 or another) is unknown.");
        int step = Int(get, SlurmStep, required: false, min: 1) ?? 1;
        int? max = Int(get, SlurmMax, required: false, min: 0), total = Int(get, SlurmCount, required: false, min: 1);
        string range = max is int mx ? (step == 1 ? $"{min}-{mx}" : $"{min}-{mx}:{step}") : $"from {min}";
        if (max is int hi)
        {
            if (hi < min || (hi - min) % step != 0)
                throw new ArgumentException($"--shard auto: {SlurmMin}={min}, {SlurmMax}={hi} and {SlurmStep}={step} are not one range of task ids.");
            int span = (hi - min) / step + 1;
            if (total is int t && t != span)
                throw new ArgumentException($"--shard auto: {SlurmCount}={t}, but the ids {range} make {span} tasks; submit one range (--array=MIN-MAX[:STEP]), not a list, or give --shard i/n.");
            total = span;
        }
        if (total is null)
            throw new ArgumentException($"--shard auto: {SlurmId}={id} is set but neither {SlurmCount} nor {SlurmMax} is, so the number of tasks is unknown.");
        if (id < min || (id - min) % step != 0 || (id - min) / step >= total)
            throw new ArgumentException($"--shard auto: {SlurmId}={id} is not one of the array's {total} task ids {range}.");
        if (count is int c && c != total)
            throw new ArgumentException($"--shard auto: --shard-count {c} disagrees with the Slurm array's {total} tasks ({range}).");
        string job = get(SlurmJob) is { } j ? $", job {j}" : "";
        return new ShardSpec((id - min) / step + 1, total.Value, ShardSource.Slurm, $"{SlurmId}={id} of {range}{job}");
    }

    // Kubernetes: JOB_COMPLETION_INDEX is 0-based; the count is --shard-count or SEGLAB_SHARD_COUNT (the Job's completions), equal where both are given.
    private static ShardSpec FromKubernetes(int? count, Func<string, string?> get)
    {
        int index = Int(get, KubernetesIndex, required: true, min: 0)!.Value;
        int? fromEnv = Int(get, CountVariable, required: false, min: 1);
        if (count is int c && fromEnv is int e && c != e)
            throw new ArgumentException($"--shard auto: --shard-count {c} disagrees with {CountVariable}={e}.");
        int n = count ?? fromEnv
            ?? throw new ArgumentException($"--shard auto: {KubernetesIndex}={index} is set but the number of shards is not: give --shard-count N or set {CountVariable} to the Job's completions.");
        if (index >= n)
            throw new ArgumentException($"--shard auto: {KubernetesIndex}={index} is outside 0..{n - 1} ({n} shards).");
        return new ShardSpec(index + 1, n, ShardSource.Kubernetes, $"{KubernetesIndex}={index} of {n}");
    }

    private static int? Int(Func<string, string?> get, string name, bool required, int min)
    {
        var text = get(name);
        if (text is null) return required ? throw new ArgumentException($"--shard auto: {name} is not set.") : null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new ArgumentException($"--shard auto: {name}='{text}' is not a whole number of at least {min}.");
        return v;
    }

    /// <summary>This process's environment variables.</summary>
    public static IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (e.Key is string k && e.Value is string v) env[k] = v;
        return env;
    }
}
