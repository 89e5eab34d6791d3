// Element types of SegLab tensors: float32 for everything, float64 for gradient checks and references.
namespace SegLab.Engine;

/// <summary>Element type of a <see cref="Tensor"/>.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float: the engine's working type.</summary>
    Float32,

    /// <summary>64-bit IEEE float: used by gradient checks and reference computations.</summary>
    Float64,
}
