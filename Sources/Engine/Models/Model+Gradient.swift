extension Model {
  /// The vector–Jacobian product: `∂/∂θ Σ_{n,k} c[n, k] · f_k(x_n)` (`[P]`, parameter order) and
  /// `∂/∂x` (`[B, 3, 32, 32]`) for output cotangents `c` `[B, 10]`. Inference mode.
  public func vectorJacobianProduct(inputs: Tensor<T>, outputCotangent: Tensor<T>) throws -> (
    parameters: [T], inputs: Tensor<T>
  ) {
    let acts = try activations(inputs: inputs)
    guard outputCotangent.shape == acts.last!.shape else {
      throw EngineError(.shapeMismatch, "output cotangent must be \(acts.last!.shape), found \(outputCotangent.shape)")
    }
    var gradient = [T](repeating: 0, count: parameterCount)
    let inputCotangent = stateValues.withUnsafeBufferPointer { state in
      gradient.withUnsafeMutableBufferPointer { g in
        backpropagate(
          inputs: inputs, activations: acts, seed: outputCotangent, repeats: 1, needInputCotangent: true
        ) { index, input, cotangent in
          let node = nodes[index]
          let layer = node.layer!
          layer.accumulateParameterGradient(
            input: input, outputCotangent: cotangent, repeats: 1, state: slice(state, node, layer),
            into: UnsafeMutableBufferPointer(rebasing: g[node.parameterOffset..<(node.parameterOffset + layer.parameterCount)]))
        }
      }
    }
    return (gradient, inputCotangent!)
  }
}
