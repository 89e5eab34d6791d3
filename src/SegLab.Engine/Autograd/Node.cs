// A tape node (micrograd's design): the operation's inputs and a closure mapping the output gradient to input gradients.
namespace SegLab.Engine.Autograd;

/// <summary>Maps the gradient of an operation's output to the gradients of its inputs (null where not needed).</summary>
/// <param name="gradOutput">Gradient with respect to the output, same shape as the output.</param>
internal delegate Tensor?[] BackwardFn(Tensor gradOutput);

/// <summary>One recorded operation.</summary>
/// <param name="Op">Operation name, for errors and debugging.</param>
/// <param name="Inputs">The operation's tensor inputs, in order.</param>
/// <param name="Backward">The gradient rule.</param>
internal sealed record Node(string Op, Tensor[] Inputs, BackwardFn Backward);
