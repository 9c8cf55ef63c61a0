/// One named tensor of a model's state (a PyTorch `state_dict` entry), in float64 for exchange.
///
/// `values` is row-major with `values.count == shape.reduce(1, *)`; a scalar has shape `[]`.
public struct StateTensor: Equatable, Sendable {
  public var shape: [Int]
  public var values: [Double]

  public init(shape: [Int], values: [Double]) {
    self.shape = shape
    self.values = values
  }
}

/// Description of one state tensor of a model, in PyTorch `state_dict` order.
public struct StateEntry: Equatable, Sendable {
  /// The PyTorch key, e.g. `conv1.weight`, `layer2.0.shortcut.1.running_var`.
  public let name: String
  /// The PyTorch shape, e.g. `[6, 3, 5, 5]` (conv weight `out × in/groups × k × k`).
  public let shape: [Int]
  /// Whether the tensor is a trainable parameter (a Jacobian column block). Running statistics are not.
  public let isTrainable: Bool
  /// Offset of the first element in the model's flat state buffer.
  public let stateOffset: Int
  /// Offset of the first element in the flat parameter vector θ (`[P]`), or `nil` if not trainable.
  public let parameterOffset: Int?

  /// Number of elements, the product of `shape`.
  public var count: Int { shape.reduce(1, *) }
}
