// IRN's multi-label classifier (PAPERS.md C.1): any encoder that gives a feature map F [B, K, h, w], global average
// pooling, and a bias-free 1x1 classifier W [C, K]. The class activation map is the same classifier applied before
// pooling: CAM_c = ReLU(sum_k W_ck F_k). Input is RGB in [0, 1]; the encoder's preprocessing is part of the model.
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Models;

namespace SegLab.Weak;

/// <summary>Encoder + global average pooling + bias-free linear classifier over image-level tags.</summary>
public sealed class TagClassifier : Module
{
    /// <summary>Builds the classifier on <paramref name="encoder"/>, whose output has <paramref name="featureChannels"/> channels.</summary>
    /// <param name="encoder">Takes the preprocessed image, returns [B, K, h, w].</param>
    /// <param name="featureChannels">K.</param>
    /// <param name="classes">C, the tagged classes.</param>
    /// <param name="preprocessing">The encoder's input convention.</param>
    /// <param name="encoderName">What the encoder is (reported: "resnet18-imagenet", "unet-scratch", ...).</param>
    /// <param name="rng">Initialises the classifier.</param>
    public TagClassifier(Module encoder, int featureChannels, int classes, Preprocessing preprocessing, string encoderName, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (featureChannels < 1 || classes < 1) throw new ArgumentException($"tag classifier: {featureChannels} feature channels and {classes} classes must both be positive.");
        Encoder = RegisterModule("encoder", encoder);
        // IRN's classifier is nn.Conv2d(K, C, 1, bias=False) with PyTorch's default initialisation: a bias-free Linear here.
        Classifier = RegisterModule("classifier", new Linear(featureChannels, classes, bias: false, rng: rng));
        Preprocessing = preprocessing ?? throw new ArgumentNullException(nameof(preprocessing));
        Classes = classes;
        FeatureChannels = featureChannels;
        EncoderName = encoderName;
    }

    /// <summary>The encoder.</summary>
    public Module Encoder { get; }

    /// <summary>The bias-free classifier.</summary>
    public Linear Classifier { get; }

    /// <summary>Classifier weights W [C, K].</summary>
    public Tensor Weight => Classifier.Weight;

    /// <summary>The input convention.</summary>
    public Preprocessing Preprocessing { get; }

    /// <summary>C.</summary>
    public int Classes { get; }

    /// <summary>K.</summary>
    public int FeatureChannels { get; }

    /// <summary>
    /// Keep the encoder's batch norms in eval mode (running statistics fixed) while training, as IRN's FixedBatchNorm
    /// does for ImageNet weights: small batches of crops would otherwise overwrite the ImageNet statistics.
    /// </summary>
    public bool FixedNorm { get; init; }

    /// <summary>Training mode, with the encoder's batch norms left in eval mode when <see cref="FixedNorm"/>.</summary>
    public void TrainMode()
    {
        Train();
        if (!FixedNorm) return;
        foreach (var (_, m) in Encoder.NamedModules())
            if (m is BatchNorm2d) m.Eval();
    }

    /// <summary>What the encoder is, for reports.</summary>
    public string EncoderName { get; }

    /// <summary>Feature map [B, K, h, w] of an RGB batch in [0, 1].</summary>
    public Tensor Features(Tensor rgb)
    {
        var f = Encoder.Forward(Preprocessing.Apply(rgb));
        if (f.Rank != 4 || f.Size(1) != FeatureChannels)
            throw new InvalidOperationException($"tag classifier: the encoder gave {Shapes.Format(f.Shape)}, expected [B, {FeatureChannels}, h, w].");
        return f;
    }

    /// <summary>
    /// The encoder's stage outputs (finest first) where it exposes them (SegLab's ResNets: layer1..layer4), else the
    /// single feature map: the multi-level input of the affinity head (AffinityNet, PAPERS.md C.2).
    /// </summary>
    public IReadOnlyList<Tensor> Levels(Tensor rgb) => Encoder switch
    {
        ResNet r => r.Features(Preprocessing.Apply(rgb)),
        ResNetEncoder e => e.Stages(Preprocessing.Apply(rgb)),
        _ => [Features(rgb)],
    };

    /// <summary>Class activation maps [B, C, h, w] = ReLU(W F) of an RGB batch in [0, 1].</summary>
    public Tensor Cam(Tensor rgb) => Ops.Relu(Project(Features(rgb)));

    /// <summary>W applied at every position of F: [B, K, h, w] -> [B, C, h, w].</summary>
    public Tensor Project(Tensor features)
    {
        int b = features.Size(0), k = features.Size(1), h = features.Size(2), w = features.Size(3);
        var flat = Ops.Reshape(features, [b, k, h * w]);
        var y = Ops.MatMul(Weight, flat); // [C, K] x [B, K, hw] -> [B, C, hw]
        return Ops.Reshape(y, [b, Classes, h, w]);
    }

    /// <summary>Logits [B, C]: W applied to the globally average-pooled features.</summary>
    protected override Tensor ForwardCore(Tensor rgb)
    {
        var pooled = Ops.GlobalAvgPool2d(Features(rgb)); // [B, K, 1, 1]
        var v = Ops.Reshape(pooled, [pooled.Size(0), FeatureChannels]);
        return Ops.MatMul(v, Ops.Transpose(Weight, 0, 1));
    }
}
