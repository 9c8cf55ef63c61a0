extension Model {
  /// The logits `[B, 10]` of a batch `[B, 3, 32, 32]` in inference mode.
  /// Throws `EngineError.shapeMismatch` for any other input shape.
  public func logits(inputs: Tensor<T>) throws -> Tensor<T> {
    try activations(inputs: inputs).last!
  }

  /// Every node's output for a batch (inference mode), in node order; the last is the logits.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func activations(inputs: Tensor<T>, cancellation: TileCancellation? = nil) throws -> [Tensor<T>] {
    guard inputs.shape.count == inputShape.count + 1, inputs.sampleShape == inputShape else {
      throw EngineError(.shapeMismatch, "model \(name) expects inputs [B] + \(inputShape), found \(inputs.shape)")
    }
    var outputs: [Tensor<T>] = []
    outputs.reserveCapacity(nodes.count)
    try stateValues.withUnsafeBufferPointer { state in
      for node in nodes {
        try cancellation?.check()
        let sources = node.inputs.map { $0 == ModelNode<T>.modelInput ? inputs : outputs[$0] }
        outputs.append(evaluate(node, sources, state: state))
      }
    }
    return outputs
  }

  func evaluate(_ node: ModelNode<T>, _ sources: [Tensor<T>], state: UnsafeBufferPointer<T>) -> Tensor<T> {
    switch node.operation {
    case .layer(let layer):
      return layer.forward(sources[0], state: slice(state, node, layer))
    case .add:
      // ((x₀ + x₁) + x₂) …, samples split over the cores, into a fresh tensor (no copy of x₀ first).
      var sum = Tensor<T>(uninitialized: sources[0].shape)
      let width = sum.sampleSize
      sum.storage.withUnsafeMutableBufferPointer { s in
        sources[0].storage.withUnsafeBufferPointer { first in
          ParallelRows.forEach(sources[0].batchSize, scalars: sources.count * s.count) { samples in
            let range = (samples.lowerBound * width)..<(samples.upperBound * width)
            for i in range { s[i] = first[i] }
            for other in sources.dropFirst() {
              other.storage.withUnsafeBufferPointer { o in
                for i in range { s[i] += o[i] }
              }
            }
          }
        }
      }
      return sum
    case .concat:
      return concatenateChannels(sources, outputShape: node.outputShape)
    }
  }

  /// The layer's slice of the state buffer.
  func slice(_ state: UnsafeBufferPointer<T>, _ node: ModelNode<T>, _ layer: any Layer<T>) -> UnsafeBufferPointer<T> {
    UnsafeBufferPointer(rebasing: state[node.stateOffset..<(node.stateOffset + layer.stateCount)])
  }

  /// `[B, C_k, H, W]` tensors → `[B, ΣC_k, H, W]`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  func concatenateChannels(_ sources: [Tensor<T>], outputShape: [Int]) -> Tensor<T> {
    let batch = sources[0].batchSize
    let width = outputShape.reduce(1, *)
    var result = Tensor<T>(zeros: [batch] + outputShape)
    result.storage.withUnsafeMutableBufferPointer { y in
      var offset = 0
      for source in sources {
        let size = source.sampleSize
        source.storage.withUnsafeBufferPointer { x in
          for n in 0..<batch {
            (y.baseAddress! + n * width + offset).update(from: x.baseAddress! + n * size, count: size)
          }
        }
        offset += size
      }
    }
    return result
  }
}
