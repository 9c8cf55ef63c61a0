/// An image classifier in inference mode: a graph of layers over one flat state buffer.
///
/// Inputs are `[B, 3, 32, 32]` (NCHW), outputs `[B, 10]` logits. The state buffer holds every
/// `state_dict` tensor (trainable parameters and BatchNorm running statistics) in PyTorch order;
/// `stateEntries` names each tensor with its offset. The trainable ones, concatenated in the same
/// order, form θ (`[P]`): the columns of the Jacobian.
public struct Model<T: BLASScalar> {
  /// The model's name in `ModelZoo.names` (e.g. `lenet`).
  public let name: String
  /// The width argument it was built with (0 for models without one).
  public let width: Int
  /// Per-sample input shape, `[3, 32, 32]`.
  public let inputShape: [Int]
  /// The graph in topological order; the last node is the output.
  public let nodes: [ModelNode<T>]
  /// Every state tensor in PyTorch `state_dict` order (without `num_batches_tracked`).
  public let stateEntries: [StateEntry]
  /// Number of trainable scalars P (Jacobian columns).
  public let parameterCount: Int
  /// The initialisation scheme of `initialize(seed:)`.
  public let initialization: InitializationScheme
  /// The flat state buffer, `stateEntries` laid out back to back.
  public internal(set) var stateValues: [T]

  init(
    name: String, width: Int, inputShape: [Int], nodes: [ModelNode<T>], stateEntries: [StateEntry],
    stateCount: Int, parameterCount: Int, initialization: InitializationScheme
  ) {
    self.initialization = initialization
    self.name = name
    self.width = width
    self.inputShape = inputShape
    self.nodes = nodes
    self.stateEntries = stateEntries
    self.parameterCount = parameterCount
    self.stateValues = [T](repeating: 0, count: stateCount)
  }

  /// Number of outputs per sample m (10 logits).
  public var outputsPerSample: Int { nodes.last?.outputShape.reduce(1, *) ?? 0 }

  /// The per-sample shape node `index` reads (its first input: a node's output or the model input).
  public func inputShape(ofNode index: Int) -> [Int] {
    let source = nodes[index].inputs[0]
    return source == ModelNode<T>.modelInput ? inputShape : nodes[source].outputShape
  }
}
