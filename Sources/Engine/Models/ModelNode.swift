/// One node of a model's computation graph (a DAG in topological order).
///
/// Nodes refer to their inputs by index into the model's node list; `ModelNode.modelInput` (−1)
/// is the image batch. A layer node has one input; `add` (residual connections) and `concat`
/// (channel concatenation, DenseNet) take several.
public struct ModelNode<T: BLASScalar> {
  /// Index standing for the model's input batch in `inputs`.
  public static var modelInput: Int { -1 }

  /// What the node computes.
  public enum Operation {
    /// A layer applied to the single input.
    case layer(any Layer<T>)
    /// Elementwise sum of all inputs (same shape): `y = Σ_k x_k`; reverse: `∂x_k = δ`.
    case add
    /// Concatenation of `[C_k, H, W]` inputs along channels, in input order: `y = [x_0; x_1; …]`;
    /// reverse: `∂x_k` is the matching channel slice of `δ`.
    case concat
  }

  /// The module path, the prefix of its state keys (e.g. `layer1.0.conv1`); empty for add/concat.
  public let path: String
  public let operation: Operation
  /// Indices of the input nodes (`modelInput` for the image batch).
  public let inputs: [Int]
  /// Per-sample output shape, e.g. `[16, 5, 5]` or `[10]`.
  public let outputShape: [Int]
  /// Offset of the node's state in the model's flat state buffer.
  public let stateOffset: Int
  /// Offset of the node's trainable parameters in θ (`[P]`).
  public let parameterOffset: Int

  /// The node's layer, if it is a layer node.
  public var layer: (any Layer<T>)? {
    if case .layer(let layer) = operation { return layer }
    return nil
  }
}
