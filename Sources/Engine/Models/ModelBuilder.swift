/// Assembles a `Model` node by node, checking shapes and laying out the flat state buffer and
/// the parameter vector θ in PyTorch `state_dict` order (the order in which layers are added).
public struct ModelBuilder<T: BLASScalar> {
  public let inputShape: [Int]
  /// The initialisation `Model.initialize(seed:)` applies (PyTorch's default unless overridden).
  public var initialization: InitializationScheme = .pytorchDefault
  private(set) var nodes: [ModelNode<T>] = []
  private(set) var entries: [StateEntry] = []
  /// State values so far (parameters and buffers such as BatchNorm running statistics).
  public private(set) var stateCount = 0
  /// Trainable parameters so far (P).
  public private(set) var parameterCount = 0

  /// A builder for per-sample input shape `inputShape` (e.g. `[3, 32, 32]`).
  public init(inputShape: [Int]) { self.inputShape = inputShape }

  /// Index of the most recently added node (`ModelNode.modelInput` if none).
  public var last: Int { nodes.count - 1 }

  /// The per-sample shape produced by node `index` (or the model input).
  public func shape(of index: Int) -> [Int] {
    index == ModelNode<T>.modelInput ? inputShape : nodes[index].outputShape
  }

  /// Appends `layer` under module path `path`, fed by node `input` (default: the last node).
  /// Returns the new node's index. Throws `EngineError.shapeMismatch` if the shapes do not fit.
  @discardableResult
  public mutating func layer(_ path: String, _ layer: any Layer<T>, input: Int? = nil) throws -> Int {
    let source = input ?? last
    let outputShape = try layer.outputShape(forInput: shape(of: source))
    let node = ModelNode<T>(
      path: path, operation: .layer(layer), inputs: [source], outputShape: outputShape,
      stateOffset: stateCount, parameterOffset: parameterCount)
    for spec in layer.stateSpecs {
      let name = path.isEmpty ? spec.name : path + "." + spec.name
      entries.append(
        StateEntry(
          name: name, shape: spec.shape, isTrainable: spec.isTrainable, stateOffset: stateCount,
          parameterOffset: spec.isTrainable ? parameterCount : nil))
      stateCount += spec.count
      if spec.isTrainable { parameterCount += spec.count }
    }
    nodes.append(node)
    return nodes.count - 1
  }

  /// Appends the elementwise sum of nodes `inputs` (a residual connection).
  @discardableResult
  public mutating func add(_ inputs: [Int]) throws -> Int {
    let shapes = inputs.map { shape(of: $0) }
    guard let first = shapes.first, shapes.allSatisfy({ $0 == first }) else {
      throw EngineError(.shapeMismatch, "add needs inputs of one shape, found \(shapes)")
    }
    return append(.add, inputs: inputs, outputShape: first)
  }

  /// Appends the channel concatenation of nodes `inputs` (each `[C_k, H, W]`), in that order.
  @discardableResult
  public mutating func concat(_ inputs: [Int]) throws -> Int {
    let shapes = inputs.map { shape(of: $0) }
    guard let first = shapes.first, shapes.allSatisfy({ $0.count == 3 && $0[1...] == first[1...] }) else {
      throw EngineError(.shapeMismatch, "concat needs [C, H, W] inputs of one H, W, found \(shapes)")
    }
    return append(.concat, inputs: inputs, outputShape: [shapes.reduce(0) { $0 + $1[0] }, first[1], first[2]])
  }

  private mutating func append(_ operation: ModelNode<T>.Operation, inputs: [Int], outputShape: [Int]) -> Int {
    nodes.append(
      ModelNode(
        path: "", operation: operation, inputs: inputs, outputShape: outputShape,
        stateOffset: stateCount, parameterOffset: parameterCount))
    return nodes.count - 1
  }

  /// The finished model; its output is the last node. State is zero until `initialize` or `load`.
  public func build(name: String, width: Int) -> Model<T> {
    Model(
      name: name, width: width, inputShape: inputShape, nodes: nodes, stateEntries: entries,
      stateCount: stateCount, parameterCount: parameterCount, initialization: initialization)
  }
}
