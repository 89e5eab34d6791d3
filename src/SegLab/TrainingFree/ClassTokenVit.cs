// A small vision transformer with one token per class (MCTformer-V1, Xu et al., CVPR 2022), trained on image-level tags
// only, as iSeg's attention source (a) (PAPERS.md D, F): its class-to-patch attention is the cross-attention A0 and its
// patch-to-patch attention is S. Tokens: C learned class tokens, then N = (H/p)(W/p) patch tokens (a stride-p conv)
// plus learned position embeddings; L pre-norm blocks x += Attn(LN x); x += MLP(LN x) with bias-free q, k, v. The score
// of class c is a per-class linear read-out of class token c after the final LN: logit_c = w_c . LN(z_c) + b_c.
// Cat-Cross (D.2) here: at inference the class tokens' normalised embeddings entering every attention layer are scaled
// by gamma, so their q, k and v scale by gamma (as SD's bias-free projections of the gamma-scaled text embeddings).
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Nn;

namespace SegLab.TrainingFree;

/// <summary>Sizes of a <see cref="ClassTokenVit"/>.</summary>
public sealed record VitOptions
{
    /// <summary>Embedding width D.</summary>
    public int Dim { get; init; } = 96;

    /// <summary>Transformer blocks L.</summary>
    public int Depth { get; init; } = 4;

    /// <summary>Attention heads (D must divide by it).</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Patch size p (stride of the patch embedding).</summary>
    public int Patch { get; init; } = 8;

    /// <summary>MLP hidden width as a multiple of D.</summary>
    public int MlpRatio { get; init; } = 4;

    /// <summary>Input height the position embeddings are made for.</summary>
    public int Height { get; init; } = 120;

    /// <summary>Input width the position embeddings are made for.</summary>
    public int Width { get; init; } = 160;

    /// <summary>Throws an ArgumentException naming the bad setting.</summary>
    public void Validate()
    {
        if (Dim < 1 || Depth < 1 || Heads < 1 || Patch < 1 || MlpRatio < 1) throw new ArgumentException($"vit: dim {Dim}, depth {Depth}, heads {Heads}, patch {Patch} and mlp ratio {MlpRatio} must all be >= 1.");
        if (Dim % Heads != 0) throw new ArgumentException($"vit: dim {Dim} must be a multiple of heads {Heads}.");
        if (Height % Patch != 0 || Width % Patch != 0) throw new ArgumentException($"vit: input {Height}x{Width} must be a multiple of the patch size {Patch}.");
    }
}

/// <summary>What <see cref="ClassTokenVit.Attention"/> returns for one image.</summary>
/// <param name="SelfAttention">S [N, N]: patch-to-patch attention (rows queries, columns keys), rows renormalised to sum 1 over patches.</param>
/// <param name="CrossAttention">A0 [N, C]: class c's attention to each patch (column c), not normalised.</param>
/// <param name="GridH">Patch rows h.</param>
/// <param name="GridW">Patch columns w (N = h w, patches row-major).</param>
/// <param name="Logits">Class scores [C] of the same pass.</param>
public sealed record VitAttention(Tensor SelfAttention, Tensor CrossAttention, int GridH, int GridW, Tensor Logits);

/// <summary>A ViT with one learned token per class whose attention gives iSeg's S and A0.</summary>
public sealed class ClassTokenVit : Module
{
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f];
    private readonly Tensor _mean, _std;

    /// <summary>Builds the model with a seeded initialisation (truncation-free normal 0.02 for embeddings and linears).</summary>
    public ClassTokenVit(VitOptions options, int classes, int seed = 0)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        if (classes < 1) throw new ArgumentException($"vit: classes must be >= 1, got {classes}.");
        Classes = classes;
        var rng = new Rng(seed * 31L + 7);
        int d = options.Dim;
        GridH = options.Height / options.Patch;
        GridW = options.Width / options.Patch;
        PatchEmbed = RegisterModule("patch_embed", new Conv2d(3, d, options.Patch, options.Patch, rng: rng));
        ClsToken = RegisterParameter("cls_token", Tensor.Normal(rng, [1, classes, d], 0, 0.02));
        PosEmbed = RegisterParameter("pos_embed", Tensor.Normal(rng, [1, GridH * GridW, d], 0, 0.02));
        Blocks = new VitBlock[options.Depth];
        var blocks = RegisterModule("blocks", new Sequential());
        for (int i = 0; i < options.Depth; i++) blocks.Add(Blocks[i] = new VitBlock(d, options.Heads, options.MlpRatio, rng));
        Norm = RegisterModule("norm", new LayerNorm(d, 1e-6));
        Head = RegisterModule("head", new ClassReadout(classes, d, rng));
        _mean = Tensor.FromArray(Mean, 1, 3, 1, 1);
        _std = Tensor.FromArray(Std, 1, 3, 1, 1);
    }

    /// <summary>Sizes.</summary>
    public VitOptions Options { get; }

    /// <summary>C, the class tokens and outputs.</summary>
    public int Classes { get; }

    /// <summary>Patch rows of the trained input size.</summary>
    public int GridH { get; }

    /// <summary>Patch columns of the trained input size.</summary>
    public int GridW { get; }

    /// <summary>Patch embedding conv [D, 3, p, p].</summary>
    public Conv2d PatchEmbed { get; }

    /// <summary>Class tokens [1, C, D].</summary>
    public Tensor ClsToken { get; }

    /// <summary>Position embeddings of the patches [1, N, D].</summary>
    public Tensor PosEmbed { get; }

    /// <summary>The transformer blocks.</summary>
    public VitBlock[] Blocks { get; }

    /// <summary>Final layer norm.</summary>
    public LayerNorm Norm { get; }

    /// <summary>Per-class read-out of the class tokens.</summary>
    public ClassReadout Head { get; }

    /// <summary>Class logits [B, C] of images [B, 3, H, W] in [0, 1] (no Cat-Cross scaling: gamma 1).</summary>
    protected override Tensor ForwardCore(Tensor x) => Run(x, 1.0, null);

    /// <summary>Class logits [B, C]; <paramref name="attentions"/>, when given, receives each block's attention [B, heads, T, T].</summary>
    /// <param name="x">[B, 3, H, W] in [0, 1], H and W multiples of the patch size.</param>
    /// <param name="gamma">Cat-Cross factor on the class tokens entering each attention layer (1: none).</param>
    /// <param name="attentions">Collects the attention probabilities, T = C + N tokens, class tokens first.</param>
    public Tensor Run(Tensor x, double gamma, List<Tensor>? attentions)
    {
        if (x.Rank != 4 || x.Size(1) != 3) throw new ArgumentException($"vit: input must be [B, 3, H, W], got {Shapes.Format(x.Shape)}.");
        int b = x.Size(0), p = Options.Patch;
        if (x.Size(2) % p != 0 || x.Size(3) % p != 0)
            throw new ArgumentException($"vit: input {x.Size(2)}x{x.Size(3)} is not a multiple of the patch size {p}.");
        if (!(gamma > 0) || double.IsInfinity(gamma)) throw new ArgumentException($"vit: Cat-Cross gamma must be a positive number, got {gamma}.");
        int gh = x.Size(2) / p, gw = x.Size(3) / p, n = gh * gw, c = Classes, d = Options.Dim;
        var f = PatchEmbed.Forward(Ops.Div(Ops.Sub(x, _mean), _std));                     // [B, D, gh, gw]
        var patches = Ops.Transpose(Ops.Reshape(f, b, d, n), 1, 2);                        // [B, N, D]
        patches = Ops.Add(patches, Position(gh, gw));
        var cls = Ops.BroadcastTo(ClsToken, [b, c, d]);
        var t = Ops.Cat([cls, patches], 1);                                                // [B, C + N, D]
        Tensor? scale = null;
        if (gamma != 1.0)
        {
            var s = new float[c + n];
            for (int i = 0; i < s.Length; i++) s[i] = i < c ? (float)gamma : 1f;
            scale = Tensor.FromArray(s, 1, c + n, 1);
        }
        foreach (var block in Blocks) t = block.Run(t, c, scale, attentions);
        return Head.Forward(Norm.Forward(Ops.Slice(t, 1, 0, c)));                          // [B, C, D] -> [B, C]
    }

    /// <summary>
    /// S, A0 and the grid of one image for iSeg: attention probabilities averaged over heads and over the last
    /// <paramref name="lastLayers"/> blocks, with the Cat-Cross <paramref name="gamma"/> on the class tokens.
    /// S = the patch rows and columns, each row renormalised to sum 1; A0[j, c] = class token c's attention to patch j.
    /// </summary>
    /// <param name="image">[3, H, W] or [1, 3, H, W] in [0, 1].</param>
    /// <param name="gamma">Cat-Cross factor (PAPERS.md D.2 uses 1.6; 1 is the plain model).</param>
    /// <param name="lastLayers">Blocks averaged, counted from the last (1..Depth).</param>
    public VitAttention Attention(Tensor image, double gamma = 1.6, int lastLayers = 2)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (lastLayers < 1 || lastLayers > Options.Depth) throw new ArgumentException($"vit: last layers must be in 1..{Options.Depth}, got {lastLayers}.");
        var x = image.Rank == 3 ? Ops.Unsqueeze(image, 0) : image;
        if (x.Rank != 4 || x.Size(0) != 1) throw new ArgumentException($"vit: attention takes one image [3, H, W] or [1, 3, H, W], got {Shapes.Format(image.Shape)}.");
        bool wasTraining = Training;
        Eval();
        var atts = new List<Tensor>();
        Tensor logits;
        using (GradMode.NoGrad()) logits = Run(x, gamma, atts);
        if (wasTraining) Train();
        int gh = x.Size(2) / Options.Patch, gw = x.Size(3) / Options.Patch, n = gh * gw, c = Classes, tk = c + n, heads = Options.Heads;
        var mean = new double[tk * tk];
        foreach (var a in atts.Skip(atts.Count - lastLayers))
        {
            var v = a.ToArray();                                                            // [1, heads, T, T]
            for (int i = 0; i < v.Length; i++) mean[i % (tk * tk)] += v[i];
        }
        double norm = 1.0 / (heads * lastLayers);
        var s = new float[n * n];
        var a0 = new float[n * c];
        for (int q = 0; q < n; q++)
        {
            double rowSum = 0;
            for (int k = 0; k < n; k++) rowSum += mean[(c + q) * tk + c + k];
            double inv = rowSum > 0 ? 1 / rowSum : 0;
            for (int k = 0; k < n; k++) s[q * n + k] = (float)(mean[(c + q) * tk + c + k] * inv);
            for (int j = 0; j < c; j++) a0[q * c + j] = (float)(mean[j * tk + c + q] * norm);
        }
        return new VitAttention(Tensor.FromArray(s, n, n), Tensor.FromArray(a0, n, c), gh, gw, Ops.Reshape(logits, c));
    }

    // Position embeddings for a gh x gw grid: the trained ones, or bilinearly resized for another input size.
    private Tensor Position(int gh, int gw)
    {
        if (gh == GridH && gw == GridW) return PosEmbed;
        var grid = Ops.Reshape(Ops.Transpose(PosEmbed, 1, 2), 1, Options.Dim, GridH, GridW);
        var resized = Ops.Interpolate(grid, gh, gw, InterpolationMode.Bilinear);
        return Ops.Transpose(Ops.Reshape(resized, 1, Options.Dim, gh * gw), 1, 2);
    }
}

/// <summary>One pre-norm transformer block: x += Attn(LN x); x += MLP(LN x) (GELU, tanh form).</summary>
public sealed class VitBlock : Module
{
    private readonly int _heads;

    /// <summary>Builds the block.</summary>
    public VitBlock(int dim, int heads, int mlpRatio, Rng rng)
    {
        _heads = heads;
        Norm1 = RegisterModule("norm1", new LayerNorm(dim, 1e-6));
        var attn = RegisterModule("attn", new Holder());
        Qkv = attn.Hold("qkv", Init(new Linear(dim, 3 * dim, bias: false, rng: rng), rng));
        Proj = attn.Hold("proj", Init(new Linear(dim, dim, rng: rng), rng));
        Norm2 = RegisterModule("norm2", new LayerNorm(dim, 1e-6));
        var mlp = RegisterModule("mlp", new Holder());
        Fc1 = mlp.Hold("fc1", Init(new Linear(dim, mlpRatio * dim, rng: rng), rng));
        Fc2 = mlp.Hold("fc2", Init(new Linear(mlpRatio * dim, dim, rng: rng), rng));
    }

    /// <summary>Pre-attention norm.</summary>
    public LayerNorm Norm1 { get; }

    /// <summary>Bias-free q, k, v projection [3D, D].</summary>
    public Linear Qkv { get; }

    /// <summary>Attention output projection.</summary>
    public Linear Proj { get; }

    /// <summary>Pre-MLP norm.</summary>
    public LayerNorm Norm2 { get; }

    /// <summary>MLP up projection.</summary>
    public Linear Fc1 { get; }

    /// <summary>MLP down projection.</summary>
    public Linear Fc2 { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor x) => Run(x, 0, null, null);

    /// <summary>The block on tokens [B, T, D]; <paramref name="scale"/> [1, T, 1] multiplies the normalised tokens entering attention.</summary>
    public Tensor Run(Tensor x, int classTokens, Tensor? scale, List<Tensor>? attentions)
    {
        int b = x.Size(0), t = x.Size(1), d = x.Size(2), hd = d / _heads;
        var h = Norm1.Forward(x);
        if (scale is not null) h = Ops.Mul(h, scale);
        var qkv = Ops.Permute(Ops.Reshape(Qkv.Forward(h), b, t, 3, _heads, hd), 2, 0, 3, 1, 4); // [3, B, heads, T, hd]
        var q = Ops.Select(qkv, 0, 0);
        var k = Ops.Select(qkv, 0, 1);
        var v = Ops.Select(qkv, 0, 2);
        var att = Ops.Softmax(Ops.Mul(Ops.MatMul(q, Ops.Transpose(k, 2, 3)), 1.0 / Math.Sqrt(hd)), -1); // [B, heads, T, T]
        attentions?.Add(att);
        var o = Ops.Reshape(Ops.Permute(Ops.MatMul(att, v), 0, 2, 1, 3), b, t, d);
        x = Ops.Add(x, Proj.Forward(o));
        return Ops.Add(x, Fc2.Forward(Ops.GeluTanh(Fc1.Forward(Norm2.Forward(x)))));
    }

    // timm's ViT initialisation: linear weights normal(0, 0.02), biases 0.
    private static Linear Init(Linear l, Rng rng)
    {
        Tensor.Normal(rng, l.Weight.ShapeArray(), 0, 0.02).ToArray().CopyTo(l.Weight.Span);
        l.Bias?.Span.Clear();
        return l;
    }
}

/// <summary>logit_c = w_c . z_c + b_c for class tokens z [B, C, D]: weight [C, D], bias [C].</summary>
public sealed class ClassReadout : Module
{
    /// <summary>Builds the read-out (weights normal 0.02, bias 0).</summary>
    public ClassReadout(int classes, int dim, Rng rng)
    {
        Weight = RegisterParameter("weight", Tensor.Normal(rng, [classes, dim], 0, 0.02));
        Bias = RegisterParameter("bias", Tensor.Zeros(classes));
    }

    /// <summary>[C, D].</summary>
    public Tensor Weight { get; }

    /// <summary>[C].</summary>
    public Tensor Bias { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor z) => Ops.Add(Ops.Sum(Ops.Mul(z, Weight), [2]), Bias);
}

/// <summary>A named group of layers (PyTorch's attn and mlp submodules), used for its state-dict names only.</summary>
internal sealed class Holder : Module
{
    public T Hold<T>(string name, T child) where T : Module => RegisterModule(name, child);

    protected override Tensor ForwardCore(Tensor x) => throw new NotSupportedException("a layer group is not run as a whole.");
}
