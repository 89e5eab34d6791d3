// Shared loop of the per-pixel attack losses (PAPERS.md A.2): gathers each pixel's logits, computes the
// softmax and the argmax mask once, calls the loss's formula, and scatters d loss / d logits scaled by 1/(H*W).
// Ignored pixels (label -1) contribute 0 to the loss and to the gradient; masks are detached by construction.
namespace SegLab.Robustness.Losses;

/// <summary>One pixel as a loss formula sees it.</summary>
public readonly ref struct PixelView
{
    internal PixelView(ReadOnlySpan<float> u, ReadOnlySpan<float> p, float logPy, int y, bool correct, int step, int totalSteps)
    {
        U = u;
        P = p;
        LogPy = logPy;
        Y = y;
        Correct = correct;
        Step = step;
        TotalSteps = totalSteps;
    }

    /// <summary>The logits the loss reads (length = classes).</summary>
    public ReadOnlySpan<float> U { get; }

    /// <summary>softmax(U).</summary>
    public ReadOnlySpan<float> P { get; }

    /// <summary>log p_y (log-softmax at the label, computed stably).</summary>
    public float LogPy { get; }

    /// <summary>The label.</summary>
    public int Y { get; }

    /// <summary>Whether argmax U (first maximum) equals the label.</summary>
    public bool Correct { get; }

    /// <summary>Steps taken before this evaluation.</summary>
    public int Step { get; }

    /// <summary>Total steps of the attack.</summary>
    public int TotalSteps { get; }
}

/// <summary>Base of the per-pixel losses: subclasses give the formula and its gradient in the logits.</summary>
public abstract class PixelLoss : IAttackLoss
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <summary>
    /// The pixel's loss; when <paramref name="du"/> is not empty, also writes d loss / d U into it (every entry).
    /// </summary>
    /// <param name="v">The pixel.</param>
    /// <param name="du">Empty, or one value per class.</param>
    protected abstract float Pixel(in PixelView v, Span<float> du);

    /// <inheritdoc/>
    public void Evaluate(in LossInput input, Span<double> perImage, Span<float> gradLogits)
    {
        if (perImage.Length != input.Batch)
            throw new ArgumentException($"{Name} loss: {perImage.Length} loss slots for {input.Batch} images.");
        bool grad = !gradLogits.IsEmpty;
        if (grad && gradLogits.Length != input.Logits.Length)
            throw new ArgumentException($"{Name} loss: gradient buffer has {gradLogits.Length} values, logits {input.Logits.Length}.");
        if (grad) gradLogits.Clear();
        int k = input.Classes, c = input.Channels, s = input.Pixels;
        Span<float> u = stackalloc float[k];
        Span<float> p = stackalloc float[k];
        Span<float> du = stackalloc float[k];
        float inv = 1f / s;
        for (int n = 0; n < input.Batch; n++)
        {
            double sum = 0;
            var logits = input.Logits.Slice(n * c * s, c * s);
            var labels = input.Labels.Slice(n * s, s);
            for (int i = 0; i < s; i++)
            {
                int y = labels[i];
                if (y < 0) continue;
                if (y >= k) throw new ArgumentException($"{Name} loss: label {y} at pixel {i} of image {n} is not one of the {k} loss classes.");
                int arg = 0;
                float max = u[0] = logits[i];
                for (int j = 1; j < k; j++)
                {
                    float v = u[j] = logits[j * s + i];
                    if (v > max) { max = v; arg = j; }
                }
                float z = 0;
                for (int j = 0; j < k; j++) z += p[j] = MathF.Exp(u[j] - max);
                float invZ = 1f / z;
                for (int j = 0; j < k; j++) p[j] *= invZ;
                float logPy = u[y] - max - MathF.Log(z);
                var view = new PixelView(u, p, logPy, y, arg == y, input.Step, input.TotalSteps);
                sum += Pixel(view, grad ? du : default);
                if (!grad) continue;
                var g = gradLogits.Slice(n * c * s, c * s);
                for (int j = 0; j < k; j++) g[j * s + i] = du[j] * inv;
            }
            perImage[n] = sum / s;
        }
    }

    /// <summary>du = weight * (p - e_y): the gradient of weight * CE with a detached weight.</summary>
    /// <param name="v">The pixel.</param>
    /// <param name="weight">The detached factor.</param>
    /// <param name="du">Receives the gradient (ignored when empty).</param>
    protected static void CrossEntropyGradient(in PixelView v, float weight, Span<float> du)
    {
        if (du.IsEmpty) return;
        for (int j = 0; j < du.Length; j++) du[j] = weight * v.P[j];
        du[v.Y] -= weight;
    }

    /// <summary>The L2 norm of a vector, at least 1e-12 (guards 0/0).</summary>
    /// <param name="u">Values.</param>
    protected static float Norm(ReadOnlySpan<float> u)
    {
        float s = 0;
        foreach (float v in u) s += v * v;
        return MathF.Max(MathF.Sqrt(s), 1e-12f);
    }
}
