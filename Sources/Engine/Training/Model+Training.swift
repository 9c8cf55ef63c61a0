extension Model {
  /// A training-mode forward pass: every node's output, and the layer each node used.
  struct TrainingPass {
    /// Node outputs in node order; the last is the logits `[B, 10]`.
    var activations: [Tensor<T>]
    /// Per node: the `BatchStatisticsNorm2d` used in place of a `BatchNorm2d` node, else `nil`.
    var batchNorms: [(any Layer<T>)?]
  }

  /// The forward pass in training mode: BatchNorm nodes normalise with their input batch's own
  /// statistics (`BatchStatisticsNorm2d`); every other node as in inference mode. Nothing is changed.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  func trainingPass(inputs: Tensor<T>) throws -> TrainingPass {
    guard inputs.shape.count == inputShape.count + 1, inputs.sampleShape == inputShape else {
      throw EngineError(.shapeMismatch, "model \(name) expects inputs [B] + \(inputShape), found \(inputs.shape)")
    }
    var outputs: [Tensor<T>] = []
    outputs.reserveCapacity(nodes.count)
    var batchNorms = [(any Layer<T>)?](repeating: nil, count: nodes.count)
    stateValues.withUnsafeBufferPointer { state in
      for (index, node) in nodes.enumerated() {
        let sources = node.inputs.map { $0 == ModelNode<T>.modelInput ? inputs : outputs[$0] }
        if let bn = node.layer as? BatchNorm2d<T> {
          let layer = BatchStatisticsNorm2d(channels: bn.channels, epsilon: bn.epsilon, batch: sources[0])
          batchNorms[index] = layer
          outputs.append(layer.forward(sources[0], state: slice(state, node, bn)))
        } else {
          outputs.append(evaluate(node, sources, state: state))
        }
      }
    }
    return TrainingPass(activations: outputs, batchNorms: batchNorms)
  }

  /// The mean cross-entropy of a batch in training mode (BatchNorm with batch statistics), without
  /// changing the model. Inputs `[B, 3, 32, 32]`, labels B values in 0…9.
  ///
  /// - Throws: `EngineError.shapeMismatch` for inputs or labels of the wrong shape.
  public func trainingLoss(inputs: Tensor<T>, labels: ArraySlice<Int>) throws -> CrossEntropyLoss<T> {
    try CrossEntropyLoss(logits: trainingPass(inputs: inputs).activations.last!, labels: labels)
  }

  /// One training-mode forward and reverse pass: the loss of the batch and its gradient
  /// `∂L/∂θ` (`[P]`, parameter order), then PyTorch's running-statistics update of every BatchNorm
  /// (momentum 0.1, unbiased variance). The trainable parameters are not changed.
  ///
  /// - Throws: `EngineError.shapeMismatch` for inputs or labels of the wrong shape.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public mutating func trainingGradient(inputs: Tensor<T>, labels: ArraySlice<Int>) throws -> (loss: CrossEntropyLoss<T>, gradient: [T]) {
    let pass = try trainingPass(inputs: inputs)
    let loss = try CrossEntropyLoss(logits: pass.activations.last!, labels: labels)
    var gradient = [T](repeating: 0, count: parameterCount)
    let nodes = self.nodes
    stateValues.withUnsafeBufferPointer { state in
      gradient.withUnsafeMutableBufferPointer { g in
        _ = backpropagate(
          inputs: inputs, activations: pass.activations, seed: loss.gradient, repeats: 1, needInputCotangent: false,
          layers: pass.batchNorms
        ) { index, input, cotangent in
          let node = nodes[index]
          let layer = pass.batchNorms[index] ?? node.layer!
          layer.accumulateParameterGradient(
            input: input, outputCotangent: cotangent, repeats: 1, state: slice(state, node, layer),
            into: UnsafeMutableBufferPointer(rebasing: g[node.parameterOffset..<(node.parameterOffset + layer.parameterCount)]))
        }
      }
    }
    stateValues.withUnsafeMutableBufferPointer { state in
      for (index, node) in nodes.enumerated() {
        guard let bn = node.layer as? BatchNorm2d<T>, let statistics = pass.batchNorms[index] as? BatchStatisticsNorm2d<T> else { continue }
        bn.updateRunningStatistics(
          statistics, state: UnsafeMutableBufferPointer(rebasing: state[node.stateOffset..<(node.stateOffset + bn.stateCount)]))
      }
    }
    return (loss, gradient)
  }
}
