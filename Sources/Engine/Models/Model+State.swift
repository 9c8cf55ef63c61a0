extension Model {
  /// PyTorch's default initialisation from an explicit seed: Conv/Linear weights and biases uniform
  /// on ±1/√fan_in, BatchNorm weight 1, bias 0, running mean 0, running var 1. Layers draw in
  /// state order from one `SplitMix64(seed:)` stream (distributions match PyTorch, not its bits).
  public mutating func initialize(seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    initialize(generator: &generator)
  }

  /// As `initialize(seed:)`, drawing from (and advancing) a caller-held generator.
  /// With `initialization == .wideResNet` the WRN overrides of models.md follow the defaults.
  public mutating func initialize(generator: inout SplitMix64) {
    let nodes = self.nodes
    let scheme = initialization
    stateValues.withUnsafeMutableBufferPointer { state in
      for node in nodes {
        guard let layer = node.layer, layer.stateCount > 0 else { continue }
        let slice = UnsafeMutableBufferPointer(rebasing: state[node.stateOffset..<(node.stateOffset + layer.stateCount)])
        layer.initialize(state: slice, generator: &generator)
        if scheme == .wideResNet { InitializationScheme.applyWideResNet(layer, state: slice, generator: &generator) }
      }
    }
  }

  /// Replaces the whole state from PyTorch `state_dict` tensors (e.g. read from `.safetensors`).
  ///
  /// Keys ending in `num_batches_tracked` are ignored. Values are converted to `T`.
  /// Throws `EngineError.stateMismatch` naming the key for a missing key, an unexpected key, or a
  /// tensor whose shape (or element count) differs, giving expected and found shapes. On error the
  /// model is unchanged.
  public mutating func load(state tensors: [String: StateTensor]) throws {
    let expected = Set(stateEntries.map(\.name))
    for key in tensors.keys.sorted() where !key.hasSuffix("num_batches_tracked") && !expected.contains(key) {
      throw EngineError(.stateMismatch, "unexpected state key '\(key)' (shape \(tensors[key]!.shape)) for model \(name); `ntkbatch models --keys \(name)` lists the \(stateEntries.count) keys and shapes it expects")
    }
    var values = stateValues
    for entry in stateEntries {
      guard let tensor = tensors[entry.name] else {
        let missing = stateEntries.filter { tensors[$0.name] == nil }.count
        throw EngineError(.stateMismatch, "missing state key '\(entry.name)': expected shape \(entry.shape), found none (\(missing) of the \(stateEntries.count) keys of model \(name) \(missing == 1 ? "is" : "are") missing; `ntkbatch models --keys \(name)` lists them all with their shapes)")
      }
      guard tensor.shape == entry.shape, tensor.values.count == entry.count else {
        throw EngineError(
          .stateMismatch,
          "state key '\(entry.name)': expected shape \(entry.shape), found \(tensor.shape) with \(tensor.values.count) value\(tensor.values.count == 1 ? "" : "s")")
      }
      values.withUnsafeMutableBufferPointer { v in
        for (i, x) in tensor.values.enumerated() { v[entry.stateOffset + i] = T(x) }
      }
    }
    stateValues = values
  }

  /// Every state tensor in PyTorch `state_dict` order, as float64 (for hashing and export).
  /// `num_batches_tracked` is not included.
  public func state() -> [(name: String, tensor: StateTensor)] {
    stateEntries.map { entry in
      let values = stateValues[entry.stateOffset..<(entry.stateOffset + entry.count)].map { Double($0) }
      return (entry.name, StateTensor(shape: entry.shape, values: values))
    }
  }

  /// The trainable parameters θ, `[P]`, in parameter order (the Jacobian's column order).
  public func parameters() -> [T] {
    var theta: [T] = []
    theta.reserveCapacity(parameterCount)
    for entry in stateEntries where entry.isTrainable {
      theta.append(contentsOf: stateValues[entry.stateOffset..<(entry.stateOffset + entry.count)])
    }
    return theta
  }

  /// Overwrites the trainable parameters with θ (`[P]`, parameter order); running statistics are kept.
  public mutating func setParameters(_ theta: [T]) {
    precondition(theta.count == parameterCount, "θ has \(theta.count) values, model has P = \(parameterCount)")
    for entry in stateEntries where entry.isTrainable {
      let p = entry.parameterOffset!
      stateValues.replaceSubrange(entry.stateOffset..<(entry.stateOffset + entry.count), with: theta[p..<(p + entry.count)])
    }
  }
}
