// A tape node (micrograd's design): the operation's inputs and a closure mapping the output gradient to input gradients.
namespace SegLab.Engine.Autograd;

/// <summary>Maps the gradient of an operation's output to the gradients of its inputs (null where not needed).</summary>
/// <param name="gradOutput">Gradient with respect to the output, same shape as the output.</param>
internal delegate Tensor?[] BackwardFn(Tensor gradOutput);

/// <summary>One recorded operation. A backward pass that does not retain the graph releases it once it has run.</summary>
internal sealed class Node(string op, Tensor[] inputs, BackwardFn backward)
{
    /// <summary>Operation name, for errors and debugging.</summary>
    public string Op { get; } = op;

    /// <summary>The operation's tensor inputs, in order (empty once released).</summary>
    public Tensor[] Inputs { get; private set; } = inputs;

    /// <summary>The gradient rule (null once released).</summary>
    public BackwardFn? Backward { get; private set; } = backward;

    /// <summary>Whether a backward pass has freed this node's inputs and saved tensors.</summary>
    public bool Released => Backward is null;

    /// <summary>Drops the inputs and the closure (with the tensors it saved), so that the forward pass's memory can be reclaimed.</summary>
    public void Release()
    {
        Inputs = [];
        Backward = null;
    }
}
