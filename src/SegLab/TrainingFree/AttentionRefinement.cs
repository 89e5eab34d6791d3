// iSeg's refinement (PAPERS.md D.3-D.4) as one general operation over a self-attention or affinity matrix
// S [N, N] (rows = queries, columns = keys) and initial class maps A0 [N, C]:
//   Ent-Self:  S <- S / max_over_queries(S)  (each key column scaled to max 1: the official code's amax(dim=-2));
//              S <- S + lambda * log(e * S) where S > 0, 0 stays 0;  S <- max(S, 0);  P = S / rowsum(S)
//   Refine:    A <- A0; per class column A <- (A - min) / sum;  K times: A <- P A, then the same normalisation.
// The code uses log10 (the paper's gradient step on the entropy is ln; they differ by a constant factor on lambda),
// and column-max normalisation (the paper's text reads as row-wise): both are options, the code's choice the default.
// Without Ent-Self (the code's --no_use_self_ers), A = S A0 once: no entropy reduction, no iteration, no
// min/sum normalisation. The N x N products are engine GEMMs on [N, N] x [N, C]; memory is stated by MemoryBytes.
using SegLab.Engine;
using SegLab.Engine.Autograd;

namespace SegLab.TrainingFree;

/// <summary>Logarithm of the entropy step.</summary>
public enum EntropyLog
{
    /// <summary>log10, as the official code (wsss/iSeg.py).</summary>
    Log10,

    /// <summary>Natural log, the entropy gradient as the paper derives it.</summary>
    Ln,
}

/// <summary>How S is scaled before the entropy step.</summary>
public enum AttentionNormalisation
{
    /// <summary>Each key column divided by its maximum over queries (the code's amax(dim=-2)).</summary>
    ColumnMax,

    /// <summary>Each query row divided by its maximum over keys (a reading of the paper's text).</summary>
    RowMax,

    /// <summary>No scaling.</summary>
    None,
}

/// <summary>Settings of Ent-Self and the iterative refinement; defaults are the official code's VOC WSSS ones.</summary>
public sealed record RefinementOptions
{
    /// <summary>Entropy step size lambda (code <c>--ent</c>): 0.015 VOC, 0.1 COCO WSSS, 0.2 COCO OVS, 0.002 Context.</summary>
    public double Lambda { get; init; } = 0.015;

    /// <summary>Logarithm of the entropy step.</summary>
    public EntropyLog Log { get; init; } = EntropyLog.Log10;

    /// <summary>Scaling of S before the entropy step.</summary>
    public AttentionNormalisation Normalisation { get; init; } = AttentionNormalisation.ColumnMax;

    /// <summary>Iterations K (code <c>--iter</c>): 10 for WSSS.</summary>
    public int Iterations { get; init; } = 10;

    /// <summary>Apply Ent-Self and iterate; false is the code's base variant (one product with the raw S).</summary>
    public bool EntSelf { get; init; } = true;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (!(Lambda >= 0) || double.IsInfinity(Lambda)) throw new ArgumentException($"refinement: lambda must be a finite number >= 0, got {Lambda}.");
        if (Iterations < 0) throw new ArgumentException($"refinement: iterations must be >= 0, got {Iterations}.");
    }
}

/// <summary>Ent-Self and iSeg's iterative refinement of class maps by a self-attention or affinity matrix.</summary>
public static class AttentionRefinement
{
    /// <summary>Bytes held at once by <see cref="Refine"/> for N tokens and C classes in float32: S or P (N^2), two maps (2 N C).</summary>
    public static long MemoryBytes(int tokens, int classes) => 4L * ((long)tokens * tokens + 2L * tokens * classes);

    /// <summary>
    /// Ent-Self (D.3): the row-stochastic propagation matrix P [N, N] from a non-negative attention S [N, N].
    /// A row whose entries all end at zero stays zero (that token propagates nothing).
    /// </summary>
    public static Tensor EntSelf(Tensor attention, RefinementOptions? options = null)
    {
        options ??= new RefinementOptions();
        options.Validate();
        int n = CheckSquare(attention);
        var s = attention.DType == DType.Float32 ? attention.ToArray() : Array.ConvertAll(attention.ToArrayF64(), v => (float)v);
        foreach (var v in s)
            if (!(v >= 0) || float.IsInfinity(v)) throw new ArgumentException($"Ent-Self: the attention must be finite and non-negative, found {v}.");
        Scale(s, n, options.Normalisation);
        double lam = options.Lambda, e = Math.E;
        bool log10 = options.Log == EntropyLog.Log10;
        for (int i = 0; i < s.Length; i++)
        {
            double v = s[i];
            if (v <= 0) { s[i] = 0; continue; }
            double l = log10 ? Math.Log10(e * v) : Math.Log(e * v);
            s[i] = (float)Math.Max(v + lam * l, 0);
        }
        for (int r = 0; r < n; r++)
        {
            var row = s.AsSpan(r * n, n);
            double sum = 0;
            foreach (var v in row) sum += v;
            if (sum <= 0) continue;
            float inv = (float)(1 / sum);
            for (int j = 0; j < n; j++) row[j] *= inv;
        }
        return Tensor.FromArray(s, n, n);
    }

    /// <summary>
    /// Refines initial class maps A0 [N, C] by S [N, N] (D.4): with Ent-Self, P = EntSelf(S) and K propagations with
    /// per-class min subtraction and sum normalisation; without it, S A0 once. Returns [N, C].
    /// </summary>
    public static Tensor Refine(Tensor attention, Tensor initialMaps, RefinementOptions? options = null)
    {
        options ??= new RefinementOptions();
        options.Validate();
        int n = CheckSquare(attention);
        if (initialMaps.Rank != 2 || initialMaps.Size(0) != n)
            throw new ArgumentException($"refinement: initial maps must be [N, C] with N = {n} tokens, got {Shapes.Format(initialMaps.Shape)}.");
        using var noGrad = GradMode.NoGrad();
        var a = ToF32(initialMaps);
        if (!options.EntSelf) return Ops.MatMul(ToF32(attention), a);
        var steps = Iterate(EntSelf(attention, options), a, options.Iterations);
        return steps[^1];
    }

    /// <summary>
    /// The iteration of D.4 with a given propagation matrix P [N, N]: element k of the result is the maps after k
    /// propagations (element 0: A0 min/sum-normalised), so one call gives every K up to <paramref name="iterations"/>.
    /// </summary>
    public static IReadOnlyList<Tensor> Iterate(Tensor propagation, Tensor initialMaps, int iterations)
    {
        int n = CheckSquare(propagation);
        if (initialMaps.Rank != 2 || initialMaps.Size(0) != n)
            throw new ArgumentException($"refinement: initial maps must be [N, C] with N = {n} tokens, got {Shapes.Format(initialMaps.Shape)}.");
        if (iterations < 0) throw new ArgumentException($"refinement: iterations must be >= 0, got {iterations}.");
        using var noGrad = GradMode.NoGrad();
        var p = ToF32(propagation);
        var steps = new List<Tensor>(iterations + 1) { MinSumNormalise(ToF32(initialMaps)) };
        for (int k = 0; k < iterations; k++) steps.Add(MinSumNormalise(Ops.MatMul(p, steps[^1])));
        return steps;
    }

    /// <summary>The base method (the code's --no_use_self_ers): S A0, one product with the raw attention, no normalisation.</summary>
    public static Tensor Base(Tensor attention, Tensor initialMaps) => Refine(attention, initialMaps, new RefinementOptions { EntSelf = false });

    /// <summary>
    /// The output step of D.4: refined maps [N, C] over a gridH x gridW token grid (row-major) become [C, height, width]
    /// class maps, bilinearly resized to the image and min-max normalised per class.
    /// </summary>
    public static Tensor ToImageMaps(Tensor refined, int gridH, int gridW, int height, int width)
    {
        if (refined.Rank != 2 || refined.Size(0) != gridH * gridW)
            throw new ArgumentException($"refinement: maps [N, C] with N = {gridH}x{gridW} = {gridH * gridW} expected, got {Shapes.Format(refined.Shape)}.");
        int n = refined.Size(0), c = refined.Size(1);
        var a = ToF32(refined).ToArray();
        var planes = new float[n * c];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++) planes[k * n + i] = a[i * c + k];
        var maps = Weak.ClassMapLabels.Resize(Tensor.FromArray(planes, c, gridH, gridW), height, width);
        return Weak.ClassMapLabels.Normalise(maps, Weak.MapNormalisation.MinMax);
    }

    /// <summary>Per column of [N, C]: subtract the minimum, divide by the sum (a constant column becomes zero).</summary>
    public static Tensor MinSumNormalise(Tensor maps)
    {
        if (maps.Rank != 2) throw new ArgumentException($"refinement: maps must be [N, C], got {Shapes.Format(maps.Shape)}.");
        int n = maps.Size(0), c = maps.Size(1);
        var a = ToF32(maps).ToArray();
        for (int j = 0; j < c; j++)
        {
            double min = double.PositiveInfinity;
            for (int i = 0; i < n; i++) min = Math.Min(min, a[i * c + j]);
            double sum = 0;
            for (int i = 0; i < n; i++) sum += a[i * c + j] - min;
            double inv = sum > 0 ? 1 / sum : 0;
            for (int i = 0; i < n; i++) a[i * c + j] = (float)((a[i * c + j] - min) * inv);
        }
        return Tensor.FromArray(a, n, c);
    }

    private static void Scale(float[] s, int n, AttentionNormalisation how)
    {
        if (how == AttentionNormalisation.None) return;
        var max = new float[n];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < n; j++)
            {
                int k = how == AttentionNormalisation.ColumnMax ? j : r;
                max[k] = Math.Max(max[k], s[r * n + j]);
            }
        for (int r = 0; r < n; r++)
            for (int j = 0; j < n; j++)
            {
                float m = max[how == AttentionNormalisation.ColumnMax ? j : r];
                s[r * n + j] = m > 0 ? s[r * n + j] / m : 0;
            }
    }

    private static int CheckSquare(Tensor attention)
    {
        ArgumentNullException.ThrowIfNull(attention);
        if (attention.Rank != 2 || attention.Size(0) != attention.Size(1))
            throw new ArgumentException($"refinement: the attention must be a square [N, N] matrix, got {Shapes.Format(attention.Shape)}.");
        return attention.Size(0);
    }

    private static Tensor ToF32(Tensor t) => t.DType == DType.Float32 ? t.Detach() : Tensor.FromArray(Array.ConvertAll(t.ToArrayF64(), v => (float)v), t.ShapeArray());
}
