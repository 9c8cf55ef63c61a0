/// The Jacobian of a block of samples kept in factored form, one entry per parameterised layer:
/// the layer's input activations `[B, …in]` and its backpropagated output cotangents
/// `[B·m, …out]` (row `s·m + a` = sample s, logit a). Layer l's explicit Jacobian rows are a
/// function of exactly these two tensors (`Layer.jacobianPart`), so a `JacobianFactors` value is a
/// Jacobian block that materialises one layer at a time (`part(_:)`), for the layer-streamed tile
/// (`TileSource`, strategy `.layerStreaming`).
///
/// Memory: `Σ_l (B·in_l + B·m·out_l)` scalars (`Model.jacobianFactorScalarCount`), against
/// `B·m·P` for the explicit Jacobian: for ResNet18 at width 64, about 15 M against 112 M scalars
/// per sample. Materialising layer l costs a pass over its im2col patches (`2·B·m·P_l·H'W'` FLOP
/// for a convolution) each time it is needed.
public struct JacobianFactors<T: BLASScalar> {
  /// One parameterised layer: its node index in `Model.nodes`, input and output cotangent.
  struct Entry {
    let node: Int
    let input: Tensor<T>
    let cotangent: Tensor<T>?  // nil: the cotangent never reached the layer (zero rows)
  }

  /// Number of samples B.
  public let sampleCount: Int
  /// Outputs per sample m (10).
  public let outputsPerSample: Int
  let entries: [Entry]

  /// Number of rows R = B·m.
  public var rowCount: Int { sampleCount * outputsPerSample }

  /// Number of parameterised layers (the parts of the equivalent `JacobianBlock`).
  public var partCount: Int { entries.count }

  /// Scalars held: inputs (shared with nothing else once the forward pass is released) and cotangents.
  public var scalarCount: Int {
    entries.reduce(0) { $0 + $1.input.storage.count + ($1.cotangent?.storage.count ?? 0) }
  }
}

extension Model {
  /// The factored Jacobian of a batch of B samples: one forward pass, one batched reverse pass
  /// seeded with the `B·m` one-hot cotangents, keeping for each parameterised layer its input and
  /// output cotangent (see `JacobianFactors`). `jacobianPart(_:of:structured:)` then gives the same
  /// `JacobianPart` values as `jacobian(inputs:structured:)`, bit for bit.
  /// Throws `EngineError.shapeMismatch` if `inputs` is not `[B, 3, 32, 32]`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func jacobianFactors(inputs: Tensor<T>, cancellation: TileCancellation? = nil) throws -> JacobianFactors<T> {
    try jacobianFactors(inputs: inputs, variant: .full, cancellation: cancellation)
  }

  /// As `jacobianFactors(inputs:)` for the rows `variant` contracts (`.pseudo`: one row per
  /// sample, one reverse pass seeded with `(1/√m)·(1, …, 1)`; see `jacobian(inputs:choice:variant:)`).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func jacobianFactors(inputs: Tensor<T>, variant: NTKVariant, cancellation: TileCancellation? = nil) throws -> JacobianFactors<T> {
    var acts = try activations(inputs: inputs, cancellation: cancellation)
    let m = variant.jacobianOutputs(outputs: outputsPerSample)
    let seed = logitSeed(samples: inputs.batchSize, variant: variant)
    var found = [(input: Tensor<T>, cotangent: Tensor<T>)?](repeating: nil, count: nodes.count)
    // Every parameterised layer's output cotangent is kept: only the others go back to the pool.
    let pool = BufferPool<T>(capacity: reversePoolScalarCount(samples: inputs.batchSize))
    _ = backpropagate(inputs: inputs, activations: acts, seed: seed, repeats: m, needInputCotangent: false,
                      pool: pool, keepsCotangent: { (self.nodes[$0].layer?.parameterCount ?? 0) > 0 },
                      cancellation: cancellation) {
      index, input, cotangent in
      found[index] = (input, cotangent)
    }
    try cancellation?.check()
    acts.removeAll()  // keep only the layer inputs the entries share
    var entries: [JacobianFactors<T>.Entry] = []
    for (index, node) in nodes.enumerated() {
      guard let layer = node.layer, layer.parameterCount > 0 else { continue }
      // A layer the cotangent never reached contributes zero rows; its input is not needed.
      entries.append(.init(node: index, input: found[index]?.input ?? Tensor<T>(zeros: [0]), cotangent: found[index]?.cotangent))
    }
    return JacobianFactors(sampleCount: inputs.batchSize, outputsPerSample: m, entries: entries)
  }

  /// Layer `k`'s Jacobian rows (the k-th parameterised layer, parameter order) from `factors`:
  /// explicit `[B·m, P_k]`, or factored for `Linear` when `structured`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func jacobianPart(_ k: Int, of factors: JacobianFactors<T>, structured: Bool = true) -> JacobianPart<T> {
    let node = nodes[factors.entries[k].node]
    return jacobianPart(k, of: factors, structuredLayer: structured && node.layer is Linear<T>)
  }

  /// Layer `k`'s Jacobian rows from `factors`, explicit or factored (Linear, Conv2d) as `choice` says.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func jacobianPart(_ k: Int, of factors: JacobianFactors<T>, choice: ContractionChoice) -> JacobianPart<T> {
    jacobianPart(k, of: factors, structuredLayer: choice.isStructured(node: factors.entries[k].node))
  }

  private func jacobianPart(_ k: Int, of factors: JacobianFactors<T>, structuredLayer structured: Bool) -> JacobianPart<T> {
    let entry = factors.entries[k]
    let node = nodes[entry.node]
    let layer = node.layer!
    guard let cotangent = entry.cotangent else {
      return .explicit(columns: layer.parameterCount, values: [T](repeating: 0, count: factors.rowCount * layer.parameterCount))
    }
    return stateValues.withUnsafeBufferPointer { state in
      layer.jacobianPart(
        input: entry.input, outputCotangent: cotangent, repeats: factors.outputsPerSample,
        state: slice(state, node, layer), structured: structured)!
    }
  }

  /// Scalars of the `JacobianFactors` of `samples` samples: `Σ_l (B·in_l + B·m·out_l)` over the
  /// parameterised layers. Multiply by `MemoryLayout<T>.size` for bytes.
  public func jacobianFactorScalarCount(samples: Int, outputs: Int? = nil) -> Int {
    let outputsPerSample = outputs ?? self.outputsPerSample
    var total = 0
    for (index, node) in nodes.enumerated() {
      guard let layer = node.layer, layer.parameterCount > 0 else { continue }
      total += samples * inputShape(ofNode: index).reduce(1, *) + samples * outputsPerSample * node.outputShape.reduce(1, *)
    }
    return total
  }

  /// Scalars of the largest single layer's explicit Jacobian rows for `samples` samples,
  /// `B·m·max_l P_l` (structured `Linear` layers count `B·m·out + B·in`).
  public func largestJacobianPartScalarCount(samples: Int, structured: Bool = true) -> Int {
    largestJacobianPartScalarCount(samples: samples, choice: structured ? .linearOnly(model: self) : .allExplicit(model: self))
  }

  /// As `largestJacobianPartScalarCount(samples:structured:)` for the parts `choice` gives.
  public func largestJacobianPartScalarCount(samples: Int, choice: ContractionChoice, outputs: Int? = nil) -> Int {
    var largest = 0
    for (index, node) in nodes.enumerated() {
      guard let layer = node.layer, layer.parameterCount > 0 else { continue }
      largest = max(largest, partScalarCount(node: index, samples: samples, structured: choice.isStructured(node: index), outputs: outputs))
    }
    return largest
  }

  /// Scalars alive while a Jacobian block (or its factors) of `samples` samples is computed,
  /// besides the result: every node's activations `B·Σ_nodes out` (the forward pass keeps them all)
  /// and about three live cotangents of `B·m·max out` (the current one, a pending residual branch,
  /// the new one), the im2col patches of one sample, and what the reverse pass's `BufferPool` may
  /// hold (`reversePoolScalarCount`).
  public func jacobianTransientScalarCount(samples: Int) -> Int {
    var activations = 0, patches = 0
    for node in nodes {
      activations += node.outputShape.reduce(1, *)
      if let conv = node.layer as? Conv2d<T> {
        patches = max(patches, conv.inChannels * conv.kernelSize * conv.kernelSize * node.outputShape.dropFirst().reduce(1, *))
      }
    }
    return samples * activations + 3 * samples * outputsPerSample * largestNodeOutput + patches
      + reversePoolScalarCount(samples: samples)
  }

  /// The capacity of the `BufferPool` of a reverse pass over `samples` samples: two of its largest
  /// cotangents, `2·B·m·max out` scalars (one cotangent waiting for reuse while the next of its
  /// size is written, and a stage's scratch beside it).
  public func reversePoolScalarCount(samples: Int) -> Int {
    2 * samples * outputsPerSample * largestNodeOutput
  }

  /// The largest node output of one sample, in scalars.
  private var largestNodeOutput: Int { nodes.map { $0.outputShape.reduce(1, *) }.max() ?? 0 }
}
