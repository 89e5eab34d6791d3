// Contextrast settings (Sung et al., CVPR 2024, arXiv 2404.10633; PAPERS.md E). Every value the sources leave open
// is an option here with its default and the reason for it; the defaults are logged with each run's config.
namespace SegLab.Contextrast;

/// <summary>Which anchor a BANE sample (a pixel of ground-truth class n predicted as m) is a negative of (PAPERS.md E.3).</summary>
public enum NegativeAssignment
{
    /// <summary>
    /// Negative of the anchor of its predicted class m (default): the reading consistent with Contextrast++'s
    /// "move closer to the anchor of the true class and away from the anchors of the incorrectly predicted class".
    /// The pixel stays a positive of its true anchor n.
    /// </summary>
    PredictedClass,

    /// <summary>
    /// Negative of the anchor of its true class n: the literal text ("B_i^n pixels are the negatives of anchor n").
    /// Such a pixel is then both a positive and a negative of the same anchor.
    /// </summary>
    TrueClass,
}

/// <summary>Contextrast's contextual contrastive learning and boundary-aware negative sampling.</summary>
public sealed record ContextrastOptions
{
    /// <summary>Adds alpha * L_PA to the cross-entropy when true.</summary>
    public bool Enabled { get; init; }

    /// <summary>
    /// Encoder stages (module paths), shallow to deep, whose features get projection heads (null: the family's
    /// four deepest stages, UNet encoder.stage*, DeepLabV3 encoder.layer1-4).
    /// </summary>
    public string[]? Stages { get; init; }

    /// <summary>Embedding dimension d (paper: 256; smaller values suit CPU runs).</summary>
    public int Dim { get; init; } = 256;

    /// <summary>Hidden channels of the projection head (0: equal to <see cref="Dim"/>).</summary>
    public int HeadHidden { get; init; }

    /// <summary>Weight alpha of L_PA in L = L_CE + alpha L_PA (paper: 0.1).</summary>
    public double Alpha { get; init; } = 0.1;

    /// <summary>Stage weights lambda from deepest to shallowest (CVPR text: 1.0, 0.7, 0.4, 0.1).</summary>
    public double[] StageWeights { get; init; } = [1.0, 0.7, 0.4, 0.1];

    /// <summary>Temperature tau (not stated in the sources; 0.1 is ContrastiveSeg's value). At least 0.03, see <see cref="PixelAnchorLoss"/>.</summary>
    public double Temperature { get; init; } = 0.1;

    /// <summary>
    /// Static fusion weight w_h of the deepest stage's anchor (w_l = 1 - w_h). Not given in the sources; 0.5 weighs the
    /// stage's own context and the deepest stage's semantics equally, the neutral choice. 0 disables fusion.
    /// </summary>
    public double FusionDeepWeight { get; init; } = 0.5;

    /// <summary>BANE selection ratio K_s: the fraction of error pixels nearest the error-region edge (Contextrast++: 0.5).</summary>
    public double BaneRatio { get; init; } = 0.5;

    /// <summary>Anchor that a BANE sample is a negative of.</summary>
    public NegativeAssignment Negatives { get; init; } = NegativeAssignment.PredictedClass;

    /// <summary>
    /// Anchors carry gradients (false, the default: no stop-gradient is mentioned in the sources) or are constants (true).
    /// </summary>
    public bool DetachAnchors { get; init; }

    /// <summary>ℓ2-normalise the anchors as well as the embeddings (false: anchors are plain means, as written in E.1).</summary>
    public bool NormalizeAnchors { get; init; }

    /// <summary>At most this many positives per anchor and stage, drawn at random (0: all). Bounds the work of the loss.</summary>
    public int MaxPositives { get; init; } = 4096;

    /// <summary>At most this many BANE negatives per anchor and stage, the boundary-nearest kept (0: all).</summary>
    public int MaxNegatives { get; init; } = 4096;
}
